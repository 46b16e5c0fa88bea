"""`tipoff demo` and `tipoff quality-demo`: sample databases to look around in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tipoff.cli.common import fail, load_settings, out, run_command, top_table
from tipoff.core.evidence import plural
from tipoff.errors import TipoffError
from tipoff.terminal import program


def demo(
    database: Annotated[
        Path,
        typer.Option(
            help="SQLite file to write. One an earlier demo wrote is replaced; any other "
            "existing file only with --force."
        ),
    ] = Path("tipoff-demo.db"),
    force: Annotated[
        bool, typer.Option("--force", help="Replace --database even if the demo did not write it.")
    ] = False,
) -> None:
    """Replay the bundled sample history into a fresh SQLite file; never posts to Slack.

    The history goes through the real ingest API; then every account is rescored and the
    alerts and the top accounts are printed."""
    from tipoff.demo.files import replace_sample_database
    from tipoff.demo.run import run_demo
    from tipoff.model import ModelFileError

    base = load_settings()
    try:
        replace_sample_database(database, force=force)
    except TipoffError as error:
        raise fail(error.message) from None
    # The demo's alerts are samples: they print to the console even where Slack is set up.
    settings = base.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{database}",
            "slack_bot_token": None,
            "slack_signing_secret": None,
            "slack_app_token": None,
        }
    )
    import asyncio

    try:
        report = asyncio.run(run_demo(settings, out))
    except ModelFileError as error:
        raise fail(str(error), code=2) from None
    tracks = ", ".join(f"{count} {track}" for track, count in sorted(report.summary.tracks.items()))
    out.print(
        f"Scored {plural(report.summary.scored, 'account')} ({tracks});"
        f" {plural(report.summary.alerts_queued, 'alert')} queued."
    )
    out.print(top_table(report.top))
    example = report.top[0].account.domain if report.top else "acme.com"
    out.print(f"The demo database is {database}. Look around with, e.g.:")
    out.print(f"  DATABASE_URL=sqlite:///{database} {program()} score {example}")


def quality_demo(
    database: Annotated[
        Path,
        typer.Option(
            help="SQLite file to write. One an earlier demo wrote is replaced; any"
            " other existing file only with --force."
        ),
    ] = Path("tipoff-quality-demo.db"),
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace --database even if a demo did not write it."),
    ] = False,
) -> None:
    """Write a sample database to try report, backtest and calibrate on.

    It is the demo history extended with six months of synthetic accounts, outcomes,
    alerts and reps' verdicts."""
    from tipoff.demo.files import replace_sample_database
    from tipoff.demo.quality_sample import load_sample
    from tipoff.startup import build_runtime

    try:
        replace_sample_database(database, force=force)
    except TipoffError as error:
        raise fail(error.message) from None
    settings = load_settings().model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{database}"}
    )

    async def work() -> str:
        runtime = await build_runtime(settings)
        try:
            summary = await load_sample(runtime.db, runtime.model, now=runtime.clock())
        finally:
            await runtime.close()
        return (
            f"Wrote {database}: {plural(summary.accounts, 'account')},"
            f" {plural(summary.events, 'signal')}, {summary.conversions} converted,"
            f" {plural(summary.alerts, 'alert')}, {plural(summary.verdicts, 'verdict')}."
        )

    out.print(run_command(work()))
    out.print(f"Try: DATABASE_URL=sqlite:///{database} {program()} report --since 180d")
