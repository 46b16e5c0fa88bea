"""Alerts: the outbox rows rescoring queues, as Slack delivery reads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tipoff.store.db import Connection
from tipoff.store.tables import alerts


async def queue_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Adds `rows` (alerts table columns) to the outbox."""
    if rows:
        await conn.execute(alerts.insert(), list(rows))


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as the quality loop counts it: queued for an account, maybe posted."""

    id: int
    account_id: int
    track: str
    score: int
    created_at: datetime
    sent_at: datetime | None


async def alerts_queued_since(conn: Connection, since: datetime) -> list[AlertRecord]:
    """Every alert queued at or after `since`, oldest first."""
    rows = await conn.execute(
        select(
            alerts.c.id,
            alerts.c.account_id,
            alerts.c.track,
            alerts.c.score,
            alerts.c.created_at,
            alerts.c.sent_at,
        )
        .where(alerts.c.created_at >= since)
        .order_by(alerts.c.created_at, alerts.c.id)
    )
    return [
        AlertRecord(r.id, r.account_id, r.track, r.score, r.created_at, r.sent_at) for r in rows
    ]
