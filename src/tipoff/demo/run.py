"""`tipoff demo`: the whole pass on a sample history, through the real edges.

Starts the real app on a loopback port, replays the bundled history through `POST
/v1/batch` as a Segment client would, rescores, runs the delivery job (which prints the
alerts: the demo never talks to Slack) and shows the top accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from tipoff.alerts.delivery import deliver_pending_alerts
from tipoff.demo.sample_history import load_history, segment_batches
from tipoff.runtime import Runtime
from tipoff.scores.lookup import top
from tipoff.scores.rescoring import RescoreSummary, rescore
from tipoff.server import create_app
from tipoff.settings import Settings
from tipoff.sources import create_source
from tipoff.startup import build_runtime
from tipoff.store.scores import TopRow


@dataclass(frozen=True, slots=True)
class DemoReport:
    events_sent: int
    summary: RescoreSummary
    top: list[TopRow]


@contextlib.asynccontextmanager
async def serving(runtime: Runtime, *, scheduler: bool = False) -> AsyncIterator[str]:
    """The real app under uvicorn on a free loopback port; yields its base URL. With
    `scheduler`, its jobs run too, as under `tipoff serve`."""
    app = create_app(runtime.settings, scheduler=scheduler, runtime=runtime)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # start-up failed: raise its error here
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def run_demo(settings: Settings, console: Console) -> DemoReport:
    runtime = await build_runtime(settings)
    try:
        now = runtime.clock()
        async with runtime.db.transaction() as conn:
            write_key = (await create_source(conn, name="demo", now=now)).write_key
        batches = segment_batches(load_history(), now=now)
        total = sum(len(b["batch"]) for b in batches)
        sent = 0
        async with (
            serving(runtime) as base_url,
            aiohttp.ClientSession(auth=aiohttp.BasicAuth(write_key, "")) as http,
        ):
            columns = (TextColumn("Replaying sample history"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=console, transient=True) as progress:
                bar = progress.add_task("replay", total=total)
                for batch in batches:
                    async with http.post(f"{base_url}/v1/batch", json=batch) as response:
                        if response.status != 200:
                            raise RuntimeError(
                                f"ingest refused a demo batch: {response.status} {await response.text()}"
                            )
                    sent += len(batch["batch"])
                    progress.update(bar, completed=sent)
            console.print(f"Sent {sent} Segment calls to {base_url}/v1/batch.")
            summary = await rescore(runtime)
            await deliver_pending_alerts(runtime)
        return DemoReport(sent, summary, await top(runtime, limit=15))
    finally:
        await runtime.close()
