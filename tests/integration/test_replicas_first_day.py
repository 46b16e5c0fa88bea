"""Two `tipoff serve` replicas on one database, on the first day of an install: two
sources send, at the same moment, calls from the same first-time people and companies, one
source to each replica. Every batch is stored on its first run, each account, person and
identity once. On PostgreSQL when the suite runs against it (TIPOFF_TEST_POSTGRES_URL), on
a shared SQLite file otherwise.

On PostgreSQL both batches used to read the new companies absent, both insert them, and the
second fail on the unique key and run again, where it met the other source's next batch
the same way: in a benchmark of 1,000-call batches one lost all 8 runs and was refused
with a 500. Batches creating rows now take turns, and read again under that lock.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.processes import Server, add_source, tipoff_env
from tipoff.store.db import Database
from tipoff.store.tables import accounts, events, identities, people

ROUNDS = 25
COMPANIES = 15  # new in each round, named by both sources' batches
USERS = 60  # new in each round, four to a company, named by both sources' batches
_RERUNS = re.compile(r'^tipoff_transactions_retried_total\{code="([^"]+)"\} ([0-9.e+]+)$', re.M)


def round_batch(source: str, number: int) -> list[dict[str, object]]:
    """A source's batch in round `number`, as Segment sends it: for each of the round's
    new users an identify (with a work email), a group call naming the company and its
    domain, and a track call; the other source's batch names the same people and
    companies."""
    batch: list[dict[str, object]] = []
    for user in range(USERS):
        company = user % COMPANIES
        user_id, group_id = f"u-{number}-{user}", f"g-{number}-{company}"
        domain = f"company-{number}-{company}.example"
        common = {"userId": user_id, "context": {"groupId": group_id}}
        batch += [
            {
                "type": "identify",
                "messageId": f"{source}-{number}-{user}-i",
                "traits": {"email": f"user{user}@{domain}", "name": f"Zoë Ødegård {user}"},
                **common,
            },
            {
                "type": "group",
                "messageId": f"{source}-{number}-{user}-g",
                "groupId": group_id,
                "traits": {"name": f"Company {number}-{company}", "domain": domain},
                **common,
            },
            {
                "type": "track",
                "messageId": f"{source}-{number}-{user}-t",
                "event": "Report Created",
                **common,
            },
        ]
    return batch


async def send_rounds(urls: list[str], keys: list[str]) -> list[int]:
    """Each round's two batches at the same moment, each source's to its own replica;
    the status of every answer."""
    async with httpx.AsyncClient(timeout=120) as client:

        async def post(url: str, key: str, batch: list[dict[str, object]]) -> int:
            response = await client.post(f"{url}/v1/batch", json={"batch": batch}, auth=(key, ""))
            return response.status_code

        statuses: list[int] = []
        for number in range(ROUNDS):
            statuses += await asyncio.gather(
                *(
                    post(url, key, round_batch(source, number))
                    for url, key, source in zip(urls, keys, ("web", "app"), strict=True)
                )
            )
        return statuses


async def stored_counts(db_url: str) -> dict[str, int]:
    db = Database(db_url)
    try:
        async with db.transaction() as conn:
            return {
                table.name: int(await conn.scalar(select(func.count()).select_from(table)) or 0)
                for table in (events, people, identities, accounts)
            }
    finally:
        await db.dispose()


def reruns(url: str) -> dict[str, float]:
    """Transactions each replica ran again after losing a race, by error code."""
    found: dict[str, float] = {}
    for code, count in _RERUNS.findall(httpx.get(f"{url}/metrics", timeout=10).text):
        found[code] = found.get(code, 0) + float(count)
    return found


def test_two_replicas_creating_the_same_new_companies_at_once_store_each_once(
    tmp_path: Path, db_url: str
) -> None:
    env = tipoff_env(DATABASE_URL=db_url, TIPOFF_RESCORE_PROCESSES="0")
    keys = [add_source(tmp_path, env, "web"), add_source(tmp_path, env, "app")]
    replicas = [Server(tmp_path, env), Server(tmp_path, env)]
    try:
        statuses = asyncio.run(send_rounds([r.url for r in replicas], keys))
        races = [reruns(r.url) for r in replicas]
    finally:
        for replica in replicas:
            replica.stop()

    assert statuses == [200] * (2 * ROUNDS)
    assert asyncio.run(stored_counts(db_url)) == {
        "events": 2 * ROUNDS * USERS * 3,  # every call is kept
        "people": ROUNDS * USERS,
        "identities": ROUNDS * USERS,
        "accounts": ROUNDS * COMPANIES,
    }
    # No batch lost a race on a unique key: none created what the other was creating.
    assert [race.get("23505", 0) for race in races] == [0, 0], races
