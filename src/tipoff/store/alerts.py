"""The alerts table as the outbox: queued alerts, their delivery, leases and failures, and
the figures /metrics reports of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.workflow import AlertStatus
from tipoff.store.tables import alerts


@dataclass(frozen=True)
class OutboxFigures:
    by_status: dict[str, int]  # alerts per status
    retries: int  # attempts beyond each sent alert's successful one
    oldest_pending: datetime | None  # when the oldest alert still waiting was queued


async def outbox_figures(conn: AsyncConnection) -> OutboxFigures:
    """How many alerts are in each status, how many attempts failed, and the oldest
    still waiting; index lookups and one small scan."""
    rows = await conn.execute(select(alerts.c.status, func.count()).group_by(alerts.c.status))
    by_status: dict[str, int] = {status: count for status, count in rows}
    failed = await conn.execute(
        select(
            func.coalesce(func.sum(alerts.c.attempts), 0)
            - func.count().filter(alerts.c.status == AlertStatus.SENT)
        )
    )
    retries = failed.scalar_one()
    oldest = (
        await conn.execute(
            select(func.min(alerts.c.created_at)).where(alerts.c.status == AlertStatus.PENDING)
        )
    ).scalar_one()
    return OutboxFigures(by_status, retries, oldest)
