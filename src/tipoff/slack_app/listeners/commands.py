"""`/tipoff`: look an account up, list the top scores or the caller's accounts (`mine`),
assign an owner (`assign`, admins only), or explain itself.

Every answer is ephemeral. Slack waits three seconds for the acknowledgement, and shows
the rep "operation_timeout" after that, so nothing slow runs before it: `/tipoff stats`
(a report over 90 days of alerts) acknowledges at once with a holding line and posts its
answer to the command's response_url. Every other answer goes back in the
acknowledgement itself when it is ready within ACK_WITHIN_SECONDS (a lookup reads one
account's stored score: milliseconds), and through response_url when it is not (a very
large account rescored on the spot, a slow Slack or database). Nothing a rep types is an
error: an unknown account gets suggestions and examples instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from tipoff import reps
from tipoff.core.opener import suggested_opener
from tipoff.core.workflow import sparkline, weekly_scores
from tipoff.quality import stats_message as stats
from tipoff.quality.report import Report
from tipoff.runtime import Runtime
from tipoff.scores import lookup
from tipoff.slack import blocks
from tipoff.slack.formatted_text import Part, lookup_text, parse, user_id_of

log = logging.getLogger(__name__)

COMMAND = "/tipoff"
TOP_LIMIT = 10
SPARKLINE_WEEKS = 8
# How long an answer may take and still go back in the acknowledgement: well inside
# Slack's three seconds, which also cover the network both ways.
ACK_WITHIN_SECONDS = 1.5
WORKING_ON_IT = "Working on it: the answer follows here in a moment."
SORRY = "Sorry, Tipoff hit an error answering that. It has been logged; please try again."


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def tipoff_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = str(command.get("text") or "")
        user_id = str(command.get("user_id") or "")
        if answered_later(text):
            await ack(response_type="ephemeral", text=WORKING_ON_IT)
            report = asyncio.ensure_future(stats.stats_report(runtime))
            await _respond_when_ready(respond, _message_of(report))
            if report.done() and not report.cancelled() and report.exception() is None:
                # After the figures: the chart of them, into the rep's DM with Tipoff.
                await stats.post_stats_chart(runtime, report.result(), user_id)
            return
        work = asyncio.ensure_future(answer(runtime, text, user_id=user_id))
        await asyncio.wait({work}, timeout=ACK_WITHIN_SECONDS)
        if work.done():
            message = work.result()  # an error here is Bolt's error handler's: it apologises
            await ack(response_type="ephemeral", text=message.text, blocks=message.blocks)
            return
        await ack(response_type="ephemeral", text=WORKING_ON_IT)
        await _respond_when_ready(respond, work)

    app.command(COMMAND)(tipoff_command)


def answered_later(text: str) -> bool:
    """Whether `/tipoff <text>` is always answered through response_url (`stats`)."""
    return lookup_text(parse(text)).lower() == "stats"


async def _message_of(report: Awaitable[Report]) -> blocks.SlackMessage:
    return stats.message_of(await report)


async def _respond_when_ready(respond: AsyncRespond, work: Awaitable[blocks.SlackMessage]) -> None:
    """Posts `work`'s answer to the command's response_url, or an apology when it fails.
    The command is acknowledged already: an error raised now would reach neither Slack
    nor the rep, so it is logged here."""
    try:
        message = await work
    except Exception:
        log.exception("/tipoff failed after it was acknowledged")
        message = blocks.SlackMessage(text=SORRY, blocks=[])
    try:
        await respond(response_type="ephemeral", text=message.text, blocks=message.blocks or None)
    except Exception:
        log.exception("/tipoff answered, but posting to its response_url failed")


async def answer(runtime: Runtime, text: str, *, user_id: str = "") -> blocks.SlackMessage:
    """What `/tipoff <text>` shows to the Slack user `user_id`; `text` as Slack sends it
    (escaped, links and mentions in angle brackets: see slack/formatted_text.py)."""
    parts = parse(text)
    asked = lookup_text(parts)
    word = asked.lower()
    if word in ("", "help", "?"):
        return blocks.help_message()
    if word == "stats":
        return await stats.stats_message(runtime)
    if word == "mine":
        owned = await reps.mine(runtime, user_id)
        return blocks.mine_message(owned, now=runtime.clock())
    if word == "assign" or word.startswith("assign "):
        return await _assign(runtime, _without_first_word(parts), user_id)
    if word == "top":
        rows = await lookup.top(runtime, limit=TOP_LIMIT)
        entries = [
            blocks.TopEntry(r.account.label, r.account.domain, r.score, r.track, r.scored_at)
            for r in rows
        ]
        return blocks.top_message(entries, now=runtime.clock())
    found = await lookup.lookup(runtime, asked)
    if found.account is not None and found.result is not None:
        now = runtime.clock()
        facts = await reps.lookup_facts(runtime, found.account.id, now, weeks=SPARKLINE_WEEKS)
        owner = facts.owner
        extras = blocks.LookupExtras(
            sparkline=sparkline(
                weekly_scores(facts.history, found.result.score, now),
                hot_at=runtime.model.routing.hot_at,
            ),
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
    found = await lookup.lookup(runtime, account_text)
    if len(found.matches) != 1:
        if found.matches:
            return blocks.ambiguous_message(account_text, found.matches)
        return blocks.unknown_account_message(account_text, found.suggestions)
    label = await reps.assign(
        runtime, account_id=found.matches[0].id, slack_user_id=rep_id, assigned_by=user_id
    )
    return blocks.assigned_message(label, rep_id)
