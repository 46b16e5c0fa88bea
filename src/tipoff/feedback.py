"""Reps' verdicts on scores: Right, or Wrong with a reason, with who said it and when.

A verdict names the account it is about and, when it was given on a posted alert, that
alert (found by the channel and ts of the message clicked). A rep who changes their mind
leaves two rows, and the newest one is their answer; a click that repeats the rep's
newest answer on the same alert (a double click, or a click again after Slack showed the
first as failed) stores nothing. Clicks on one account are stored one after another
(`serialize_verdicts`), so two copies of one click arriving together store one row.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core import history
from tipoff.errors import InvalidInput, NotFound
from tipoff.store.dialect import lock_for_writing, locks_rows
from tipoff.store.tables import accounts, alerts, feedback

REASON_LIMIT = 1000
# How long a click's transaction may wait for a lock: with the rest of its work and the
# network, a click is stored and acknowledged, or answered with an error, inside the three
# seconds Slack waits (after which Slack shows it failed, even were it stored later).
CLICK_LOCK_WAIT_SECONDS = 1.5
# A snooze repeated this soon, for the same period, is the same click again; later it is
# a rep extending their snooze.
REPEATED_SNOOZE = timedelta(minutes=1)


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
    reason: str = ""  # why it was queued (`AlertReason.text`); BUNDLE.text for a bundle


async def serialize_verdicts(conn: AsyncConnection, account_id: int) -> None:
    """Makes this transaction the only one storing clicks on `account_id` until it ends,
    so it reads the verdicts stored before it: on PostgreSQL by locking the account's row,
    on SQLite by taking the write lock now (its first write would take it anyway)."""
    if locks_rows(conn.dialect.name):
        await conn.execute(
            select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
        )
    else:
        await lock_for_writing(conn, feedback)


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
) -> FeedbackRecord | None:
    """Stores one verdict. `channel` and `ts` name the message clicked; the verdict is tied
    to the alert posted there, or to no alert (alert_id NULL) when it was another message.
    Returns it, or None when it repeats the rep's newest answer there (nothing stored).

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
    if await _repeats_newest(
        conn,
        account_id=account_id,
        alert_id=alert_id,
        slack_user_id=slack_user_id,
        verdict=verdict,
        reason=reason,
        at=at,
    ):
        return None
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


async def _repeats_newest(
    conn: AsyncConnection,
    *,
    account_id: int,
    alert_id: int | None,
    slack_user_id: str,
    verdict: Verdict,
    reason: str | None,
    at: datetime,
) -> bool:
    """Whether the rep's newest answer of this kind (Right or Wrong; or a snooze; or a
    claim) on this alert, or on this account outside any alert, is this one."""
    kinds = (
        [Verdict.RIGHT, Verdict.WRONG] if verdict in (Verdict.RIGHT, Verdict.WRONG) else [verdict]
    )
    newest = (
        await conn.execute(
            select(feedback.c.verdict, feedback.c.reason, feedback.c.created_at)
            .where(
                feedback.c.account_id == account_id,
                feedback.c.slack_user_id == slack_user_id,
                feedback.c.verdict.in_([k.value for k in kinds]),
                feedback.c.alert_id.is_(None)
                if alert_id is None
                else feedback.c.alert_id == alert_id,
            )
            .order_by(feedback.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if newest is None or (newest.verdict, newest.reason) != (verdict.value, reason):
        return False
    return verdict != Verdict.SNOOZE or at - newest.created_at < REPEATED_SNOOZE


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
    return history.account_label(account_id, row.name, row.domain)
