"""The Wrong modal's submission: a reason is required, a note is optional."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tipoff.alerts import redraw
from tipoff.errors import NotFound
from tipoff.feedback import Verdict
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.slack_app.listeners.actions import acknowledged, user_id_of, user_name_of

REASON_REQUIRED = "Pick a reason: it tells Tipoff what to weigh differently."


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def wrong_reason(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        answer = blocks.read_wrong_reason(view)
        if answer.reason is None:
            await ack(response_action="errors", errors={blocks.REASON_BLOCK: REASON_REQUIRED})
            return
        user = body.get("user") or {}
        # Stored before the modal closes: a rep who saw it close can trust it was kept.
        try:
            recorded = await redraw.record_verdict(
                runtime,
                account_id=answer.context.account_id,
                verdict=Verdict.WRONG,
                slack_user_id=user_id_of(user),
                slack_user_name=user_name_of(user),
                channel=answer.context.channel,
                ts=answer.context.ts,
                reason=answer.stored_reason,
            )
        except NotFound as exc:
            await ack(response_action="errors", errors={blocks.REASON_BLOCK: exc.message})
            return
        async with acknowledged(ack, "Wrong verdict"):
            latest = blocks.FeedbackNote(
                user_id_of(user), Verdict.WRONG.value, answer.stored_reason
            )
            await redraw.show_verdict(client, recorded, latest=latest, shown=None)

    app.view(blocks.WRONG_REASON_CALLBACK)(wrong_reason)
