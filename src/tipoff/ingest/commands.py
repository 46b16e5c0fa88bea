"""CLI commands that import files: `tipoff signals import`, and the file-import edge that
`tipoff outcomes import` shares with it (a progress bar, one summary line)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, Progress, TextColumn

from tipoff.errors import TipoffError
from tipoff.ingest import signals_csv
from tipoff.ingest.csvfile import ImportResult
from tipoff.model import ModelFileError, ScoringModel
from tipoff.runtime import Runtime, configured_model, utc_now
from tipoff.sources import valid_name

C = TypeVar("C")
T = TypeVar("T")

ImportProgress = Callable[[int, int], None]

signals_app = typer.Typer(help="Signals from files: backfill history.", no_args_is_help=True)


def run_file_import(
    path: Path,
    label: str,
    check: Callable[[ScoringModel, datetime, ImportProgress], Coroutine[Any, Any, C]],
    write: Callable[[Runtime, C, ImportProgress], Awaitable[T]],
) -> T:
    """Imports `path` with a progress bar on stderr (quiet when stderr is not a terminal).

    `check` reads the whole file with the model and the time, and opens no database; only
    a file it finds clean is given to `write`, with the runtime (a new SQLite database is
    created then). So a missing or bad file is a one-line error (exit 1) that neither
    changes a database nor leaves a new, empty one behind."""
    from tipoff.cli import err, load_settings, with_runtime

    if not path.is_file():
        err.print(f"{path}: no such file", style="red", markup=False, highlight=False)
        raise typer.Exit(1)
    settings = load_settings()
    try:
        model = configured_model(settings)
    except ModelFileError as error:
        err.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None

    columns = (TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            checked = asyncio.run(check(model, utc_now(), progress))
        except TipoffError as error:
            err.print(error.message, style="red", markup=False, highlight=False)
            raise typer.Exit(1) from None
        return with_runtime(lambda rt: write(rt, checked, progress), create=True)


def import_summary(result: ImportResult, what: str) -> str:
    return (
        f"Imported {result.imported:,} {what}(s) from {result.rows:,} row(s)"
        + (f"; {result.duplicates:,} already imported" if result.duplicates else "")
        + "."
    )


@signals_app.command("import")
def signals_import(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV: email and/or user_id, event, timestamp[, domain, name, title, …]; "
            "other columns become event properties."
        ),
    ],
    source: Annotated[
        str,
        typer.Option(
            help="The source the signals are stored under; re-imports de-duplicate within it."
        ),
    ] = signals_csv.DEFAULT_SOURCE,
) -> None:
    """Backfill signals from a CSV file (a HubSpot or Marketo export, a warehouse query).

    Rows go through the same identity and de-duplication as the HTTP API:
    importing a file twice adds nothing. Every row is checked first; one bad
    row and nothing is imported. Times without an offset are UTC; a date
    alone is midnight UTC."""
    from tipoff.cli import err, out

    async def check(
        model: ScoringModel, now: datetime, progress: ImportProgress
    ) -> signals_csv.CheckedSignals:
        valid_name(source)
        return await signals_csv.check_signals(
            path, event_names=model.event_name_map(source), now=now, progress=progress
        )

    async def write(
        rt: Runtime, checked: signals_csv.CheckedSignals, progress: ImportProgress
    ) -> tuple[ImportResult, list[tuple[str, int]]]:
        done = await signals_csv.import_signals(
            rt.db,
            checked,
            source_name=source,
            event_names=rt.model.event_name_map(source),
            progress=progress,
        )
        return done, signals_csv.unscored_events(checked.events, rt.model.events)

    done, unscored = run_file_import(path, "Importing signals", check, write)
    out.print(import_summary(done, "signal"), markup=False, highlight=False)
    if unscored:
        shown = ", ".join(
            f"{name!r} ({rows:,} row{'s' * (rows != 1)})" for name, rows in unscored[:10]
        )
        more = f" and {len(unscored) - 10} more" if len(unscored) > 10 else ""
        err.print(
            f"[yellow]{len(unscored)} event name(s) are not in the model, so they score "
            f"nothing:[/yellow] {shown}{more}. They are stored: list them under `events` "
            "in the model file to score them.",
            highlight=False,
        )
    if done.imported:
        out.print("Accounts are rescored by `tipoff serve`, or now by `tipoff rescore`.")


def register(app: typer.Typer) -> None:
    """Adds `tipoff signals` to the `tipoff` CLI."""
    app.add_typer(signals_app, name="signals")
