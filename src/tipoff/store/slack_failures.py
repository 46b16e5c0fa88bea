"""The slack_failures table: reminders, escalations and digests Slack refused for good,
kept for /healthz, /metrics and `tipoff alerts`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from tipoff.store.db import Connection
from tipoff.store.tables import slack_failures


@dataclass(frozen=True)
class RefusedPost:
    kind: str  # reminder | escalation | digest
    subject: str
    channel: str
    reason: str
    failed_at: datetime


async def record_refusal(
    conn: Connection, *, kind: str, subject: str, channel: str, reason: str, at: datetime
) -> None:
    """Stores one refusal (long values cut to their columns' widths)."""
    await conn.execute(
        slack_failures.insert().values(
            kind=kind,
            subject=subject[:255],
            channel=channel[:255],
            reason=reason[:64],
            failed_at=at,
        )
    )


async def refusals_since(conn: Connection, since: datetime) -> list[RefusedPost]:
    """The refusals after `since`, newest first."""
    rows = await conn.execute(
        select(slack_failures)
        .where(slack_failures.c.failed_at > since)
        .order_by(slack_failures.c.failed_at.desc(), slack_failures.c.id.desc())
    )
    return [RefusedPost(r.kind, r.subject, r.channel, r.reason, r.failed_at) for r in rows]


async def refusal_counts(conn: Connection, since: datetime) -> dict[tuple[str, str], int]:
    """How many refusals after `since` per (kind, reason)."""
    refused = await conn.execute(
        select(slack_failures.c.kind, slack_failures.c.reason, func.count())
        .where(slack_failures.c.failed_at > since)
        .group_by(slack_failures.c.kind, slack_failures.c.reason)
    )
    return {(kind, reason): count for kind, reason, count in refused}
