"""Two sources sending, at the same moment, calls from the same first-time people and
accounts (the first day of an install, or a backfill from two clients): on the test's
backend, every batch is stored, each account and identity once.

On SQLite a batch used to read what it refers to before taking the write lock, so two
batches both found a new account missing and both inserted it; the second hit the
`group_id` unique index and ran again from the start, where it could meet the other
source's next batch the same way, until it lost all its runs and the source was refused.
A batch now holds SQLite's write lock before its first read, and runs once.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from tests.conftest import NOW
from tipoff.ingest.segment import SegmentCall, parse_call
from tipoff.ingest.service import IngestResult, store_calls
from tipoff.runtime import Runtime
from tipoff.sources import create_source
from tipoff.store.sources import Source
from tipoff.store.tables import accounts, events, identities, people

ROUNDS = 30
GROUPS = 12  # new accounts in each round, named by both sources' batches
USERS = 24  # new people in each round, named by both sources' batches


def round_batch(source: str, number: int) -> list[SegmentCall]:
    """One source's batch in round `number`: a track call from each of the round's new
    users, each in one of the round's new groups (`context.groupId`), the same users and
    groups the other source's batch names."""
    return [
        parse_call(
            "track",
            {
                "userId": f"u-{number}-{user}",
                "event": "Report Created",
                "messageId": f"{source}-{number}-{user}",
                "timestamp": NOW.isoformat(),
                "context": {"groupId": f"g-{number}-{user % GROUPS}"},
            },
        )
        for user in range(USERS)
    ]


async def send_rounds(runtime: Runtime, source: Source) -> list[IngestResult]:
    """The source's batches, one after another, as one client sends them."""
    return [
        await store_calls(
            runtime,
            source=source,
            messages=round_batch(source.name, number),
            received_at=NOW,
        )
        for number in range(ROUNDS)
    ]


async def test_two_sources_creating_the_same_new_accounts_at_once_are_each_stored_once(
    runtime: Runtime,
) -> None:
    async with runtime.db.transaction() as conn:
        web = (await create_source(conn=conn, name="web", now=NOW)).source
        app = (await create_source(conn=conn, name="app", now=NOW)).source

    results = await asyncio.gather(send_rounds(runtime, web), send_rounds(runtime, app))

    assert [r.accepted for rs in results for r in rs] == [USERS] * (2 * ROUNDS)
    async with runtime.db.transaction() as conn:
        stored = {
            table.name: await conn.scalar(select(func.count()).select_from(table))
            for table in (events, people, identities, accounts)
        }
        groups = set((await conn.execute(select(accounts.c.group_id))).scalars())
        unplaced = await conn.scalar(
            select(func.count()).select_from(events).where(events.c.account_id.is_(None))
        )
    assert stored == {
        "events": 2 * ROUNDS * USERS,
        "people": ROUNDS * USERS,
        "identities": ROUNDS * USERS,
        "accounts": ROUNDS * GROUPS,
    }
    assert groups == {f"g-{n}-{g}" for n in range(ROUNDS) for g in range(GROUPS)}
    assert unplaced == 0
    retried = runtime.metrics.transactions_retried.collect()[0].samples
    if runtime.db.dialect == "sqlite":
        # One writer at a time, and each batch reads under its lock: none runs twice.
        assert [(s.labels, s.value) for s in retried if s.name.endswith("_total")] == []
