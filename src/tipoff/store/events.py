"""Events: the signals stored; here what retention deletes.

The events table: stored signals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.db import Connection
from tipoff.store.queries import mark_for_rescoring
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


async def newest_event_id(conn: AsyncConnection) -> int:
    """The highest event ID stored (0 for none): how many events were ever stored, since
    IDs only grow."""
    return int((await conn.execute(select(func.coalesce(func.max(events.c.id), 0)))).scalar_one())
