"""The real app, served in-process with its lifespan run, wired to the fake Slack Web API.

    async with slack_bot(settings, now=NOW) as bot:
        response = await bot.send(slash_command("acme.com"))

`settings` are the test's Settings without Slack; the bot token, signing secret and API
URL are set here as a deployment would set them. The Runtime's clock is fixed at `now`
(Slack's request signatures still use the real time, as Bolt checks them against it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from tests.fakes.signing import SIGNING_SECRET, SignedRequest
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi, running_fake_slack
from tipoff.runtime import Runtime
from tipoff.server import create_app
from tipoff.settings import Settings
from tipoff.startup import build_runtime


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def with_slack(settings: Settings, fake: FakeSlackApi) -> Settings:
    """`settings` with Slack configured for HTTP mode against `fake`."""
    return Settings.model_validate(
        {
            **settings.model_dump(),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": fake.url,
        }
    )


@dataclass
class SlackBot:
    fake: FakeSlackApi
    runtime: Runtime
    http: httpx.AsyncClient
    clock: Clock

    async def send(self, request: SignedRequest, path: str = "/slack/events") -> httpx.Response:
        return await self.http.post(path, content=request.body, headers=request.headers)


@asynccontextmanager
async def running_runtime(settings: Settings, *, now: datetime) -> AsyncIterator[Runtime]:
    runtime = await build_runtime(settings)
    runtime.clock = Clock(now)
    try:
        yield runtime
    finally:
        await runtime.close()


@asynccontextmanager
async def slack_bot(
    settings: Settings,
    *,
    now: datetime,
    configure: Callable[[Settings], Settings] | None = None,
    fake: FakeSlackApi | None = None,
) -> AsyncIterator[SlackBot]:
    """`configure` adjusts the Slack-enabled settings (e.g. adds an app token); `fake` is
    an already running fake Web API, when the test must program it before start-up."""
    async with AsyncExitStack() as stack:
        if fake is None:
            fake = stack.enter_context(running_fake_slack())
        configured = with_slack(settings, fake)
        if configure is not None:
            configured = configure(configured)
        runtime = await stack.enter_async_context(running_runtime(configured, now=now))
        app = create_app(configured, scheduler=False, runtime=runtime)
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tipoff.test")
        )
        assert isinstance(runtime.clock, Clock)
        stack.push_async_callback(_listeners_finished, set(asyncio.all_tasks()))
        yield SlackBot(fake, runtime, http, runtime.clock)


async def _listeners_finished(running_before: set[asyncio.Task[Any]]) -> None:
    """Bolt runs a listener's work after the ack as a task of its own (a message redrawn
    after a click, an event handled): let those end before the database closes, or one
    still reading leaves its connection to the garbage collector, which warns."""
    started = asyncio.all_tasks() - running_before - {asyncio.current_task()}
    if started:
        await asyncio.wait(started, timeout=5)
