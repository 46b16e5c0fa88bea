"""The events table: the signals stored, one row per call, its messageId unique per
source; what ingest adds, identity resolution moves, and retention deletes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from tipoff.store.accounts import mark_for_rescoring
from tipoff.store.db import Connection
from tipoff.store.dialect import insert_many, insert_many_values, select_where_in
from tipoff.store.tables import events


async def mark_accounts_with_signals_before(conn: Connection, *, older_than: datetime) -> None:
    """Marks for rescoring every account with a stored call before `older_than`."""
    touched = select(events.c.account_id).where(
        events.c.occurred_at < older_than, events.c.account_id.is_not(None)
    )
    await mark_for_rescoring(conn, touched.distinct())


async def delete_signals_before(conn: Connection, *, older_than: datetime) -> int:
    """Deletes every stored call that happened before `older_than`; returns the count."""
    result = await conn.execute(delete(events).where(events.c.occurred_at < older_than))
    return int(result.rowcount)


async def newest_event_id(conn: Connection) -> int:
    """The highest event ID stored (0 for none): how many events were ever stored, since
    IDs only grow."""
    return int((await conn.execute(select(func.coalesce(func.max(events.c.id), 0)))).scalar_one())


_EVENT_COLUMNS = (
    "source_id",
    "message_id",
    "kind",
    "event",
    "person_id",
    "account_id",
    "occurred_at",
    "received_at",
    "properties",
)

# One call as stored: message_id, kind (the Segment call type), event (the signal's
# name; None for a call that is no signal), person_id, account_id, occurred_at, properties.
NewEvent = tuple[str, str, str | None, int | None, int | None, datetime, dict[str, Any]]


async def seen_message_ids(
    conn: Connection, message_ids: Sequence[str], *, source_id: int
) -> set[str]:
    """Those of `message_ids` (sorted, distinct) that `source_id` has stored already."""
    rows = await select_where_in(
        conn,
        events,
        ("message_id",),
        key="message_id",
        values=message_ids,
        equal=("source_id", source_id),
    )
    return {message_id for (message_id,) in rows}


async def add_events(
    conn: Connection, *, source_id: int, received_at: datetime, new: Iterable[NewEvent]
) -> None:
    """One executemany of an events row per call of `source_id`'s, received at `received_at`."""
    as_time, as_json = insert_many_values(conn.dialect.name)
    received = as_time(received_at)
    rows = [
        (
            source_id,
            message_id,
            kind,
            event,
            person_id,
            account_id,
            as_time(occurred_at),
            received,
            as_json(properties),
        )
        for message_id, kind, event, person_id, account_id, occurred_at, properties in new
    ]
    await insert_many(conn, events, _EVENT_COLUMNS, rows)


async def move_events(conn: Connection, *, from_person: int, to_person: int) -> None:
    """Every event of person `from_person` becomes `to_person`'s (a merge)."""
    await conn.execute(
        update(events).where(events.c.person_id == from_person).values(person_id=to_person)
    )


async def attribute_unaccounted(
    conn: Connection, placed: Sequence[tuple[int | None, int | None]]
) -> None:
    """For each (person id, account id) of `placed`, in one executemany: that person's
    events stored without an account get that account."""
    await conn.execute(
        update(events)
        .where(events.c.person_id == bindparam("b_person_id"))
        .where(events.c.account_id.is_(None))
        .values(account_id=bindparam("b_account_id")),
        [{"b_person_id": person, "b_account_id": account} for person, account in placed],
    )
