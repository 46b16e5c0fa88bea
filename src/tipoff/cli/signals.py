"""`tipoff signals`: signals from files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tipoff.cli.common import err, first_of, out
from tipoff.cli.file_import import ImportProgress, import_summary, run_file_import
from tipoff.core.evidence import plural
from tipoff.names import CSV_IMPORT_SOURCE
from tipoff.terminal import program, styled

if TYPE_CHECKING:
    from tipoff.ingest import signals_csv
    from tipoff.ingest.csvfile import ImportResult
    from tipoff.model import ScoringModel
    from tipoff.runtime import Runtime

app = typer.Typer(help="Signals from files: backfill history.", no_args_is_help=True)


@app.command("import")
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
        shown = first_of(
            [f"{name!r} ({plural(rows, 'row', grouped=True)})" for name, rows in unscored], 10
        )
        several = len(unscored) != 1
        err.print(
            styled(
                (
                    f"{plural(len(unscored), 'event name')} {'are' if several else 'is'} not"
                    f" in the model, so {'they score' if several else 'it scores'} nothing:",
                    "yellow",
                ),
                f" {shown}. {'They are' if several else 'It is'} stored: list"
                f" {'them' if several else 'it'} under `events` in the model file to score"
                f" {'them' if several else 'it'}.",
            )
        )
    if done.imported:
        tipoff = program()
        out.print(f"Accounts are rescored by `{tipoff} serve`, or now by `{tipoff} rescore`.")
