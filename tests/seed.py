"""Writes accounts, people and events straight into the store for tests that are not
about ingest (Slack, rescoring). Ingest tests go through the HTTP API instead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import accounts, events, people, sources


async def source(conn: AsyncConnection, now: datetime, name: str = "seed") -> int:
    existing = (await conn.execute(select(sources.c.id).where(sources.c.name == name))).scalar()
    if existing is not None:
        return int(existing)
    result = await conn.execute(
        sources.insert().values(
            name=name, write_key_hash=name.ljust(64, "0"), key_hint="seed", created_at=now
        )
    )
    return int(result.inserted_primary_key[0])


async def account(
    conn: AsyncConnection, now: datetime, domain: str, name: str, **traits: Any
) -> int:
    result = await conn.execute(
        accounts.insert().values(
            domain=domain,
            name=name,
            employees=traits.get("employees"),
            industry=traits.get("industry"),
            traits=traits,
            created_at=now,
            updated_at=now,
            signal_version=1,
            scored_version=0,
        )
    )
    return int(result.inserted_primary_key[0])


async def unnamed_account(conn: AsyncConnection, now: datetime, group_id: str) -> int:
    """An account known only by its group: no name, no domain (shown as "Account <id>")."""
    result = await conn.execute(
        accounts.insert().values(
            group_id=group_id,
            traits={},
            created_at=now,
            updated_at=now,
            signal_version=1,
            scored_version=0,
        )
    )
    return int(result.inserted_primary_key[0])


async def person(
    conn: AsyncConnection, now: datetime, account_id: int, name: str, email: str, title: str
) -> int:
    result = await conn.execute(
        people.insert().values(
            name=name,
            email=email,
            title=title,
            account_id=account_id,
            account_via="domain",
            traits={},
            created_at=now,
            updated_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


async def signal(
    conn: AsyncConnection,
    at: datetime,
    account_id: int,
    person_id: int | None,
    event: str,
    /,
    # Any key, those above included: a signal's properties may hold "event" or "at".
    **properties: Any,
) -> None:
    source_id = await source(conn, at)
    count = (
        await conn.execute(select(events.c.id).order_by(events.c.id.desc()).limit(1))
    ).scalar() or 0
    await conn.execute(
        events.insert().values(
            source_id=source_id,
            message_id=f"seed-{count + 1}",
            kind="track",
            event=event,
            person_id=person_id,
            account_id=account_id,
            occurred_at=at,
            received_at=at,
            properties=properties,
        )
    )
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(signal_version=accounts.c.signal_version + 1)
    )


async def hot_acme(
    conn: AsyncConnection, now: datetime, domain: str = "acme.io", name: str = "Acme"
) -> int:
    """Acme (acme.io, 250 employees): a VP and a second user with fresh product activity.
    Under the default model: core 30 + sessions 20 + second user 20 + title 15 + rising 5
    = 90, hot. `domain` and `name` make more accounts like it."""
    acme = await account(conn, now, domain, name, employees=250, industry="Software")
    dana = await person(conn, now, acme, "Dana Lee", f"dana@{domain}", "VP Engineering")
    sam = await person(conn, now, acme, "Sam Ortiz", f"sam@{domain}", "Software Engineer")
    for days, who, event in [
        (1, dana, "Core Action Completed"),
        (1, dana, "Session Started"),
        (2, sam, "Session Started"),
        (3, dana, "Session Started"),
    ]:
        await signal(conn, now - timedelta(days=days), acme, who, event)
    return acme
