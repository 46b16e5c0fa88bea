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
Storing and redrawing are tipoff.alerts.redraw's (and tipoff.reps's for a claim or a
snooze): a listener here reads the payload, calls them and acknowledges.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tipoff import feedback, reps
from tipoff.alerts import redraw
from tipoff.feedback import Verdict
from tipoff.runtime import Runtime
from tipoff.slack import blocks

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def right(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        channel, ts = _message(body)
        user = body.get("user") or {}
        recorded = await redraw.record_verdict(
            runtime,
            account_id=int(body["actions"][0]["value"]),
            verdict=Verdict.RIGHT,
            slack_user_id=user_id_of(user),
            slack_user_name=user_name_of(user),
            channel=channel,
            ts=ts,
            reason=None,
        )
        async with acknowledged(ack, "Right verdict"):
            latest = blocks.FeedbackNote(user_id_of(user), Verdict.RIGHT.value)
            await redraw.show_verdict(client, recorded, latest=latest, shown=body.get("message"))

    async def wrong(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        account_id = int(body["actions"][0]["value"])
        channel, ts = _message(body)
        label = await feedback.account_label(runtime, account_id)
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
        user_id = user_id_of(user)
        outcome = await reps.claim(
            runtime,
            account_id=int(body["actions"][0]["value"]),
            slack_user_id=user_id,
            slack_user_name=user_name_of(user),
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
            elif not await redraw.redraw(runtime, client, channel, ts) and channel is not None:
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
        await reps.snooze(
            runtime,
            account_id=account_id,
            days=days,
            slack_user_id=user_id_of(user),
            slack_user_name=user_name_of(user),
            channel=channel,
            ts=ts,
        )
        async with acknowledged(ack, "Snooze"):
            await redraw.redraw(runtime, client, channel, ts)

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


def user_id_of(user: dict[str, Any]) -> str:
    """The Slack user ID in a payload's user object; "" when it has none."""
    return str(user.get("id") or "")


def user_name_of(user: dict[str, Any]) -> str | None:
    """The Slack user name in a payload's user object, if it has one."""
    name = user.get("username") or user.get("name")
    return str(name) if name else None
