"""`tipoff model`: check a model file, put it live, see which went live when."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tipoff.cli.common import err, load_model_file, load_settings, out, run_command, with_runtime
from tipoff.core.evidence import plural
from tipoff.terminal import program, styled

if TYPE_CHECKING:
    from tipoff.runtime import Runtime
    from tipoff.scores import rescoring
    from tipoff.store.model_changes import ModelChange

app = typer.Typer(
    help="The scoring model file: check it, put it live, see its history.", no_args_is_help=True
)


@app.command("check")
def model_check(path: Annotated[Path, typer.Argument(help="The model YAML file.")]) -> None:
    """Validate a model file and list every mistake with its line."""
    model = load_model_file(path)
    out.print(
        f"{path}: OK — model '{model.name}', {plural(len(model.fit), 'fit rule')},"
        f" {plural(len(model.signals), 'signal rule')}."
    )


@app.command("apply")
def model_apply(
    path: Annotated[Path, typer.Argument(help="The model YAML to put live.")],
    by: Annotated[
        str | None, typer.Option(help="Who is changing it (default: your OS user).")
    ] = None,
) -> None:
    """Check a model file, put it live and rescore every account under it now.

    The change is logged (who, when, the file's text). Point TIPOFF_MODEL at the file
    so `tipoff serve` keeps it."""
    from tipoff.quality import changes
    from tipoff.scores import rescoring
    from tipoff.startup import build_runtime

    load_model_file(path)  # checked first: a broken file changes nothing
    settings = load_settings().model_copy(update={"model_path": path})

    async def work() -> tuple[list[ModelChange], rescoring.RescoreSummary]:
        runtime = await build_runtime(settings, changed_by=by)
        try:
            summary = await rescoring.rescore(runtime, everything=True)
            return await changes.model_history(runtime.db, limit=1), summary
        finally:
            await runtime.close()

    (latest,), summary = run_command(work())
    out.print(
        f"Model '{latest.model_name}' (sha256 {latest.content_hash[:12]}) is live since "
        f"{latest.changed_at:%Y-%m-%d %H:%M} UTC, by {latest.changed_by}."
    )
    out.print(
        f"Rescored {plural(summary.scored, 'account')};"
        f" queued {plural(summary.alerts_queued, 'alert')}."
    )
    configured = load_settings().model_path
    if configured is None or configured.resolve() != path.resolve():
        # Every tipoff process scores with TIPOFF_MODEL; one started with another
        # model logs that one back as the live model.
        err.print(
            styled(
                (f"TIPOFF_MODEL does not point at {path}:", "yellow"),
                f" set it (in .env) before restarting `{program()} serve`, or the server"
                " will put its model back.",
            )
        )


@app.command("history")
def model_history_command(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many changes.")] = 20,
) -> None:
    """Which models went live, when, and who changed them."""
    from rich.table import Table

    from tipoff.quality import changes

    async def work(rt: Runtime) -> list[ModelChange]:
        return await changes.model_history(rt.db, limit=limit)

    table = Table(title="Model changes (newest first)")
    for column in ("When (UTC)", "Model", "SHA-256", "By"):
        table.add_column(column)
    for change in with_runtime(work):
        table.add_row(
            f"{change.changed_at:%Y-%m-%d %H:%M}",
            change.model_name,
            change.content_hash[:12],
            change.changed_by,
        )
    out.print(table)
