"""Whether Tipoff may post to the workspace: the app's install state, shared by replicas.

Posting pauses when Slack says the token no longer works (invalid_auth, token_revoked,
account_inactive … on any call) or sends `app_uninstalled` / `tokens_revoked`. While
paused, nothing is posted (alerts, reminders and digests wait; nothing is dropped), and
at most once every PROBE_EVERY a job asks auth.test whether the token works again; the
first success (after a reinstall and a new SLACK_BOT_TOKEN, or a reactivated workspace)
resumes posting. The pause lives in the database, so every replica and a restart see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from tipoff.slack.failures import SLACK_CALL_ERRORS, FailureKind, SlackFailure, failure_of
from tipoff.store import workspace
from tipoff.store.db import Database
from tipoff.store.workspace import Pause

log = logging.getLogger(__name__)

# How often a paused Tipoff asks auth.test whether its token works again.
PROBE_EVERY = timedelta(minutes=1)
# How long a probe waits for Slack.
PROBE_TIMEOUT_SECONDS = 5.0


class SlackContext(Protocol):
    """What the install state needs of its caller's context (tipoff.runtime.Runtime has
    it): the database the pause lives in, the Web API client, and the clock."""

    @property
    def db(self) -> Database: ...

    @property
    def slack(self) -> AsyncWebClient | None: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


async def current_pause(context: SlackContext) -> Pause | None:
    async with context.db.transaction() as conn:
        return await workspace.posting_pause(conn)


async def pause_posting(context: SlackContext, reason: str, detail: str) -> None:
    """Stops every post until auth.test succeeds again; says so once in the log."""
    async with context.db.transaction() as conn:
        paused = await workspace.record_pause(
            conn, reason=reason, detail=detail, at=context.clock()
        )
    if not paused:
        return  # paused already: keep the first reason, it is the cause
    log.error("Slack posting paused (%s): %s; nothing is posted until it is fixed", reason, detail)


async def resume_posting(context: SlackContext) -> bool:
    """Posting again; False when it was not paused."""
    async with context.db.transaction() as conn:
        resumed = await workspace.clear_pause(conn, at=context.clock())
    if not resumed:
        return False
    log.warning("Slack posting resumed: auth.test accepts the bot token again")
    return True


async def may_post(context: SlackContext) -> bool:
    """True unless posting is paused; while paused, asks auth.test (at most once every
    PROBE_EVERY, across replicas) and resumes when it succeeds."""
    pause = await current_pause(context)
    if pause is None:
        return True
    now = context.clock()
    async with context.db.transaction() as conn:
        due = await workspace.claim_probe(conn, now=now, every=PROBE_EVERY)
    if not due:
        return False  # probed recently, here or by another replica
    return await check_token(context)


async def pause_if_token_dead(context: SlackContext, failure: SlackFailure) -> bool:
    """Pauses posting when `failure` (of any Web API call) says the bot token no longer
    works for the workspace; True when it does. The one place where an install failure
    stops every post: delivery, reminders and digests, and the auth.test probe."""
    if failure.kind is not FailureKind.INSTALL:
        return False
    await pause_posting(context, failure.code, failure.description)
    return True


async def check_token(context: SlackContext) -> bool:
    """Asks auth.test whether the bot token works: resumes posting when it does, pauses
    it when Slack says the token is dead. False when posting stays paused or Slack did
    not answer."""
    if context.slack is None:
        return False
    answer = await ask_auth_test(context.slack, timeout_seconds=PROBE_TIMEOUT_SECONDS)
    if answer.state is not TokenState.OK:
        if answer.failure is not None:
            await pause_if_token_dead(context, answer.failure)
        return False
    await resume_posting(context)
    return True


class TokenState(Enum):
    """What auth.test said of the bot token, as /healthz reports it."""

    OK = "ok"
    REFUSED = "refused"  # Slack says the token is dead: the next post pauses posting
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    detail: str  # why it is not OK, for /healthz's reasons; "" when it is
    failure: SlackFailure | None = None  # Slack's refusal, when REFUSED


async def ask_auth_test(slack: AsyncWebClient, *, timeout_seconds: float) -> TokenCheck:
    """What auth.test says of the bot token, asked once; only reads. A failure that is
    not a Web API call's (a bug) is raised."""
    try:
        async with asyncio.timeout(timeout_seconds):
            await slack.auth_test()
    except SLACK_CALL_ERRORS as error:
        failure = failure_of(error)
        if failure.kind is FailureKind.INSTALL:
            return TokenCheck(
                TokenState.REFUSED, f"Slack refuses the bot token: {failure.description}", failure
            )
        return TokenCheck(TokenState.UNREACHABLE, _unreachable(error))
    return TokenCheck(TokenState.OK, "")


def _unreachable(error: BaseException) -> str:
    return f"Slack unreachable ({type(error).__name__})"


class CachedTokenCheck:
    """auth.test asked at most once every `every` (a clock passed in), its answer shared by
    every caller meanwhile and by the callers that arrive while it is asked: what /healthz
    reports, so that anyone who can reach it cannot make Tipoff call Slack at will.
    It only reads: pausing and resuming posting is the delivery job's (`may_post`)."""

    def __init__(self, context: SlackContext, *, every: timedelta, timeout_seconds: float) -> None:
        self._context = context
        self._every = every
        self._timeout = timeout_seconds
        self._lock = asyncio.Lock()
        self._last: tuple[datetime, TokenCheck] | None = None

    async def check(self) -> TokenCheck:
        async with self._lock:
            now = self._context.clock()
            # A clock moved back (or forward past `every`) asks again.
            if self._last is not None and timedelta(0) <= now - self._last[0] < self._every:
                return self._last[1]
            answer = await self._ask()
            self._last = (self._context.clock(), answer)
            return answer

    async def _ask(self) -> TokenCheck:
        assert self._context.slack is not None
        try:
            answer = await ask_auth_test(self._context.slack, timeout_seconds=self._timeout)
        except Exception as error:  # any failure to answer is "unreachable", with its reason
            answer = TokenCheck(TokenState.UNREACHABLE, _unreachable(error))
        if answer.state is TokenState.UNREACHABLE:
            log.warning("health check: %s", answer.detail)
        return answer
