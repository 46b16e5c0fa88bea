"""Ingest writes and reads people, accounts and identities on SQLite straight through
the driver (`dialect.insert_returning_ids`, `dialect.select_where_in`). What it stores
must be what SQLAlchemy's own insert stores, to the byte, and what it reads what
SQLAlchemy reads; on PostgreSQL both are SQLAlchemy's, and must agree all the same."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import cast, insert, select
from sqlalchemy.types import String

from tipoff.sources import create_source
from tipoff.store import accounts as account_store
from tipoff.store import events as event_store
from tipoff.store import identities as identity_store
from tipoff.store import people as people_store
from tipoff.store.db import Database
from tipoff.store.dialect import IN_LIST, select_where_in
from tipoff.store.tables import accounts, events, people

AT = datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
TRAITS: list[dict[str, Any]] = [
    {},
    {"plan": "pro", "seats": 12, "nested": {"a": [1, 2.5, None, True]}},
    {"name": 'Zoë \u2028 "quoted" \\ \x01', "emoji": "🚀", "empty": ""},
]


def person(n: int, traits: dict[str, Any]) -> people_store.NewPerson:
    return people_store.NewPerson(
        email=f"p{n}@acme.io" if n % 2 else None,
        name="Dana Lee" if n % 3 else None,
        title="VP Engineering",
        account_id=None,
        account_via=None,
        traits=traits,
        trait_times={key: 1_000_000 + n for key in traits},
    )


async def stored_as_text(database: Database, table: Any, ids: list[int]) -> list[tuple[Any, ...]]:
    """Each row's columns as the database holds them, as text."""
    async with database.transaction() as conn:
        rows = await conn.execute(
            select(*(cast(c, String) for c in table.c if c.name != "id"))
            .where(table.c.id.in_(ids))
            .order_by(table.c.id)
        )
        return [tuple(r) for r in rows]


async def test_people_are_stored_and_read_as_sqlalchemy_stores_and_reads_them(
    database: Database,
) -> None:
    new = [person(n, traits) for n, traits in enumerate(TRAITS * 2)]
    later = AT.astimezone(timezone(timedelta(hours=-5)))  # not UTC: stored as UTC
    async with database.transaction() as conn:
        fast = await people_store.add_people(conn, new, now=later)
        slow = [
            (
                await conn.execute(
                    insert(people)
                    .values(
                        people_store._row(replace(p, email=p.email and f"other-{p.email}"), later)
                    )
                    .returning(people.c.id)
                )
            ).scalar_one()
            for p in new
        ]
        await identity_store.add_identities(
            conn, [("user_id", f"u-{n}", i) for n, i in enumerate(fast)]
        )
        known = await identity_store.people_known_as(
            conn, [f"u-{n}" for n in range(len(fast) + 1)], kind="user_id"
        )
    assert known == {f"u-{n}": i for n, i in enumerate(fast)}
    fast_rows = await stored_as_text(database, people, fast)
    slow_rows = await stored_as_text(database, people, slow)
    # All but the email, which had to differ.
    assert [r[1:] for r in fast_rows] == [r[1:] for r in slow_rows]
    assert [r[0] for r in fast_rows] == [p.email for p in new]

    async with database.transaction() as conn:
        read = await people_store.people_where(conn, key="id", values=fast)
        now = await people_store.people_now(conn, fast)
    assert [(p.email, p.name, p.title, p.traits, p.trait_times) for p in read] == [
        (p.email, p.name, p.title, p.traits, p.trait_times) for p in new
    ]
    assert [now[i].stored.traits for i in fast] == [p.traits for p in new]


async def test_accounts_are_stored_and_read_as_sqlalchemy_stores_them(
    database: Database,
) -> None:
    new = [
        account_store.NewAccount(
            domain=f"d{n}.io",
            group_id=f"g-{n}" if n % 2 else None,
            name="Acme" if n % 3 else None,
            employees=n * 10 if n % 2 else None,
            industry=None,
            traits=traits,
            trait_times={key: 2_000_000 for key in traits},
        )
        for n, traits in enumerate(TRAITS)
    ]
    async with database.transaction() as conn:
        ids = await account_store.add_accounts(conn, new, now=AT)
        read = await account_store.accounts_where(conn, key="id", values=ids)
        now = await account_store.account_traits_now(conn, ids)
    assert [(a.domain, a.group_id, a.traits, a.trait_times) for a in read] == [
        (a.domain, a.group_id, a.traits, a.trait_times) for a in new
    ]
    assert [now[i].traits for i in ids] == [a.traits for a in new]
    async with database.transaction() as conn:
        await conn.execute(
            insert(accounts),
            [
                {
                    "domain": f"other-{a.domain}",
                    "group_id": None if a.group_id is None else f"other-{a.group_id}",
                    "name": a.name,
                    "employees": a.employees,
                    "industry": a.industry,
                    "traits": a.traits,
                    "trait_times": a.trait_times,
                    "created_at": AT,
                    "updated_at": AT,
                    "signal_version": 0,
                    "scored_version": 0,
                }
                for a in new
            ],
        )
        slow = list(
            (await conn.execute(select(accounts.c.id).where(accounts.c.id.not_in(ids)))).scalars()
        )
    fast_rows = await stored_as_text(database, accounts, ids)
    slow_rows = await stored_as_text(database, accounts, slow)
    # All but the domain and group_id, which had to differ.
    assert [r[2:] for r in fast_rows] == [r[2:] for r in slow_rows]


async def test_a_batchs_message_ids_seen_are_those_an_in_list_selects(database: Database) -> None:
    """`select_where_in` (on PostgreSQL a join to the values bound as one array) finds
    what `message_id IN (…)` finds: each
    stored id of that source once, whether named twice, in which of its lists of
    IN_LIST values, non-ASCII, or stored by another source too."""
    stored = [f"m-{n}" for n in range(0, 3 * IN_LIST, 2)] + ["ünïcode-✓", "twice"]
    async with database.transaction() as conn:
        ours = (await create_source(conn, name="web", now=AT)).source.id
        theirs = (await create_source(conn, name="app", now=AT)).source.id
        await conn.execute(
            insert(events),
            [
                {"source_id": source, "message_id": message_id, "kind": "track",
                 "event": "Signed Up", "occurred_at": AT, "received_at": AT, "properties": {}}
                for source, ids in ((ours, stored), (theirs, ["only-theirs", "twice"]))
                for message_id in ids
            ],
        )  # fmt: skip
    asked = sorted(
        [f"m-{n}" for n in range(3 * IN_LIST)] + ["ünïcode-✓", "twice", "twice", "only-theirs"]
    )
    async with database.transaction() as conn:
        seen = await event_store.seen_message_ids(conn, asked, source_id=ours)
        by_in_list = set(
            (
                await conn.execute(
                    select(events.c.message_id).where(
                        events.c.source_id == ours, events.c.message_id.in_(asked)
                    )
                )
            ).scalars()
        )
        rows = await select_where_in(
            conn, events, ("message_id",), key="message_id", values=asked,
            equal=("source_id", ours),
        )  # fmt: skip
    assert seen == by_in_list == set(stored)
    assert sorted(message_id for (message_id,) in rows) == sorted(stored)  # each row once


async def test_a_read_run_again_and_again_is_planned_for_its_own_values(database: Database) -> None:
    """Rescoring and ingest run the same reads many times a minute. Each must find what
    is stored now; and on PostgreSQL each is planned for its own values, never with a
    plan kept from when the table was nearly empty (a generic plan, made after a
    prepared statement's fifth run: it compared every row with the whole list of ids,
    13 times slower for a rescore at 400 thousand events)."""
    async with database.transaction() as conn:
        ids = await account_store.add_accounts(
            conn,
            [
                account_store.NewAccount(f"d{n}.io", None, None, None, None, {}, {})
                for n in range(30)
            ],
            now=AT,
        )
        for run in range(1, 9):
            await account_store.mark_for_rescoring(conn, ids)
            assert await account_store.signal_versions(conn, ids) == dict.fromkeys(ids, run)
        if database.dialect == "postgresql":
            # (A statement without parameters has one plan whatever happens: left out.)
            generic = await conn.exec_driver_sql(
                "SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements"
                " WHERE cardinality(parameter_types) > 0"
            )
            assert generic.scalar_one() == 0
