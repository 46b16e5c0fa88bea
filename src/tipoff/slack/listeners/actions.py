"""The controls under an alert: Right, Wrong, Claim and Snooze.

Right is recorded at once and the message is updated in place to say who said so. Wrong
opens a modal asking why (listeners/views.py records it): a bare "wrong" cannot tune the
model, a reason can. Claim makes the clicking rep the owner (a second claim is told, only
to that rep, who has it); Snooze hides the account for the period picked. Either updates the
alert in place for everyone.

A click is stored before it is acknowledged, so a click Slack showed as accepted is never
lost: one that fails to store goes unacknowledged and Slack shows the rep it did not work.
Storing waits for database locks at most feedback.CLICK_LOCK_WAIT_SECONDS, so that answer
comes inside Slack's three seconds too; and a click repeated (clicked again, or twice)
stores nothing twice.
Messages are updated after the acknowledgement, with Slack's three seconds spent already.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tipoff import feedback, workflow
from tipoff.core.workflow import BUNDLE
from tipoff.feedback import FeedbackRecord, PostedAlert, Verdict
from tipoff.runtime import Runtime
from tipoff.slack import blocks

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def right(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        channel, ts = _message(body)
        user = body.get("user") or {}
        recorded = await record(
            runtime,
            account_id=int(body["actions"][0]["value"]),
            verdict=Verdict.RIGHT,
            user=user,
            channel=channel,
            ts=ts,
            reason=None,
        )
        async with acknowledged(ack, "Right verdict"):
            latest = blocks.FeedbackNote(str(user.get("id") or ""), Verdict.RIGHT.value)
            await show(client, recorded, latest=latest, shown=body.get("message"))

    async def wrong(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        account_id = int(body["actions"][0]["value"])
        channel, ts = _message(body)
        async with runtime.db.transaction() as conn:
            label = await feedback.account_label(conn=conn, account_id=account_id)
        view = blocks.wrong_reason_modal(
            account_id=account_id,
            account_label=label or f"account {account_id}",
            channel=channel,
            ts=ts,
        )
        async with acknowledged(ack, "Wrong click"):
            await client.views_open(trigger_id=body["trigger_id"], view=view)

    async def claim(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        channel, ts = _message(body)
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        outcome = await workflow.claim(
            runtime,
            account_id=int(body["actions"][0]["value"]),
            slack_user_id=user_id,
            slack_user_name=user.get("username") or user.get("name"),
            channel=channel,
            ts=ts,
        )
        async with acknowledged(ack, "Claim"):
            if not outcome.claimed:
                where = channel or (body.get("channel") or {}).get("id")
                if where and outcome.owner.slack_user_id:
                    await client.chat_postEphemeral(
                        channel=where,
                        user=user_id,
                        text=blocks.already_claimed_text(
                            outcome.account_label, outcome.owner.slack_user_id, outcome.owner.since
                        ),
                    )
            elif not await refresh(runtime, client, channel, ts) and channel is not None:
                # A bundle names several accounts: the rep is told, the bundle stays as is.
                await client.chat_postEphemeral(
                    channel=channel,
                    user=user_id,
                    text=blocks.claimed_text(outcome.account_label),
                )

    async def snooze(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        channel, ts = _message(body)
        user = body.get("user") or {}
        selected = body["actions"][0].get("selected_option") or {}
        account_id, days = blocks.read_snooze_choice(str(selected.get("value") or ""))
        await workflow.snooze(
            runtime,
            account_id=account_id,
            days=days,
            slack_user_id=str(user.get("id") or ""),
            slack_user_name=user.get("username") or user.get("name"),
            channel=channel,
            ts=ts,
        )
        async with acknowledged(ack, "Snooze"):
            await refresh(runtime, client, channel, ts)

    app.action(blocks.RIGHT_ACTION)(right)
    app.action(blocks.WRONG_ACTION)(wrong)
    app.action(blocks.CLAIM_ACTION)(claim)
    app.action(blocks.SNOOZE_ACTION)(snooze)


@asynccontextmanager
async def acknowledged(ack: AsyncAck, what: str) -> AsyncIterator[None]:
    """Acknowledges a click once whatever it stores is stored, then runs the block: its
    updates to Slack are logged when they fail, not raised. Slack has its answer, and Bolt
    turns an error raised soon after `ack()` into no answer at all (it resets the
    acknowledgement it has not sent yet), which tells the rep a kept click failed."""
    await ack()
    try:
        yield
    except Exception:
        log.exception("%s acknowledged; updating Slack failed", what)


def _message(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The channel and ts of the message clicked; (None, None) for an ephemeral one,
    which chat.update cannot reach."""
    container = body.get("container") or {}
    if container.get("type") != "message" or container.get("is_ephemeral"):
        return None, None
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, container.get("message_ts")


@dataclass(frozen=True, slots=True)
class Recorded:
    """A verdict stored, and what its message should show now."""

    channel: str | None
    ts: str | None
    alert: PostedAlert | None
    given: list[FeedbackRecord]
    status: workflow.Status | None = None


async def record(
    runtime: Runtime,
    *,
    account_id: int,
    verdict: Verdict,
    user: dict[str, Any],
    channel: str | None,
    ts: str | None,
    reason: str | None,
) -> Recorded:
    """Stores a verdict by the Slack `user` (a payload's user object) in one unit of work,
    which waits for locks no longer than a click can afford."""
    async with runtime.db.transaction(lock_wait_seconds=feedback.CLICK_LOCK_WAIT_SECONDS) as conn:
        await feedback.serialize_verdicts(conn, account_id)
        await feedback.record_verdict(
            conn=conn,
            account_id=account_id,
            verdict=verdict,
            slack_user_id=str(user.get("id") or ""),
            slack_user_name=user.get("username") or user.get("name"),
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
        status = await workflow.status_of(conn, account_id, runtime.clock())
    return Recorded(channel, ts, alert, given, status)


async def refresh(
    runtime: Runtime,
    client: AsyncWebClient,
    channel: str | None,
    ts: str | None,
) -> bool:
    """Updates the alert clicked (claim, snooze) to show its account's status now; False
    when the message is not one account's alert (a bundle, a lookup) and was left as is."""
    if channel is None or ts is None:
        return False
    async with runtime.db.transaction() as conn:
        alert = await feedback.find_posted_alert(conn=conn, channel=channel, ts=ts)
        if alert is None or alert.reason == BUNDLE.text:
            return False
        given = await feedback.feedback_for_alert(conn=conn, alert_id=alert.id)
        status = await workflow.status_of(conn, alert.account_id, runtime.clock())
    await client.chat_update(
        channel=channel, ts=ts, text=alert.text, blocks=rendered(alert, given, status)
    )
    return True


def rendered(
    alert: PostedAlert, given: list[FeedbackRecord], status: workflow.Status | None
) -> list[blocks.Block]:
    """A posted alert as it should look now: its blocks, verdicts, owner and snooze."""
    notes = [
        blocks.FeedbackNote(f.slack_user_id, f.verdict, f.reason)
        for f in given
        if f.verdict in (Verdict.RIGHT, Verdict.WRONG)
    ]
    updated = blocks.with_feedback(alert.blocks, notes)
    if status is None:
        return updated
    owner = status.owner
    return blocks.with_status(
        updated,
        owner=owner.slack_user_id if owner else None,
        owner_email=owner.email if owner else None,
        snoozed_by=status.snoozed_by,
        snoozed_until=status.snoozed_until,
    )


async def show(
    client: AsyncWebClient,
    recorded: Recorded,
    *,
    latest: blocks.FeedbackNote,
    shown: dict[str, Any] | None,
) -> None:
    """Updates the message a verdict was given on to show who said what.

    A posted alert is re-rendered from the blocks it was posted with and all its verdicts;
    another message (no alert row) from the message Slack showed (`shown`, the payload's
    message), with `latest` added."""
    channel, ts = recorded.channel, recorded.ts
    if channel is None or ts is None:
        return
    if recorded.alert is not None:
        updated = rendered(recorded.alert, recorded.given, recorded.status)
        text = recorded.alert.text
    elif shown and shown.get("blocks"):
        updated = blocks.add_feedback(shown["blocks"], latest)
        text = str(shown.get("text") or "Tipoff")
    else:
        log.info("verdict on %s/%s recorded; no blocks to update the message with", channel, ts)
        return
    await client.chat_update(channel=channel, ts=ts, text=text, blocks=updated)
