"""The ASGI application: ingest, Slack, health and metrics routes over one Runtime.

Everything with a lifetime (database, Slack client, Bolt app, Socket Mode, scheduler) is
started in `lifespan` and stopped in reverse order; nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from importlib import resources
from typing import Any

import yaml
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tipoff.alerts.outbox import delivery_health
from tipoff.errors import TipoffError
from tipoff.jobs import build_scheduler
from tipoff.runtime import Runtime
from tipoff.settings import Settings
from tipoff.slack.install_state import CachedTokenCheck
from tipoff.slack_app.bolt_app import SlackEdge, signing_secret
from tipoff.startup import build_runtime, crm_configured
from tipoff.store.db import ping
from tipoff.web.ingest_api import ingest_routes
from tipoff.web.webhooks import webhook_routes

log = logging.getLogger(__name__)


# How long /healthz waits for each dependency before calling it unreachable.
HEALTH_TIMEOUT_SECONDS = 3.0
# How long /healthz reuses an answer from Slack's auth.test before asking again.
SLACK_CHECK_EVERY = timedelta(seconds=30)


async def healthz(request: Request) -> Response:
    """200 while the database answers (the bot can ingest and queue); Slack being out or
    refusing posts only makes it "degraded", with `reasons` saying why, because alerts
    wait in the outbox. 503 when the database is out. It changes nothing: whether
    posting is paused is the delivery job's to decide."""
    runtime: Runtime = request.app.state.runtime
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), runtime.db.transaction() as conn:
            await ping(conn)
        database = "ok"
    except Exception as error:  # any failure to answer is "unreachable", with its reason
        log.warning("health check: database unreachable: %s", type(error).__name__)
        database = "unreachable"
    if database != "ok":
        return JSONResponse(
            {"status": "down", "database": database, "slack": "unknown"}, status_code=503
        )
    slack = "off"
    reasons: list[str] = []
    token: CachedTokenCheck | None = request.app.state.slack_token
    if token is not None:
        checked = await token.check()
        slack = checked.state.value
        health = await delivery_health(runtime)
        if health.pause is not None:
            slack = "paused"
        elif checked.detail:
            reasons.append(checked.detail)
        reasons += health.reasons()
    crm = None
    if crm_configured(runtime.settings):
        crm, crm_reasons = await _crm_health(runtime)
        reasons += crm_reasons
    body: dict[str, Any] = {
        "status": "degraded" if reasons else "ok",
        "database": database,
        "slack": slack,
    }
    if crm is not None:  # only when a CRM is configured
        body["crm"] = crm
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=200)


async def _crm_health(runtime: Runtime) -> tuple[str, list[str]]:
    """The CRM sync's state from its last run ("not run yet", "ok", "stopped") and what
    it could not do: a stop, and the accounts it could not match, which stay unwritten."""
    from tipoff.crm_sync import last_sync

    run = await last_sync(runtime)
    if run is None:
        return "not run yet", []
    reasons = []
    if run.stopped:
        reasons.append(f"CRM sync ({run.crm}) stopped: {run.stopped}")
    if run.unmatched:
        reasons.append(
            f"CRM sync: {run.unmatched} scored account(s) match no {run.crm} record by domain"
            " (`tipoff crm status` names them)"
        )
    if run.duplicates:
        reasons.append(
            f"CRM sync: {run.duplicates} scored account(s) match several {run.crm} records"
            " sharing one domain, left unwritten (`tipoff crm status` names them)"
        )
    return ("stopped" if run.stopped else "ok"), reasons


async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.transaction() as conn:
        await runtime.metrics.refresh(conn, runtime.clock())
    health = await delivery_health(runtime)
    runtime.metrics.observe_delivery(
        paused=health.pause is not None, failed=health.failed, refused=health.refused
    )
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@functools.cache
def ingest_openapi() -> dict[str, Any]:
    """The ingest API's OpenAPI description, shipped beside the ingest code."""
    text = resources.files("tipoff.ingest").joinpath("openapi.yml").read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


async def openapi(request: Request) -> Response:
    return JSONResponse(ingest_openapi())


async def slack_events(request: Request) -> Response:
    edge: SlackEdge | None = request.app.state.slack_edge
    if edge is None:
        return JSONResponse(
            {"code": "slack_not_configured", "message": "Set SLACK_BOT_TOKEN."},
            status_code=404,
        )
    return await edge.handle(request)


async def tipoff_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TipoffError)
    request.app.state.runtime.metrics.rejected.labels(exc.code).inc()
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)


@contextlib.contextmanager
def _settled_garbage_collector() -> Iterator[None]:
    """While the server runs: everything alive once it has started (modules, the model,
    SQLAlchemy's metadata, Bolt) is left out of the garbage collector's scans, and the
    collector runs less often.

    An ingest batch allocates some 50,000 objects; with CPython's default thresholds they
    trigger collections that walk every object the process holds, which cost 40 % of
    parsing a batch (benchmarks/, figure 1). What is alive at start-up lives as long as
    the server, so not scanning it loses nothing; request garbage is still collected.
    At shutdown the collector is as it was (tests start many servers in one process)."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNGEST_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


# Objects allocated (net) before a youngest-generation collection; CPython's default is 700.
_YOUNGEST_THRESHOLD = 10_000


def create_app(
    settings: Settings, *, scheduler: bool = True, runtime: Runtime | None = None
) -> Starlette:
    """`scheduler=False` leaves rescoring and delivery to explicit calls (tests, `demo`);
    `runtime` lets a caller share an already open Runtime (it is then not closed here)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime if runtime is not None else await build_runtime(settings)
        app.state.runtime = rt
        app.state.slack_edge = None
        app.state.slack_token = None
        if rt.slack is not None:
            app.state.slack_token = CachedTokenCheck(
                rt, every=SLACK_CHECK_EVERY, timeout_seconds=HEALTH_TIMEOUT_SECONDS
            )
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
            stack.enter_context(_settled_garbage_collector())
            yield

    # Without a signing secret no request to /slack/events could be verified (Socket Mode
    # needs none): the route does not exist, rather than checking signatures with no key.
    slack_http = signing_secret(settings) is not None
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *([Route("/slack/events", slack_events, methods=["POST"])] if slack_http else []),
            *ingest_routes(),
            *webhook_routes(),
        ],
        exception_handlers={TipoffError: tipoff_error},
        lifespan=lifespan,
    )
