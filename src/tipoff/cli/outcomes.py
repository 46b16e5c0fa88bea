"""`tipoff outcomes`: deal outcomes from a CRM's export."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tipoff.cli.common import out
from tipoff.cli.file_import import ImportProgress, import_summary, run_file_import
from tipoff.core.evidence import plural
from tipoff.names import CRM_IMPORT_SOURCE

if TYPE_CHECKING:
    from tipoff.ingest.csvfile import CheckedFile
    from tipoff.model import ScoringModel
    from tipoff.quality import outcomes
    from tipoff.runtime import Runtime

app = typer.Typer(help="Deal outcomes from your CRM.", no_args_is_help=True)


@app.command("import")
def outcomes_import(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV: domain, outcome or deal stage, date[, created_date, opportunity_id, "
            "amount]; a HubSpot or Salesforce deal export as it is."
        ),
    ],
    source: Annotated[
        str, typer.Option(help="The source the outcomes are stored under.")
    ] = CRM_IMPORT_SOURCE,
) -> None:
    """Import opportunities opened and deals won or lost from a CSV file.

    Every row is checked first; one bad row and nothing is imported. Deal
    stages read as Closed Won, Closed Lost or open (an opportunity). A domain
    Tipoff has not seen yet becomes a new account."""
    from tipoff.quality import outcomes
    from tipoff.sources import valid_name

    async def check(
        model: ScoringModel, now: datetime, progress: ImportProgress
    ) -> tuple[CheckedFile, datetime]:
        valid_name(source)
        return await outcomes.check_outcomes(path, now=now, progress=progress), now

    async def write(
        rt: Runtime, checked: tuple[CheckedFile, datetime], progress: ImportProgress
    ) -> outcomes.OutcomeImport:
        file, now = checked
        async with rt.db.transaction() as conn:
            return await outcomes.import_outcomes(
                conn,
                file,
                source_name=source,
                event_names=rt.model.event_name_map(source),
                now=now,
                progress=progress,
            )

    done = run_file_import(path, "Importing outcomes", check, write)
    new = done.new_accounts
    out.print(
        import_summary(done.result, "outcome")
        + (
            f" {plural(new, 'account', grouped=True)} new to Tipoff"
            f" {'were' if new != 1 else 'was'} created by domain."
            if new
            else ""
        )
    )
