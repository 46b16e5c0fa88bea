"""Prometheus metrics for `/metrics`.

What the database knows (events stored, alerts queued, delivered and retried, the age of
the oldest queued alert) is read from it at scrape time, so the figures are the same
whichever replica is scraped and survive restarts. What only this process sees (requests
rejected and why, rescore durations, transactions run again after a race) is counted
here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from tipoff.core.workflow import AlertStatus
from tipoff.store.alerts import outbox_figures
from tipoff.store.db import Connection
from tipoff.store.events import newest_event_id


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
        self.transactions_retried = Counter(
            "tipoff_transactions_retried_total",
            "Transactions rolled back after losing a race with a concurrent one and run"
            " again, by error code (40P01 deadlock, 40001 serialization failure, 23505"
            " duplicate key, …).",
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
        self.alerts_failed = Gauge(
            "tipoff_alerts_failed",
            "Alerts Slack refused for good, by Slack's error code (until retried).",
            ["reason"],
            registry=self.registry,
        )
        self.posts_refused = Gauge(
            "tipoff_slack_posts_refused",
            "SLA reminders, escalations and digests Slack refused for good in the last day.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.posting_paused = Gauge(
            "tipoff_slack_posting_paused",
            "1 while posting to Slack is paused (a dead token, the app uninstalled).",
            registry=self.registry,
        )
        self.outbox_age = Gauge(
            "tipoff_outbox_oldest_pending_seconds",
            "Age of the oldest alert still waiting for Slack (0 when none).",
            registry=self.registry,
        )

    async def refresh(self, conn: Connection, now: datetime) -> None:
        """Reads the database-backed figures; cheap: index lookups and one small scan."""
        self.events_stored.set(await newest_event_id(conn))
        outbox = await outbox_figures(conn)
        for status in (AlertStatus.PENDING, AlertStatus.SENT, AlertStatus.FAILED):
            self.alerts.labels(status).set(outbox.by_status.get(status, 0))
        self.alerts_retried.set(max(0, outbox.retries))
        oldest = outbox.oldest_pending
        self.outbox_age.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)

    def observe_delivery(
        self,
        *,
        paused: bool,
        failed: Mapping[str, int],
        refused: Mapping[tuple[str, str], int],
    ) -> None:
        """Slack delivery's problems (tipoff.alerts.outbox.delivery_health)."""
        self.posting_paused.set(1 if paused else 0)
        self.alerts_failed.clear()
        for reason, count in failed.items():
            self.alerts_failed.labels(reason).set(count)
        self.posts_refused.clear()
        for (kind, reason), count in refused.items():
            self.posts_refused.labels(kind, reason).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
