"""Prometheus metrics for `/metrics`.

What the database knows (events stored, alerts queued, delivered and retried, the age of
the oldest queued alert) is read from it at scrape time, so the figures are the same
whichever replica is scraped and survive restarts. What only this process sees (requests
rejected and why, rescore durations) is counted here."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import alerts, events


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rejected = Counter(
            "tipoff_requests_rejected_total",
            "Requests answered with an error, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.rescore_seconds = Histogram(
            "tipoff_rescore_duration_seconds",
            "Duration of scheduled rescoring runs.",
            ["scope"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
            registry=self.registry,
        )
        self.events_stored = Gauge(
            "tipoff_events_stored",
            "Segment calls accepted and stored (highest event id).",
            registry=self.registry,
        )
        self.alerts = Gauge(
            "tipoff_alerts", "Alerts in the outbox, by status.", ["status"], registry=self.registry
        )
        self.alerts_retried = Gauge(
            "tipoff_alert_attempts_failed",
            "Delivery attempts that failed and were retried.",
            registry=self.registry,
        )
        self.outbox_age = Gauge(
            "tipoff_outbox_oldest_pending_seconds",
            "Age of the oldest alert still waiting for Slack (0 when none).",
            registry=self.registry,
        )

    async def refresh(self, conn: AsyncConnection, now: datetime) -> None:
        """Reads the database-backed figures; cheap: index lookups and one small scan."""
        self.events_stored.set(
            (await conn.execute(select(func.coalesce(func.max(events.c.id), 0)))).scalar_one()
        )
        rows = await conn.execute(select(alerts.c.status, func.count()).group_by(alerts.c.status))
        counts: dict[str, int] = {status: count for status, count in rows}
        for status in ("pending", "sent"):
            self.alerts.labels(status).set(counts.get(status, 0))
        failed = await conn.execute(
            select(
                func.coalesce(func.sum(alerts.c.attempts), 0)
                - func.count().filter(alerts.c.status == "sent")
            )
        )
        self.alerts_retried.set(max(0, failed.scalar_one()))
        oldest = (
            await conn.execute(
                select(func.min(alerts.c.created_at)).where(alerts.c.status == "pending")
            )
        ).scalar_one()
        self.outbox_age.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
