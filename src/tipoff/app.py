"""The ASGI application: ingest, Slack and health routes over one Runtime.

Everything with a lifetime (database, Slack client, Bolt app, Socket Mode, scheduler) is
started in `lifespan` and stopped in reverse order; nothing is built at import time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tipoff.errors import TipoffError
from tipoff.ingest.http import ingest_routes
from tipoff.jobs import build_scheduler
from tipoff.runtime import Runtime
from tipoff.settings import Settings
from tipoff.slack.bolt_app import SlackEdge

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.transaction() as conn:
        await conn.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok", "slack": runtime.slack is not None})


async def slack_events(request: Request) -> Response:
    edge: SlackEdge | None = request.app.state.slack_edge
    if edge is None:
        return JSONResponse(
            {
                "code": "slack_not_configured",
                "message": "Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.",
            },
            status_code=404,
        )
    return await edge.handle(request)


async def tipoff_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TipoffError)
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)


def create_app(
    settings: Settings, *, scheduler: bool = True, runtime: Runtime | None = None
) -> Starlette:
    """`scheduler=False` leaves rescoring and delivery to explicit calls (tests, `demo`);
    `runtime` lets a caller share an already open Runtime (it is then not closed here)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime if runtime is not None else await Runtime.open(settings)
        app.state.runtime = rt
        app.state.slack_edge = None
        async with contextlib.AsyncExitStack() as stack:
            if owned:
                stack.push_async_callback(rt.close)
            if rt.slack is not None:
                edge = SlackEdge(rt)
                app.state.slack_edge = edge
                await edge.start()
                stack.push_async_callback(edge.stop)
            if scheduler:
                jobs = build_scheduler(rt)
                jobs.start()
                stack.callback(jobs.shutdown, wait=False)
            yield

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/slack/events", slack_events, methods=["POST"]),
            *ingest_routes(),
        ],
        exception_handlers={TipoffError: tipoff_error},
        lifespan=lifespan,
    )
