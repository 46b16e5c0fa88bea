"""The events table: stored signals."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import events


async def newest_event_id(conn: AsyncConnection) -> int:
    """The highest event ID stored (0 for none): how many events were ever stored, since
    IDs only grow."""
    return int((await conn.execute(select(func.coalesce(func.max(events.c.id), 0)))).scalar_one())
