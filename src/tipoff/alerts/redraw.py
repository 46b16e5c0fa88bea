"""A posted alert redrawn in Slack as it stands now, and the verdict that redraws it.

A rep's Right or Wrong is stored in one unit of work (`record_verdict`) that also reads
what the alert should show afterwards; the message is then updated (`show_verdict`). A
claim, a snooze or an erasure changes what an alert shows too, and `redraw` updates it
from its stored row. The layout itself is tipoff.slack.blocks.alert_as_now.

Nothing here knows Bolt: Slack listeners and the privacy erasure both call it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tipoff import feedback, reps
from tipoff.core.workflow import BUNDLE
from tipoff.feedback import Verdict
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.store.alerts import PostedAlert
from tipoff.store.feedback import FeedbackRecord

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A verdict stored, and what its message should show now."""

    channel: str | None
    ts: str | None
    alert: PostedAlert | None
    given: list[FeedbackRecord]
    status: reps.Status | None = None


async def record_verdict(
    runtime: Runtime,
    *,
    account_id: int,
    verdict: Verdict,
    slack_user_id: str,
    slack_user_name: str | None,
    channel: str | None,
    ts: str | None,
    reason: str | None,
) -> Recorded:
    """Stores a verdict by the Slack user `slack_user_id` given on the message `ts` in
    `channel` (None: an ephemeral message) in one unit of work, which waits for locks no
    longer than a click can afford (feedback.CLICK_LOCK_WAIT_SECONDS)."""
    async with runtime.db.transaction(lock_wait_seconds=feedback.CLICK_LOCK_WAIT_SECONDS) as conn:
        await feedback.serialize_verdicts(conn, account_id)
        await feedback.record_verdict(
            conn=conn,
            account_id=account_id,
            verdict=verdict,
            slack_user_id=slack_user_id,
            slack_user_name=slack_user_name,
            at=runtime.clock(),
            channel=channel,
            ts=ts,
            reason=reason,
        )
        alert = await feedback.find_posted_alert(conn=conn, channel=channel, ts=ts)
        given = (
            await feedback.feedback_for_alert(conn=conn, alert_id=alert.id)
            if alert is not None
            else []
        )
        status = await reps.status_of(conn, account_id, runtime.clock())
    return Recorded(channel, ts, alert, given, status)


async def redraw(
    runtime: Runtime,
    client: AsyncWebClient,
    channel: str | None,
    ts: str | None,
) -> bool:
    """Updates the alert posted as `ts` in `channel` to show its account's status now
    (after a claim, a snooze, an erasure); False when the message is not one account's
    alert (a bundle, a lookup) and was left as is."""
    if channel is None or ts is None:
        return False
    async with runtime.db.transaction() as conn:
        alert = await feedback.find_posted_alert(conn=conn, channel=channel, ts=ts)
        if alert is None or alert.reason == BUNDLE.text:
            return False
        given = await feedback.feedback_for_alert(conn=conn, alert_id=alert.id)
        status = await reps.status_of(conn, alert.account_id, runtime.clock())
    await client.chat_update(
        channel=channel, ts=ts, text=alert.text, blocks=_as_now(alert, given, status)
    )
    return True


async def show_verdict(
    client: AsyncWebClient,
    recorded: Recorded,
    *,
    latest: blocks.FeedbackNote,
    shown: dict[str, Any] | None,
) -> None:
    """Updates the message a verdict was given on to show who said what.

    A posted alert is redrawn from the blocks it was posted with and all its verdicts;
    another message (no alert row) from the message Slack showed (`shown`, the payload's
    message), with `latest` added."""
    channel, ts = recorded.channel, recorded.ts
    if channel is None or ts is None:
        return
    if recorded.alert is not None:
        updated = _as_now(recorded.alert, recorded.given, recorded.status)
        text = recorded.alert.text
    elif shown and shown.get("blocks"):
        updated = blocks.add_feedback(shown["blocks"], latest)
        text = str(shown.get("text") or "Tipoff")
    else:
        log.info("verdict on %s/%s recorded; no blocks to update the message with", channel, ts)
        return
    await client.chat_update(channel=channel, ts=ts, text=text, blocks=updated)


def _as_now(
    alert: PostedAlert, given: list[FeedbackRecord], status: reps.Status | None
) -> list[blocks.Block]:
    """`alert` with its verdicts, owner and snooze, as blocks.alert_as_now draws them."""
    notes = [blocks.FeedbackNote(f.slack_user_id, f.verdict, f.reason) for f in given]
    if status is None:
        return blocks.alert_as_now(alert.blocks, notes, None)
    owner = status.owner
    shown = blocks.AlertStatus(
        owner=owner.slack_user_id if owner else None,
        owner_email=owner.email if owner else None,
        snoozed_by=status.snoozed_by,
        snoozed_until=status.snoozed_until,
    )
    return blocks.alert_as_now(alert.blocks, notes, shown)
