"""People changing in Slack: an owner deactivated by an admin owns nothing any more."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from tipoff import workflow
from tipoff.runtime import Runtime

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def user_changed(event: dict[str, Any]) -> None:
        user = event.get("user")
        if not isinstance(user, dict) or not user.get("deleted") or not user.get("id"):
            return
        ended = await workflow.lapse_owner(runtime, str(user["id"]))
        log.info("Slack user %s deactivated: %d claim(s) ended", user["id"], ended)

    app.event("user_change")(user_changed)
