"""Reps' verdicts on scores: Right, or Wrong with a reason, with who said it and when.

A verdict names the account it is about and, when it was given on a posted alert, that
alert (found by the channel and ts of the message clicked). Every click is kept: a rep who
changes their mind leaves two rows, and the newest one is their answer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.errors import InvalidInput, NotFound
from tipoff.store.tables import accounts, alerts, feedback

REASON_LIMIT = 1000


class Verdict(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    CLAIM = "claim"
    SNOOZE = "snooze"


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    id: int
    alert_id: int | None
    account_id: int
    slack_user_id: str
    slack_user_name: str | None
    verdict: str
    reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PostedAlert:
    """An alert as Slack shows it: where it was posted and the blocks it was posted with."""

    id: int
    account_id: int
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, object]]
    reason: str = ""  # why it was queued; "bundle" for a bundled message


async def record_verdict(
    *,
    conn: AsyncConnection,
    account_id: int,
    verdict: Verdict,
    slack_user_id: str,
    slack_user_name: str | None,
    at: datetime,
    channel: str | None = None,
    ts: str | None = None,
    reason: str | None = None,
) -> FeedbackRecord:
    """Stores one verdict. `channel` and `ts` name the message clicked; the verdict is tied
    to the alert posted there, or to no alert (alert_id NULL) when it was another message.

    Raises NotFound for an unknown account and InvalidInput for an empty user id."""
    if not slack_user_id:
        raise InvalidInput("a verdict needs the Slack user who gave it")
    known = await conn.scalar(select(accounts.c.id).where(accounts.c.id == account_id))
    if known is None:
        raise NotFound(f"No account with id {account_id}: it may have been merged or deleted.")
    alert_id = None
    if channel and ts:
        # Only this account's alert counts: a bundle is posted as its lead account's row.
        alert_id = await conn.scalar(
            select(alerts.c.id)
            .where(
                alerts.c.channel == channel, alerts.c.ts == ts, alerts.c.account_id == account_id
            )
            .order_by(alerts.c.id)
            .limit(1)
        )
    if reason is not None:
        reason = " ".join(reason.split())[:REASON_LIMIT] or None
    record = FeedbackRecord(
        id=0,
        alert_id=alert_id,
        account_id=account_id,
        slack_user_id=slack_user_id,
        slack_user_name=slack_user_name,
        verdict=verdict.value,
        reason=reason,
        created_at=at,
    )
    values = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "id"}
    result = await conn.execute(feedback.insert().values(**values))
    assert result.inserted_primary_key is not None
    return replace(record, id=int(result.inserted_primary_key[0]))


async def find_posted_alert(
    *, conn: AsyncConnection, channel: str | None, ts: str | None
) -> PostedAlert | None:
    """The alert posted as message `ts` in `channel`, if Tipoff posted one there."""
    if not channel or not ts:
        return None
    row = (
        await conn.execute(
            select(
                alerts.c.id,
                alerts.c.account_id,
                alerts.c.channel,
                alerts.c.ts,
                alerts.c.text,
                alerts.c.blocks,
                alerts.c.reason,
            )
            .where(alerts.c.channel == channel, alerts.c.ts == ts)
            .order_by(alerts.c.id)
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    return PostedAlert(
        id=row.id,
        account_id=row.account_id,
        channel=row.channel,
        ts=row.ts,
        text=row.text,
        blocks=list(row.blocks),
        reason=row.reason,
    )


async def feedback_for_alert(*, conn: AsyncConnection, alert_id: int) -> list[FeedbackRecord]:
    """Every verdict given on one alert, oldest first."""
    rows = await conn.execute(
        select(feedback).where(feedback.c.alert_id == alert_id).order_by(feedback.c.id)
    )
    return [
        FeedbackRecord(
            id=r.id,
            alert_id=r.alert_id,
            account_id=r.account_id,
            slack_user_id=r.slack_user_id,
            slack_user_name=r.slack_user_name,
            verdict=r.verdict,
            reason=r.reason,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def account_label(*, conn: AsyncConnection, account_id: int) -> str | None:
    """How an account is named to a rep ("Acme Corp", else its domain); None if unknown."""
    row = (
        await conn.execute(
            select(accounts.c.name, accounts.c.domain).where(accounts.c.id == account_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return str(row.name or row.domain or f"Account {account_id}")
