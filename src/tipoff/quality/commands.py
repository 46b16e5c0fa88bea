"""CLI commands of the quality loop: report, backtest, calibrate, outcomes import, model
apply/history, and a sample database to try them on. Services are imported by the
commands that call them (see `tipoff.cli`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tipoff.core.evidence import plural
from tipoff.names import CRM_IMPORT_SOURCE
from tipoff.terminal import Terminal, program, styled

if TYPE_CHECKING:
    from tipoff.ingest.commands import ImportProgress
    from tipoff.ingest.csvfile import CheckedFile
    from tipoff.model import ScoringModel
    from tipoff.quality import backtest as backtests
    from tipoff.quality import calibrate as calibration
    from tipoff.quality import changes, dataset, report
    from tipoff.runtime import Runtime

T = TypeVar("T")

DEFAULT_SINCE = "90d"
SinceOption = Annotated[
    str,
    typer.Option(help="Start of the period: a date (2026-09-01) or days back (90d)."),
]
DaysOption = Annotated[
    int, typer.Option(min=1, max=365, help="Conversion window: opportunity within N days.")
]

outcomes_app = typer.Typer(help="Deal outcomes from your CRM.", no_args_is_help=True)


def parse_since(text: str, now: datetime) -> datetime:
    text = text.strip()
    if match := re.fullmatch(r"(\d+)d", text):
        return now - timedelta(days=int(match.group(1)))
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a date (2026-09-01) nor days back (90d)", param_hint="--since"
        ) from None
    return day.replace(tzinfo=UTC)


def _console() -> tuple[Terminal, Terminal]:
    from tipoff.cli import err, out

    return out, err


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    _, err = _console()
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


async def _load(runtime: Runtime, since: datetime) -> dataset.QualityData:
    from tipoff.quality import dataset

    async with runtime.db.transaction() as conn:
        return await dataset.load(
            conn, since=since, lookback=timedelta(days=runtime.model.lookback_days)
        )


def _load_candidate(path: Path) -> ScoringModel:
    from tipoff.model import ModelFileError, load_model

    _, err = _console()
    try:
        return load_model(path)
    except ModelFileError as error:
        err.print(f"{path}: {plural(len(error.problems), 'problem')}", style="red")
        for problem in error.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None


def print_report(result: report.Report, console: Terminal) -> None:
    from tipoff.quality import report

    console.print(
        styled(
            (f"Model quality since {result.since:%Y-%m-%d}", "bold"),
            f" (model '{result.model_name}', as of {result.now:%Y-%m-%d %H:%M} UTC)",
        )
    )
    for title, lines in report.report_sections(result):
        console.print(f"\n{title}", style="bold")
        for line in lines:
            console.print(f"  {line}")


def print_backtest(result: backtests.Backtest, console: Terminal) -> None:
    from rich.table import Table

    from tipoff.quality import backtest as backtests

    table = Table(
        title=f"Backtest {result.since:%Y-%m-%d} → {result.now:%Y-%m-%d} (replayed daily)"
    )
    table.add_column("")
    table.add_column("current")
    table.add_column("candidate")
    for row in backtests.comparison_rows(result):
        table.add_row(*row)
    console.print(table)
    for title, ids in (
        ("Alerted only by the candidate", result.entering),
        ("Alerted only by the current model", result.leaving),
    ):
        names = ", ".join(result.labels[i] for i in ids) or "none"
        console.print(f"{title} ({len(ids)}): {names}")


def run_command(work: Coroutine[Any, Any, T]) -> T:
    """Runs a command's own `work` (one that opens its Runtime itself), with a
    TipoffError as one line and exit 1, as `cli.with_runtime` does."""
    from tipoff.cli import fail
    from tipoff.errors import TipoffError

    try:
        return asyncio.run(work)
    except TipoffError as error:
        raise fail(error.message) from None


def with_connection(work: Callable[[Runtime], Awaitable[T]], *, create: bool = False) -> T:
    """`cli.with_runtime`, imported when called: the CLI imports this module."""
    from tipoff.cli import with_runtime

    return with_runtime(work, create=create)


def register(app: typer.Typer, model_app: typer.Typer) -> None:
    """Adds the quality commands to the `tipoff` CLI (`model_app` is its `model` group)."""
    from tipoff.cli import load_settings

    @app.command("report")
    def report_command(since: SinceOption = DEFAULT_SINCE, days: DaysOption = 30) -> None:
        """How the model has done: alerts, precision from Right/Wrong, lift, time to claim."""
        from tipoff.quality import report

        async def work(rt: Runtime) -> report.Report:
            now = rt.clock()
            start = parse_since(since, now)
            data = await _load(rt, start)
            return report.build_report(data, rt.model, since=start, now=now, days=days)

        out, _ = _console()
        print_report(with_connection(work), out)

    @app.command("backtest")
    def backtest_command(
        model: Annotated[Path, typer.Option("--model", help="The candidate model YAML.")],
        since: SinceOption = DEFAULT_SINCE,
        days: DaysOption = 30,
    ) -> None:
        """Compare a candidate model with the current one on stored history.

        History is replayed day by day under both models, side by side. Writes nothing
        and sends nothing."""
        from tipoff.quality import backtest as backtests

        candidate = _load_candidate(model)

        async def work(rt: Runtime) -> backtests.Backtest:
            now = rt.clock()
            start = parse_since(since, now)
            data = await _load(rt, start)
            with _progress("Replaying", 2 * len(data.histories)) as advance:
                return backtests.backtest(
                    data, rt.model, candidate, since=start, now=now, days=days, advance=advance
                )

        out, _ = _console()
        print_backtest(with_connection(work), out)

    @app.command("calibrate")
    def calibrate_command(
        out_path: Annotated[Path, typer.Option("--out", help="Where to write the candidate.")],
        since: Annotated[
            str, typer.Option(help="Start of the data used: a date or days back.")
        ] = "180d",
        holdout_days: Annotated[
            int,
            typer.Option(min=7, help="The most recent days, kept out of the fit to test it on."),
        ] = 90,
        days: DaysOption = 30,
    ) -> None:
        """Fit the rules' points to outcomes and feedback into a candidate model file.

        The candidate is then backtested against the current model on held-out time."""
        from rich.table import Table

        from tipoff.quality import backtest as backtests
        from tipoff.quality import calibrate as calibration
        from tipoff.quality import changes

        out, err = _console()
        settings = load_settings()
        try:
            import scipy  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
        except ImportError:
            err.print(
                styled(
                    ("Calibration needs the optional statistics libraries:", "red"),
                    " pip install 'tipoff[calibrate]'",
                )
            )
            raise typer.Exit(2) from None

        async def work(
            rt: Runtime,
        ) -> tuple[str, backtests.Backtest, calibration.Fit, list[calibration.Ranking]]:
            now = rt.clock()
            start = parse_since(since, now)
            split = now - timedelta(days=holdout_days)
            if split - timedelta(days=days) <= start:
                raise calibration.TooLittleData(0, 0, split)
            data = await _load(rt, start)
            found = calibration.examples(data, rt.model, start=start, until=split, days=days)
            fitted = calibration.fit(rt.model, found, until=split)
            text = calibration.candidate_text(
                changes.model_text(settings.model_path),
                rt.model,
                fitted.points,
                name=f"{rt.model.name}-calibrated-{now:%Y%m%d}"[:100],
            )
            candidate = load_model_text(text)
            with _progress("Backtesting on held-out time", 2 * len(data.histories)) as advance:
                result = backtests.backtest(
                    data, rt.model, candidate, since=split, now=now, days=days, advance=advance
                )
            ranks = [
                calibration.ranking(data, m, start=split, until=now, days=days)
                for m in (rt.model, candidate)
            ]
            return text, result, fitted, ranks

        text, result, fitted, ranks = with_connection(work)
        out_path.write_text(text, encoding="utf-8")
        out.print(
            f"Fitted on {plural(fitted.examples, 'labelled moment')} ({fitted.positives}"
            f" converted or Right) before {result.since:%Y-%m-%d}; wrote {out_path}."
        )
        table = Table(title="New points (same rules)")
        for column in ("rule", "current", "candidate"):
            table.add_column(column)
        current = calibration.rule_points(load_current_model(settings.model_path))
        for rule, points in fitted.points.items():
            table.add_row(rule, f"{current[rule]:+g}", f"{points:+g}")
        out.print(table)
        out.print("Held-out time (not used by the fit):")
        print_backtest(result, out)
        out.print(
            f"Ranking of held-out account-days by conversion (AUC; 0.5 is a coin toss): "
            f"current {ranks[0].auc:.3f}, candidate {ranks[1].auc:.3f} "
            f"({ranks[0].positives} converted, {ranks[0].negatives} not)"
        )
        tipoff = program()
        out.print(
            f"Check it with `{tipoff} model check {out_path}`; put it live with"
            f" `{tipoff} model apply {out_path}`."
        )

    @outcomes_app.command("import")
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
        from tipoff.ingest.commands import import_summary, run_file_import
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
        out, _ = _console()
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

    app.add_typer(outcomes_app, name="outcomes")

    @model_app.command("apply")
    def model_apply(
        path: Annotated[Path, typer.Argument(help="The model YAML to put live.")],
        by: Annotated[
            str | None, typer.Option(help="Who is changing it (default: your OS user).")
        ] = None,
    ) -> None:
        """Check a model file, put it live and rescore every account under it now.

        The change is logged (who, when, the file's text). Point TIPOFF_MODEL at the file
        so `tipoff serve` keeps it."""
        from tipoff import rescoring
        from tipoff.quality import changes
        from tipoff.runtime import Runtime

        _load_candidate(path)  # checked first: a broken file changes nothing
        settings = load_settings().model_copy(update={"model_path": path})

        async def work() -> tuple[list[changes.ModelChange], rescoring.RescoreSummary]:
            runtime = await Runtime.open(settings, changed_by=by)
            try:
                summary = await rescoring.rescore(runtime, everything=True)
                return await changes.model_history(runtime.db, limit=1), summary
            finally:
                await runtime.close()

        (latest,), summary = run_command(work())
        out, err = _console()
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

    @model_app.command("history")
    def model_history_command(
        limit: Annotated[int, typer.Option(min=1, max=500, help="How many changes.")] = 20,
    ) -> None:
        """Which models went live, when, and who changed them."""
        from rich.table import Table

        from tipoff.quality import changes

        async def work(rt: Runtime) -> list[changes.ModelChange]:
            return await changes.model_history(rt.db, limit=limit)

        out, _ = _console()
        table = Table(title="Model changes (newest first)")
        for column in ("When (UTC)", "Model", "SHA-256", "By"):
            table.add_column(column)
        for change in with_connection(work):
            table.add_row(
                f"{change.changed_at:%Y-%m-%d %H:%M}",
                change.model_name,
                change.content_hash[:12],
                change.changed_by,
            )
        out.print(table)

    @app.command("quality-demo")
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
        from tipoff.cli import fail
        from tipoff.demo.files import replace_sample_database
        from tipoff.errors import TipoffError
        from tipoff.quality.sample import load_sample
        from tipoff.runtime import Runtime

        try:
            replace_sample_database(database, force=force)
        except TipoffError as error:
            raise fail(error.message) from None
        settings = load_settings().model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{database}"}
        )

        async def work() -> str:
            runtime = await Runtime.open(settings)
            try:
                summary = await load_sample(runtime.db, runtime.model, now=runtime.clock())
            finally:
                await runtime.close()
            return (
                f"Wrote {database}: {plural(summary.accounts, 'account')},"
                f" {plural(summary.events, 'signal')}, {summary.conversions} converted,"
                f" {plural(summary.alerts, 'alert')}, {plural(summary.verdicts, 'verdict')}."
            )

        out, _ = _console()
        out.print(run_command(work()))
        out.print(f"Try: DATABASE_URL=sqlite:///{database} {program()} report --since 180d")


def load_model_text(text: str) -> ScoringModel:
    from tipoff.model.loader import parse_model

    return parse_model(text, source="candidate model")


def load_current_model(path: Path | None) -> ScoringModel:
    from tipoff.model import load_default_model, load_model

    return load_model(path) if path else load_default_model()
