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
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select, update

from tipoff.runtime import Runtime
from tipoff.slack.failures import SLACK_CALL_ERRORS, FailureKind, SlackFailure, failure_of
from tipoff.store.dialect import upsert
from tipoff.store.tables import slack_workspace

log = logging.getLogger(__name__)

# How often a paused Tipoff asks auth.test whether its token works again.
PROBE_EVERY = timedelta(minutes=1)
# How long a probe waits for Slack.
PROBE_TIMEOUT_SECONDS = 5.0
_ROW = 1


@dataclass(frozen=True)
class Pause:
    reason: str  # Slack's error code or the event's type
    detail: str  # what happened and what fixes it
    since: datetime


async def current_pause(runtime: Runtime) -> Pause | None:
    async with runtime.db.transaction() as conn:
        row = (
            await conn.execute(select(slack_workspace).where(slack_workspace.c.id == _ROW))
        ).one_or_none()
    if row is None or row.paused_reason is None:
        return None
    return Pause(row.paused_reason, row.paused_detail or "", row.paused_at)


async def pause_posting(runtime: Runtime, reason: str, detail: str) -> None:
    """Stops every post until auth.test succeeds again; says so once in the log."""
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        row = (
            await conn.execute(
                select(slack_workspace.c.paused_reason).where(slack_workspace.c.id == _ROW)
            )
        ).one_or_none()
        if row is not None and row.paused_reason is not None:
            return  # paused already: keep the first reason, it is the cause
        await conn.execute(
            upsert(
                slack_workspace,
                conn.dialect.name,
                key=["id"],
                update=["paused_reason", "paused_detail", "paused_at", "checked_at"],
            ),
            [
                {
                    "id": _ROW,
                    "paused_reason": reason,
                    "paused_detail": detail,
                    "paused_at": now,
                    "checked_at": now,
                }
            ],
        )
    log.error("Slack posting paused (%s): %s; nothing is posted until it is fixed", reason, detail)


async def resume_posting(runtime: Runtime) -> bool:
    """Posting again; False when it was not paused."""
    async with runtime.db.transaction() as conn:
        resumed = await conn.execute(
            update(slack_workspace)
            .where(slack_workspace.c.id == _ROW, slack_workspace.c.paused_reason.is_not(None))
            .values(
                paused_reason=None, paused_detail=None, paused_at=None, resumed_at=runtime.clock()
            )
        )
    if resumed.rowcount != 1:
        return False
    log.warning("Slack posting resumed: auth.test accepts the bot token again")
    return True


async def may_post(runtime: Runtime) -> bool:
    """True unless posting is paused; while paused, asks auth.test (at most once every
    PROBE_EVERY, across replicas) and resumes when it succeeds."""
    pause = await current_pause(runtime)
    if pause is None:
        return True
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        due = await conn.execute(
            update(slack_workspace)
            .where(
                slack_workspace.c.id == _ROW,
                slack_workspace.c.paused_reason.is_not(None),
                slack_workspace.c.checked_at <= now - PROBE_EVERY,
            )
            .values(checked_at=now)
        )
    if due.rowcount != 1:
        return False  # probed recently, here or by another replica
    return await check_token(runtime)


async def pause_if_token_dead(runtime: Runtime, failure: SlackFailure) -> bool:
    """Pauses posting when `failure` (of any Web API call) says the bot token no longer
    works for the workspace; True when it does. The one place where an install failure
    stops every post: delivery, reminders and digests, and the auth.test probe."""
    if failure.kind is not FailureKind.INSTALL:
        return False
    await pause_posting(runtime, failure.code, failure.description)
    return True


async def check_token(runtime: Runtime) -> bool:
    """Asks auth.test whether the bot token works: resumes posting when it does, pauses
    it when Slack says the token is dead. False when posting stays paused or Slack did
    not answer."""
    if runtime.slack is None:
        return False
    answer = await ask_auth_test(runtime.slack, timeout_seconds=PROBE_TIMEOUT_SECONDS)
    if answer.state is not TokenState.OK:
        if answer.failure is not None:
            await pause_if_token_dead(runtime, answer.failure)
        return False
    await resume_posting(runtime)
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

    def __init__(self, runtime: Runtime, *, every: timedelta, timeout_seconds: float) -> None:
        self._runtime = runtime
        self._every = every
        self._timeout = timeout_seconds
        self._lock = asyncio.Lock()
        self._last: tuple[datetime, TokenCheck] | None = None

    async def check(self) -> TokenCheck:
        async with self._lock:
            now = self._runtime.clock()
            # A clock moved back (or forward past `every`) asks again.
            if self._last is not None and timedelta(0) <= now - self._last[0] < self._every:
                return self._last[1]
            answer = await self._ask()
            self._last = (self._runtime.clock(), answer)
            return answer

    async def _ask(self) -> TokenCheck:
        assert self._runtime.slack is not None
        try:
            answer = await ask_auth_test(self._runtime.slack, timeout_seconds=self._timeout)
        except Exception as error:  # any failure to answer is "unreachable", with its reason
            answer = TokenCheck(TokenState.UNREACHABLE, _unreachable(error))
        if answer.state is TokenState.UNREACHABLE:
            log.warning("health check: %s", answer.detail)
        return answer
