"""Feedback: reps' verdicts (Right, Wrong, claim, snooze) as stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tipoff.store.db import Connection
from tipoff.store.tables import feedback


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    """A feedback row."""

    id: int
    alert_id: int | None
    account_id: int
    slack_user_id: str
    slack_user_name: str | None
    verdict: str
    reason: str | None
    created_at: datetime


async def verdicts_given_since(conn: Connection, since: datetime) -> list[StoredVerdict]:
    """Every verdict given at or after `since`, in the order they were given."""
    rows = await conn.execute(
        select(feedback).where(feedback.c.created_at >= since).order_by(feedback.c.id)
    )
    return [
        StoredVerdict(
            r.id,
            r.alert_id,
            r.account_id,
            r.slack_user_id,
            r.slack_user_name,
            r.verdict,
            r.reason,
            r.created_at,
        )
        for r in rows
    ]
