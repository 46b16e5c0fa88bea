"""`tipoff serve`: the bot itself."""

from __future__ import annotations

from typing import Annotated

import typer

from tipoff.cli.common import load_settings, open_runtime, run_command


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
) -> None:
    """Run the bot: Segment-compatible ingest, Slack endpoints and the scheduler."""
    import uvicorn

    from tipoff.logs import configure_logging
    from tipoff.server import create_app

    settings = load_settings()
    configure_logging()

    async def run() -> None:
        # Opened here rather than in the app's lifespan, so that a database that cannot
        # be reached or a broken model file is one line and an exit, not a traceback.
        async with open_runtime(settings, migrate=True, note_model_change=True) as runtime:
            config = uvicorn.Config(
                create_app(settings, runtime=runtime),
                host=host,
                port=port,
                log_config=None,
                log_level="info",
            )
            await uvicorn.Server(config).serve()

    run_command(run())
