"""`tipoff report`, `backtest` and `calibrate`: how the model has done, and a better one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tipoff.cli.common import (
    err,
    fail,
    first_of,
    load_model_file,
    load_settings,
    out,
    with_runtime,
)
from tipoff.core.evidence import plural
from tipoff.terminal import Terminal, program, styled

if TYPE_CHECKING:
    from tipoff.model import ScoringModel
    from tipoff.quality import backtest as backtests
    from tipoff.quality import calibrate as calibration
    from tipoff.quality import dataset, report
    from tipoff.runtime import Runtime

DEFAULT_SINCE = "90d"
# Names printed of the accounts only one model alerts: on a large account base a backtest
# can move thousands, and one line of them all is unreadable.
BACKTEST_NAMES_SHOWN = 20
SinceOption = Annotated[
    str,
    typer.Option(help="Start of the period: a date (2026-09-01) or days back (90d)."),
]
DaysOption = Annotated[
    int, typer.Option(min=1, max=365, help="Conversion window: opportunity within N days.")
]
HtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--html",
        help="Also write the review as one HTML page with charts, to this file"
        " (needs the charts extra).",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Review as of a past moment instead of now: a date (2026-12-01, midnight UTC)"
        " or a UTC time (2026-12-01T12:00). The same database and --as-of give the same"
        " figures and the same --html page.",
    ),
]
CHARTS_MISSING = "Charts need the optional plotting library:"
CHARTS_INSTALL = " pip install 'tipoff[charts]'"


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


def parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a date (2026-12-01) nor a time (2026-12-01T12:00)",
            param_hint="--as-of",
        ) from None
    if moment.tzinfo is not None and moment.utcoffset():
        raise typer.BadParameter(
            f"{text!r}: give the time in UTC, without an offset", param_hint="--as-of"
        )
    return moment.replace(tzinfo=UTC)


def _check_charts(html: Path | None) -> None:
    """With --html, refuses before reading anything when matplotlib is not installed or
    the page could not be written there."""
    if html is None:
        return
    if html.is_dir() or not html.parent.is_dir():
        raise fail(f"--html {html}: not a file in an existing directory", code=2)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        err.print(styled((CHARTS_MISSING, "red"), CHARTS_INSTALL))
        raise typer.Exit(2) from None


def _write_page(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as error:
        raise fail(f"Could not write {path}: {error.strerror or error}") from None
    err.print(f"Wrote {path} ({len(text.encode()) // 1024 + 1} KB).")


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


async def _load(runtime: Runtime, since: datetime, now: datetime) -> dataset.QualityData:
    """What was stored from `since` (and the lookback before it) up to `now`."""
    from tipoff.quality import dataset

    async with runtime.db.transaction() as conn:
        data = await dataset.load(
            conn, since=since, lookback=timedelta(days=runtime.model.lookback_days)
        )
    return data.as_of(now)


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
    for title, names in result.moved():
        shown = first_of(names, BACKTEST_NAMES_SHOWN) or "none"
        whole = " (--html lists them all)" if len(names) > BACKTEST_NAMES_SHOWN else ""
        console.print(f"{title} ({len(names):,}): {shown}{whole}")


def report_command(
    since: SinceOption = DEFAULT_SINCE,
    days: DaysOption = 30,
    html: HtmlOption = None,
    as_of: AsOfOption = None,
) -> None:
    """How the model has done: alerts, precision from Right/Wrong, lift, time to claim."""
    from tipoff.quality import report

    moment = parse_as_of(as_of)
    _check_charts(html)

    async def work(rt: Runtime) -> tuple[report.Report, str | None]:
        now = moment or rt.clock()
        start = parse_since(since, now)
        data = await _load(rt, start, now)
        result = report.build_report(data, rt.model, since=start, now=now, days=days)
        if html is None:
            return result, None
        from tipoff.quality.review_page import report_page

        return result, report_page(result, data, rt.model, days=days)

    result, page = with_runtime(work)
    print_report(result, out)
    if html is not None and page is not None:
        _write_page(html, page)


def backtest_command(
    model: Annotated[Path, typer.Option("--model", help="The candidate model YAML.")],
    since: SinceOption = DEFAULT_SINCE,
    days: DaysOption = 30,
    html: HtmlOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Compare a candidate model with the current one on stored history.

    History is replayed day by day under both models, side by side. Writes nothing
    and sends nothing."""
    from tipoff.quality import backtest as backtests

    moment = parse_as_of(as_of)
    candidate = load_model_file(model)
    _check_charts(html)

    async def work(rt: Runtime) -> tuple[backtests.Backtest, str | None]:
        now = moment or rt.clock()
        start = parse_since(since, now)
        data = await _load(rt, start, now)
        with _progress("Replaying", 2 * len(data.histories)) as advance:
            result = backtests.backtest(
                data, rt.model, candidate, since=start, now=now, days=days, advance=advance
            )
        if html is None:
            return result, None
        from tipoff.quality.review_page import backtest_page

        return result, backtest_page(result, data, rt.model, candidate, days=days)

    result, page = with_runtime(work)
    print_backtest(result, out)
    if html is not None and page is not None:
        _write_page(html, page)


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
    html: HtmlOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Fit the rules' points to outcomes and feedback into a candidate model file.

    The candidate is then backtested against the current model on held-out time."""
    from rich.table import Table

    from tipoff.quality import backtest as backtests
    from tipoff.quality import calibrate as calibration
    from tipoff.quality import changes

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
    moment = parse_as_of(as_of)
    _check_charts(html)

    async def work(
        rt: Runtime,
    ) -> tuple[str, backtests.Backtest, calibration.Fit, list[calibration.Ranking], str | None]:
        now = moment or rt.clock()
        start = parse_since(since, now)
        split = now - timedelta(days=holdout_days)
        if split - timedelta(days=days) <= start:
            raise calibration.TooLittleData(0, 0, split)
        data = await _load(rt, start, now)
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
        if html is None:
            return text, result, fitted, ranks, None
        from tipoff.quality import review
        from tipoff.quality.review_page import calibrate_page

        held_out = calibration.examples(
            data, rt.model, start=split, until=now, days=days, verdicts=False
        )
        page = calibrate_page(
            result, data, rt.model, candidate, fitted=fitted,
            held_out=review.calibration(fitted, held_out), ranks=ranks, days=days,
        )  # fmt: skip
        return text, result, fitted, ranks, page

    text, result, fitted, ranks, page = with_runtime(work)
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
    if html is not None and page is not None:
        _write_page(html, page)
    tipoff = program()
    out.print(
        f"Check it with `{tipoff} model check {out_path}`; put it live with"
        f" `{tipoff} model apply {out_path}`."
    )


def load_model_text(text: str) -> ScoringModel:
    from tipoff.model.loader import parse_model

    return parse_model(text, source="candidate model")


def load_current_model(path: Path | None) -> ScoringModel:
    from tipoff.model import load_default_model, load_model

    return load_model(path) if path else load_default_model()
