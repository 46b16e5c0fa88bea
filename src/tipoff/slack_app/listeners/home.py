"""The App Home tab: refreshed (views.publish) every time a rep opens it. An admin
(TIPOFF_ADMINS) also sees, on top, what is wrong with Slack delivery, if anything."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tipoff import reps
from tipoff.alerts.outbox import delivery_health
from tipoff.runtime import Runtime
from tipoff.slack import blocks


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return  # the Messages tab: nothing to refresh
        user_id = str(event.get("user") or "")
        if not user_id:
            return
        await client.views_publish(user_id=user_id, view=await home_view(runtime, user_id))

    app.event("app_home_opened")(home_opened)


async def home_view(runtime: Runtime, user_id: str) -> blocks.Block:
    found = await reps.home(runtime, user_id)
    view = blocks.home_view(found.mine, found.unclaimed, now=runtime.clock())
    if user_id in runtime.settings.admin_ids:
        view = blocks.with_admin_note(view, (await delivery_health(runtime)).reasons())
    return view
