"""Fixtures for integration tests that need the real app served over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from tests.conftest import NOW
from tests.fakes.slack_api import FakeSlackApi, running_fake_slack
from tests.fakes.slack_bot import Clock, running_runtime, with_slack
from tipoff.runtime import Runtime
from tipoff.server import create_app
from tipoff.settings import Settings
from tipoff.sources import NewSource, create_source
from tipoff.startup import build_runtime
from tipoff.store.db import Database


class IngestClock:
    """The served app's clock: `now` is what the app reads as the time a request
    arrived. Tests move it by assigning `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class IngestServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    app: Starlette
    clock: IngestClock


@contextmanager
def served(app: Starlette) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port in a background thread; yields its URL
    once /healthz answers, and shuts it down (asserting it did) afterwards."""
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY on accepted connections only
    # when the listening socket says it is TCP, and without it every response waits
    # 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", ws="none", lifespan="on", http="h11")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not shut down within 10 s"


@pytest.fixture
def ingest_server(settings: Settings, database: Database) -> Iterator[IngestServer]:
    """The real app (`create_app(settings, scheduler=False)`) under uvicorn on a free
    loopback port, in a background thread, sharing the `database` file. The app's clock
    is fixed at tests.conftest.NOW."""
    app = create_app(settings, scheduler=False)
    with served(app) as url:
        clock = IngestClock(NOW)
        app.state.runtime.clock = clock
        yield IngestServer(url=url, app=app, clock=clock)


@pytest.fixture
async def ingest_source(database: Database) -> NewSource:
    """A live source named "web" (product signals) and its write key."""
    async with database.transaction() as conn:
        return await create_source(conn=conn, name="web", category="product", now=NOW)


@pytest.fixture
async def ingest_client(
    ingest_server: IngestServer, ingest_source: NewSource
) -> AsyncIterator[httpx.AsyncClient]:
    """httpx against the served app, authenticated as `ingest_source` (HTTP Basic)."""
    async with httpx.AsyncClient(
        base_url=ingest_server.url, auth=(ingest_source.write_key, ""), timeout=30
    ) as client:
        yield client


def _wait_until_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{url}/healthz did not answer 200 within 15 s")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackApi]:
    """The loopback stand-in for Slack's Web API, for tests that run real processes."""
    with running_fake_slack() as fake:
        yield fake


@pytest.fixture
async def slack_runtime(settings: Settings, fake_slack: FakeSlackApi) -> AsyncIterator[Runtime]:
    """A runtime on the test's database whose Slack is `fake_slack`, its clock at NOW."""
    async with running_runtime(with_slack(settings, fake_slack), now=NOW) as rt:
        yield rt


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime on the test's database, without Slack, its clock fixed at NOW (tests
    move it with `Clock`). Modules that need Slack define their own."""
    rt = await build_runtime(settings)
    rt.clock = Clock(NOW)
    yield rt
    await rt.close()
