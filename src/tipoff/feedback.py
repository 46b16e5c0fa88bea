"""Reps' verdicts on scores: Right, or Wrong with a reason, with who said it and when.

A verdict names the account it is about and, when it was given on a posted alert, that
alert (found by the channel and ts of the message clicked). A rep who changes their mind
leaves two rows, and the newest one is their answer; a click that repeats the rep's
newest answer on the same alert (a double click, or a click again after Slack showed the
first as failed) stores nothing. Clicks on one account are stored one after another
(`serialize_verdicts`), so two copies of one click arriving together store one row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from tipoff.errors import InvalidInput, NotFound
from tipoff.runtime import Runtime
from tipoff.store import accounts, alerts
from tipoff.store import feedback as stored
from tipoff.store.alerts import PostedAlert
from tipoff.store.db import Connection
from tipoff.store.feedback import FeedbackRecord

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


async def serialize_verdicts(conn: Connection, account_id: int) -> None:
    """Makes this transaction the only one storing clicks on `account_id` until it ends,
    so it reads the verdicts stored before it (`store.feedback.serialize_verdicts`)."""
    await stored.serialize_verdicts(conn, account_id)


async def record_verdict(
    *,
    conn: Connection,
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
    if not await accounts.account_exists(conn, account_id):
        raise NotFound(f"No account with id {account_id}: it may have been merged or deleted.")
    alert_id = None
    if channel and ts:
        # Only this account's alert counts: a bundle is posted as its lead account's row.
        alert_id = await alerts.account_alert_posted_at(
            conn, account_id=account_id, channel=channel, ts=ts
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
    return await stored.insert_verdict(conn, record)


async def _repeats_newest(
    conn: Connection,
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
    newest = await stored.newest_verdict(
        conn,
        account_id=account_id,
        slack_user_id=slack_user_id,
        verdicts=[k.value for k in kinds],
        alert_id=alert_id,
    )
    if newest is None or (newest.verdict, newest.reason) != (verdict.value, reason):
        return False
    return verdict != Verdict.SNOOZE or at - newest.created_at < REPEATED_SNOOZE


async def find_posted_alert(
    *, conn: Connection, channel: str | None, ts: str | None
) -> PostedAlert | None:
    """The alert posted as message `ts` in `channel`, if Tipoff posted one there."""
    if not channel or not ts:
        return None
    return await alerts.posted_alert(conn, channel=channel, ts=ts)


async def feedback_for_alert(*, conn: Connection, alert_id: int) -> list[FeedbackRecord]:
    """Every verdict given on one alert, oldest first."""
    return await stored.verdicts_on_alert(conn, alert_id)


async def account_label(runtime: Runtime, account_id: int) -> str | None:
    """How an account is named to a rep ("Acme Corp", else its domain); None if unknown."""
    async with runtime.db.transaction() as conn:
        return await accounts.account_label_of(conn, account_id)
