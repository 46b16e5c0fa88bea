"""People and channels changing in Slack: an owner deactivated by an admin owns nothing any
more; a person made a guest (or a member) is known as such at once; a channel shared with
another organisation (or no longer) is asked about again before the next alert."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from tipoff import reps
from tipoff.runtime import Runtime

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def user_changed(event: dict[str, Any]) -> None:
        user = event.get("user")
        if not isinstance(user, dict) or not user.get("id"):
            return
        runtime.audience.remember_person(user, now=runtime.clock())
        if not user.get("deleted"):
            return
        ended = await reps.lapse_owner(runtime, str(user["id"]))
        log.info("Slack user %s deactivated: %d claim(s) ended", user["id"], ended)

    app.event("user_change")(user_changed)

    async def sharing_changed(event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if isinstance(channel, str) and channel:
            runtime.audience.forget_channel(channel)
            log.info("Slack channel %s: %s", channel, event.get("type"))

    app.event("channel_shared")(sharing_changed)
    app.event("channel_unshared")(sharing_changed)
