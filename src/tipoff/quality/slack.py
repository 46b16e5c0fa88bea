"""`/tipoff stats`: the quality report in Slack (filled in by the quality loop)."""

from __future__ import annotations

from tipoff.runtime import Runtime
from tipoff.slack.blocks import SlackMessage


async def stats_message(runtime: Runtime) -> SlackMessage:
    text = "Model statistics are not available yet."
    return SlackMessage(
        text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    )
