"""CLI commands that import files: `tipoff signals import`, and the file-import edge that
`tipoff outcomes import` shares with it (a progress bar, one summary line). Services are
imported by the commands that call them (see `tipoff.cli`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tipoff.core.evidence import plural
from tipoff.names import CSV_IMPORT_SOURCE
from tipoff.terminal import program, styled

if TYPE_CHECKING:
    from tipoff.ingest import signals_csv
    from tipoff.ingest.csvfile import ImportResult
    from tipoff.model import ScoringModel
    from tipoff.runtime import Runtime

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
    from rich.progress import BarColumn, Progress, TextColumn

    from tipoff.cli import err, fail, load_settings, with_runtime
    from tipoff.errors import TipoffError
    from tipoff.model import ModelFileError
    from tipoff.runtime import configured_model, utc_now

    if not path.is_file():
        raise fail(f"{path}: no such file")
    settings = load_settings()
    try:
        model = configured_model(settings)
    except ModelFileError as error:
        raise fail(str(error), code=2) from None

    columns = (TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            checked = asyncio.run(check(model, utc_now(), progress))
        except TipoffError as error:
            raise fail(error.message) from None
        return with_runtime(lambda rt: write(rt, checked, progress), create=True)


def import_summary(result: ImportResult, what: str) -> str:
    return (
        f"Imported {plural(result.imported, what, grouped=True)}"
        f" from {plural(result.rows, 'row', grouped=True)}"
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
    ] = CSV_IMPORT_SOURCE,
) -> None:
    """Backfill signals from a CSV file (a HubSpot or Marketo export, a warehouse query).

    Rows go through the same identity and de-duplication as the HTTP API:
    importing a file twice adds nothing. Every row is checked first; one bad
    row and nothing is imported. Times without an offset are UTC; a date
    alone is midnight UTC."""
    from tipoff.cli import err, out
    from tipoff.ingest import signals_csv
    from tipoff.sources import valid_name

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
    out.print(import_summary(done, "signal"))
    if unscored:
        shown = ", ".join(
            f"{name!r} ({plural(rows, 'row', grouped=True)})" for name, rows in unscored[:10]
        )
        more = f" and {len(unscored) - 10} more" if len(unscored) > 10 else ""
        several = len(unscored) != 1
        err.print(
            styled(
                (
                    f"{plural(len(unscored), 'event name')} {'are' if several else 'is'} not"
                    f" in the model, so {'they score' if several else 'it scores'} nothing:",
                    "yellow",
                ),
                f" {shown}{more}. {'They are' if several else 'It is'} stored: list"
                f" {'them' if several else 'it'} under `events` in the model file to score"
                f" {'them' if several else 'it'}.",
            )
        )
    if done.imported:
        tipoff = program()
        out.print(f"Accounts are rescored by `{tipoff} serve`, or now by `{tipoff} rescore`.")


def register(app: typer.Typer) -> None:
    """Adds `tipoff signals` to the `tipoff` CLI."""
    app.add_typer(signals_app, name="signals")
