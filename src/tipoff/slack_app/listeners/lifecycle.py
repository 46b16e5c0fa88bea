"""The app's install lifecycle: `app_uninstalled` and `tokens_revoked` stop all posting.

Slack sends both without needing a working token (Bolt skips its auth.test for them).
Posting resumes when auth.test accepts the bot token again (tipoff.slack.install_state): after
a reinstall and a new SLACK_BOT_TOKEN, the delivery job finds it works (once a minute).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from tipoff.runtime import Runtime
from tipoff.slack.failures import FIXES
from tipoff.slack.install_state import pause_posting


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def uninstalled() -> None:
        await pause_posting(runtime, "app_uninstalled", FIXES["app_uninstalled"])

    async def revoked(event: dict[str, Any]) -> None:
        tokens = event.get("tokens") or {}
        # Only the bot token posts; a user's OAuth token being revoked changes nothing.
        if isinstance(tokens, dict) and tokens.get("bot"):
            await pause_posting(runtime, "tokens_revoked", FIXES["tokens_revoked"])

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)
