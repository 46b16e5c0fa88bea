"""`/tipoff`: look an account up, list the top scores, or explain itself.

Every answer is ephemeral and goes back in the acknowledgement itself: lookups read one
account from the local database, well inside Slack's three seconds, so there is no
response_url round trip. Nothing a rep types is an error: an unknown account gets
suggestions and examples instead.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from tipoff import rescoring
from tipoff.quality.slack import stats_message
from tipoff.runtime import Runtime
from tipoff.slack import blocks

COMMAND = "/tipoff"
TOP_LIMIT = 10


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def tipoff_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        message = await answer(runtime, str(command.get("text") or ""))
        await ack(response_type="ephemeral", text=message.text, blocks=message.blocks)

    app.command(COMMAND)(tipoff_command)


async def answer(runtime: Runtime, text: str) -> blocks.SlackMessage:
    """What `/tipoff <text>` shows."""
    asked = " ".join(text.split())
    word = asked.lower()
    if word in ("", "help", "?"):
        return blocks.help_message()
    if word == "stats":
        return await stats_message(runtime)
    if word == "top":
        rows = await rescoring.top(runtime, limit=TOP_LIMIT)
        entries = [
            blocks.TopEntry(r.account.label, r.account.domain, r.score, r.track, r.scored_at)
            for r in rows
        ]
        return blocks.top_message(entries, now=runtime.clock())
    found = await rescoring.lookup(runtime, asked)
    if found.account is not None and found.result is not None:
        return blocks.lookup_message(
            found.account, found.result, found.history, now=runtime.clock()
        )
    if found.matches:
        return blocks.ambiguous_message(asked, found.matches)
    return blocks.unknown_account_message(asked, found.suggestions)
