"""`/tipoff`: look an account up, list the top scores or the caller's accounts (`mine`),
assign an owner (`assign`, admins only), or explain itself.

Every answer is ephemeral and goes back in the acknowledgement itself: lookups read one
account from the local database, well inside Slack's three seconds, so there is no
response_url round trip. Nothing a rep types is an error: an unknown account gets
suggestions and examples instead.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from tipoff import rescoring, workflow
from tipoff.core.opener import suggested_opener
from tipoff.core.workflow import sparkline, weekly_scores
from tipoff.quality.slack import stats_message
from tipoff.runtime import Runtime
from tipoff.slack import blocks

COMMAND = "/tipoff"
TOP_LIMIT = 10
SPARKLINE_WEEKS = 8


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def tipoff_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        message = await answer(
            runtime, str(command.get("text") or ""), user_id=str(command.get("user_id") or "")
        )
        await ack(response_type="ephemeral", text=message.text, blocks=message.blocks)

    app.command(COMMAND)(tipoff_command)


# A user as Slack escapes it in command text ("<@U123|maya>"), or a bare user ID.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{5,})$")


async def answer(runtime: Runtime, text: str, *, user_id: str = "") -> blocks.SlackMessage:
    """What `/tipoff <text>` shows to the Slack user `user_id`."""
    asked = " ".join(text.split())
    word = asked.lower()
    if word in ("", "help", "?"):
        return blocks.help_message()
    if word == "stats":
        return await stats_message(runtime)
    if word == "mine":
        owned = await workflow.mine(runtime, user_id)
        return blocks.mine_message([_line(o) for o in owned], now=runtime.clock())
    if word == "assign" or word.startswith("assign "):
        return await _assign(runtime, asked.split(" ", 1)[1] if " " in asked else "", user_id)
    if word == "top":
        rows = await rescoring.top(runtime, limit=TOP_LIMIT)
        entries = [
            blocks.TopEntry(r.account.label, r.account.domain, r.score, r.track, r.scored_at)
            for r in rows
        ]
        return blocks.top_message(entries, now=runtime.clock())
    found = await rescoring.lookup(runtime, asked)
    if found.account is not None and found.result is not None:
        now = runtime.clock()
        async with runtime.db.transaction() as conn:
            owner = await workflow.owner_of(conn, found.account.id)
            weeks = await workflow.recent_history(
                conn, found.account.id, now, weeks=SPARKLINE_WEEKS
            )
        extras = blocks.LookupExtras(
            sparkline=sparkline(weekly_scores(weeks, found.result.score, now)),
            owner_user_id=owner.slack_user_id if owner else None,
            owner_email=owner.email if owner else None,
            opener=suggested_opener(found.account, found.result),
            scored_at=found.scored_at,
        )
        return blocks.lookup_message(
            found.account, found.result, found.history, now=now, extras=extras
        )
    if found.matches:
        return blocks.ambiguous_message(asked, found.matches)
    return blocks.unknown_account_message(asked, found.suggestions)


async def _assign(runtime: Runtime, args: str, user_id: str) -> blocks.SlackMessage:
    """`/tipoff assign <account> @rep`, for the Slack users in TIPOFF_ADMINS only."""
    if user_id not in runtime.settings.admin_ids:
        return blocks.assign_refused_message()
    account_text, _, rep = args.rpartition(" ")
    mention = _MENTION.match(rep.strip())
    if not account_text.strip() or mention is None:
        return blocks.assign_usage_message()
    rep_id = mention.group(1) or mention.group(2)
    found = await rescoring.lookup(runtime, account_text)
    if len(found.matches) != 1:
        if found.matches:
            return blocks.ambiguous_message(account_text, found.matches)
        return blocks.unknown_account_message(account_text, found.suggestions)
    label = await workflow.assign(
        runtime, account_id=found.matches[0].id, slack_user_id=rep_id, assigned_by=user_id
    )
    return blocks.assigned_message(label, rep_id)


def _line(owned: workflow.OwnedAccount) -> blocks.AccountLine:
    return blocks.AccountLine(
        owned.label, owned.domain, owned.score, owned.track, owned.change, owned.changed_at
    )
