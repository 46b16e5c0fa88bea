"""Alerts: the outbox rows rescoring queues, as Slack delivery reads them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tipoff.store.db import Connection
from tipoff.store.tables import alerts


async def queue_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Adds `rows` (alerts table columns) to the outbox."""
    if rows:
        await conn.execute(alerts.insert(), list(rows))
