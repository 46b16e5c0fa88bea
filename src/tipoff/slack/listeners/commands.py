"""`/tipoff`: look an account up, list the top scores or the caller's accounts (`mine`),
assign an owner (`assign`, admins only), or explain itself.

Every answer is ephemeral and goes back in the acknowledgement itself: lookups read one
account from the local database, well inside Slack's three seconds, so there is no
response_url round trip. Nothing a rep types is an error: an unknown account gets
suggestions and examples instead.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from tipoff import rescoring, workflow
from tipoff.core.opener import suggested_opener
from tipoff.core.workflow import sparkline, weekly_scores
from tipoff.quality.slack import stats_message
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.slack.formatted_text import Part, lookup_text, parse, user_id_of

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


async def answer(runtime: Runtime, text: str, *, user_id: str = "") -> blocks.SlackMessage:
    """What `/tipoff <text>` shows to the Slack user `user_id`; `text` as Slack sends it
    (escaped, links and mentions in angle brackets: see slack/formatted_text.py)."""
    parts = parse(text)
    asked = lookup_text(parts)
    word = asked.lower()
    if word in ("", "help", "?"):
        return blocks.help_message()
    if word == "stats":
        return await stats_message(runtime)
    if word == "mine":
        owned = await workflow.mine(runtime, user_id)
        return blocks.mine_message([_line(o) for o in owned], now=runtime.clock())
    if word == "assign" or word.startswith("assign "):
        return await _assign(runtime, _without_first_word(parts), user_id)
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


def _without_first_word(parts: list[Part]) -> list[Part]:
    """`parts` after the command's first word ("assign")."""
    first, *rest = parts
    if not isinstance(first, str):
        return parts
    words = first.split(None, 1)
    return [words[1], *rest] if len(words) == 2 else rest


def _assign_args(parts: list[Part]) -> tuple[str, str | None]:
    """`<account> @rep` read as (the account's search text, the rep's user ID or None)."""
    items = [p for p in parts if not (isinstance(p, str) and not p.strip())]
    if not items:
        return "", None
    *head, last = items
    if isinstance(last, str):
        before, _, word = last.strip().rpartition(" ")
        return lookup_text([*head, before]), user_id_of(word)
    return lookup_text(head), user_id_of(last)


async def _assign(runtime: Runtime, args: list[Part], user_id: str) -> blocks.SlackMessage:
    """`/tipoff assign <account> @rep`, for the Slack users in TIPOFF_ADMINS only."""
    if user_id not in runtime.settings.admin_ids:
        return blocks.assign_refused_message()
    account_text, rep_id = _assign_args(args)
    if not account_text or rep_id is None:
        return blocks.assign_usage_message()
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
