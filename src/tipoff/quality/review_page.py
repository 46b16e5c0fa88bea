"""`--html FILE` on `tipoff report`, `backtest` and `calibrate`: the review as one page.

One self-contained HTML file: inline SVG charts (`charts.py`), a small inline style
sheet, no script, nothing loaded from anywhere. Each chart is a `<figure>` with its
caption, an accessible name and description in the SVG, and under it the numbers it
draws as a table, written as the text output writes them. Every string from the data
(account, rule, track and model names, reasons) is escaped: it is shown, never read as
markup. The page depends only on its inputs, so one `--as-of` gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from matplotlib.figure import Figure

from tipoff.core.evidence import plural
from tipoff.core.scoring_model import ScoringModel
from tipoff.quality import charts, review
from tipoff.quality.backtest import Backtest, Side
from tipoff.quality.calibrate import Fit, Ranking
from tipoff.quality.charts import Row
from tipoff.quality.conversion import Conversion, outcomes
from tipoff.quality.dataset import QualityData
from tipoff.quality.report import Report, first_alerts, report_sections
from tipoff.quality.stats import Proportion

STYLE = """
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{max-width:52rem;margin:0 auto;padding:1rem;color:#111827;line-height:1.45}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.15rem;margin-top:2rem}
figure{margin:1.5rem 0;break-inside:avoid;page-break-inside:avoid}
figcaption{font-weight:600;margin-bottom:.4rem}
figure svg{display:block;max-width:100%;height:auto}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;max-width:100%}
.wide{display:block;overflow-x:auto}
th,td{border-bottom:1px solid #e5e7eb;padding:.2rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#4b5563;font-size:.85rem}
ul{padding-left:1.2rem}
@media print{body{max-width:none;padding:0;font-size:10pt}h2{break-after:avoid}
 .wide{overflow:visible}}
"""


@dataclass(frozen=True, slots=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True, slots=True)
class Chart:
    key: str  # unique in the page: the SVG's ids are prefixed with it
    caption: str
    figure: Figure
    table: Table
    note: str = ""

    def html(self) -> str:
        description = "; ".join(", ".join(cell for cell in row if cell) for row in self.table.rows)
        drawn = charts.svg(self.figure, key=self.key, title=self.caption, description=description)
        note = f'<p class="note">{escape(self.note)}</p>' if self.note else ""
        return (
            f'<figure id="{self.key}">\n<figcaption>{escape(self.caption)}</figcaption>\n'
            f"{drawn}\n{note}{_table(self.table)}</figure>\n"
        )


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>\n"
        for row in table.rows
    )
    return f'<table class="wide"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n'


def page(
    *,
    title: str,
    facts: Sequence[tuple[str, str]],
    sections: Sequence[tuple[str, Sequence[Chart]]],
    text: Sequence[tuple[str, Sequence[str]]] = (),
    text_heading: str = "The text report",
) -> str:
    """The whole document. `text`: titled lists of lines under `text_heading`, as the
    terminal prints them (or, where it shows a list's first lines, whole)."""
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n<table>\n"
    ]
    parts += [f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>\n" for k, v in facts]
    parts.append("</table>\n")
    for heading, figures in sections:
        parts.append(f"<h2>{escape(heading)}</h2>\n")
        parts += [figure.html() for figure in figures]
    if text:
        parts.append(f"<h2>{escape(text_heading)}</h2>\n")
    for heading, lines in text:
        items = "".join(f"<li>{escape(line.strip())}</li>\n" for line in lines)
        parts.append(f"<h3>{escape(heading)}</h3>\n<ul>\n{items}</ul>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def _bands_chart(key: str, series: Sequence[tuple[str, review.Bands]], days: int) -> Chart:
    headers = ["score band"] + [f"{name}: converted" for name, _ in series]
    rows = [
        [band] + [bands.by_band[band].describe() for _, bands in series]
        for band in series[0][1].by_band
    ]
    rows.append(["all eligible (baseline)"] + [bands.overall.describe() for _, bands in series])
    return Chart(
        key,
        f"Conversion to opportunity within {days} days by score band, against the baseline",
        charts.bands_chart(series),
        Table(headers, rows),
        "Score when the account's clock started: its first alert, or its first signal in"
        " the period. Hollow bars: under 10 accounts, too few to tell.",
    )


def _conversion_rows(conv: Conversion, name: str, colour: str) -> list[Row]:
    base = conv.not_alerted.rate
    rows = [Row(f"{name}: alerted", conv.alerted, f"lift {conv.lift.describe()}", colour)]
    for track, p in conv.by_track.items():
        lift = f"{p.rate / base:.1f}×" if p.rate is not None and base else ""
        rows.append(Row(f"{name}: track {track}", p, lift and f"lift {lift}", colour))
    rows.append(Row(f"{name}: eligible, not alerted", conv.not_alerted, "", charts.BASELINE))
    return rows


def _conversion_chart(key: str, sides: Sequence[tuple[str, Conversion]]) -> Chart:
    rows = [
        row
        for i, (name, conv) in enumerate(sides)
        for row in _conversion_rows(conv, name, charts.SIDE_COLOURS[i % 2])
    ]
    days = sides[0][1].days
    left_out = "; ".join(
        f"{name}: {c.already_converted} already converted, {c.too_recent} too recent"
        for name, c in sides
    )
    return Chart(
        key,
        f"Converted within {days} days: alerted accounts against eligible ones not alerted,"
        " by track, with the lift and 95% Wilson intervals",
        charts.interval_chart(rows, xlabel=f"converted within {days} days"),
        Table(
            ["group", "converted", "lift"], [[r.label, r.value.describe(), r.note] for r in rows]
        ),
        f"Left out: {left_out}. A lift is clear only when the intervals do not overlap.",
    )


def _precision_chart(key: str, title: str, figures: dict[str, Proportion]) -> Chart:
    """Sorted by precision, those with too few answers last."""
    ordered = sorted(
        figures.items(),
        key=lambda item: (not item[1].enough, -(item[1].rate or 0.0), item[0]),
    )
    rows = [Row(name, p) for name, p in ordered]
    return Chart(
        key,
        title,
        charts.interval_chart(rows, xlabel="precision: Right / (Right + Wrong)"),
        Table(["", "precision"], [[name, p.describe()] for name, p in ordered] or [["none", ""]]),
        "Under 10 answers: too few to tell.",
    )


def _weekly_chart(key: str, series: Sequence[tuple[str, review.Weekly]]) -> Chart:
    weeks = series[0][1].weeks
    tracks = sorted({t for _, w in series for t in w.by_track})
    headers = ["week starting"] + [
        f"{track} ({name})" if len(series) > 1 else track for name, _ in series for track in tracks
    ]
    rows = [
        [f"{week:%Y-%m-%d}"]
        + [str(w.by_track.get(track, [0] * len(weeks))[i]) for _, w in series for track in tracks]
        for i, week in enumerate(weeks)
    ]
    return Chart(
        key,
        "Accounts alerted per track, week by week (drift, and the load on reps)",
        charts.weekly_chart(series),
        Table(headers, rows),
    )


def _decay_chart(key: str, models: Sequence[tuple[str, ScoringModel]]) -> Chart:
    curves = [(name, review.decay_curve(m)) for name, m in models]
    days = sorted({d for _, curve in curves for d, _ in curve if d % 14 == 0})
    rows = [
        [str(day)] + [f"{dict(curve).get(day, 0.0):.0%}" for _, curve in curves] for day in days
    ]
    settings = "; ".join(
        f"{name}: full for {m.decay.grace_days:g} days, then halving every"
        f" {m.decay.half_life_days:g} days, forgotten after {m.lookback_days:g}"
        for name, m in models
    )
    return Chart(
        key,
        "Decay: the share of a signal's points kept, by days since the signal",
        charts.decay_chart(curves),
        Table(["days since the signal"] + [f"{name}: kept" for name, _ in models], rows),
        settings + ".",
    )


def _bands(data: QualityData, model: ScoringModel, first: dict[int, tuple[datetime, str]],
           *, since: datetime, now: datetime, days: int) -> review.Bands:  # fmt: skip
    found = outcomes(data, model, alerted=first, since=since, now=now, days=days)
    return review.score_bands(data, model, found)


def _period(since: datetime, now: datetime) -> tuple[str, str]:
    return ("period", f"{since:%Y-%m-%d %H:%M} → {now:%Y-%m-%d %H:%M} UTC")


def report_page(result: Report, data: QualityData, model: ScoringModel, *, days: int) -> str:
    first = first_alerts(data)
    bands = _bands(data, model, first, since=result.since, now=result.now, days=days)
    alerts = [(a.account_id, a.created_at, a.track) for a in data.alerts]
    weekly = review.weekly_accounts(alerts, since=result.since, now=result.now)
    name = result.model_name
    return page(
        title=f"Model review: since {result.since:%Y-%m-%d}",
        facts=[
            ("model", result.model_name),
            _period(result.since, result.now),
            (
                "alerts",
                f"{sum(result.alerts_by_track.values())} for {result.alerted_accounts} accounts",
            ),
            ("precision", result.precision.describe()),
            ("lift", result.conversion.lift.describe()),
            ("time to claim", result.claims.describe()),
        ],
        sections=[
            (
                "Does the score rank accounts by conversion?",
                [
                    _bands_chart("bands", [(name, bands)], days),
                    _conversion_chart("conversion", [("model", result.conversion)]),
                ],
            ),
            (
                "What reps said",
                [
                    _precision_chart(
                        "precision-rule",
                        "Precision by rule (the rules that earned"
                        " points when the alert was queued)",
                        result.precision_by_rule,
                    ),
                    _precision_chart(
                        "precision-segment",
                        "Precision by size segment",
                        result.precision_by_segment,
                    ),
                ],
            ),
            (
                "Volume and decay",
                [
                    _weekly_chart("weekly", [(name, weekly)]),
                    _decay_chart("decay", [(name, model)]),
                ],
            ),
        ],
        text=report_sections(result),
    )


def _first(side: Side) -> dict[int, tuple[datetime, str]]:
    return {a.account_id: (a.at, a.track) for a in side.replay.first_alerts().values()}


def backtest_bands(
    result: Backtest,
    data: QualityData,
    current: ScoringModel,
    candidate: ScoringModel,
    *,
    days: int,
) -> tuple[review.Bands, review.Bands]:
    """Conversion by score band under each model, each scoring with its own points."""
    found = [
        _bands(data, model, _first(side), since=result.since, now=result.now, days=days)
        for model, side in ((current, result.current), (candidate, result.candidate))
    ]
    return found[0], found[1]


def backtest_sections(
    result: Backtest,
    data: QualityData,
    current: ScoringModel,
    candidate: ScoringModel,
    *,
    days: int,
) -> list[tuple[str, list[Chart]]]:
    names = ("current", "candidate")
    sides = (result.current, result.candidate)
    bands = list(
        zip(names, backtest_bands(result, data, current, candidate, days=days), strict=True)
    )
    either = _first(result.candidate) | _first(result.current)
    swap = review.swap_set(
        outcomes(data, current, alerted=either, since=result.since, now=result.now, days=days),
        current=result.current.alerted_accounts,
        candidate=result.candidate.alerted_accounts,
        volume={
            t: (
                result.current.alerts_by_track.get(t, 0),
                result.candidate.alerts_by_track.get(t, 0),
            )
            for t in set(result.current.alerts_by_track) | set(result.candidate.alerts_by_track)
        },
    )
    weekly = [
        (
            name,
            review.weekly_accounts(
                [(a.account_id, a.at, a.track) for a in side.replay.alerts],
                since=result.since,
                now=result.now,
            ),
        )
        for name, side in zip(names, sides, strict=True)
    ]
    swap_rows = [[label, p.describe()] for label, p in swap.groups()] + [
        [f"alerts, track {t}", f"current {c}, candidate {d} ({d - c:+d})"]
        for t, (c, d) in swap.volume.items()
    ]
    swap_chart = Chart(
        "swap",
        f"Who the candidate adds and drops: conversion within {days} days of accounts alerted"
        " by both models, by only one, by neither; and alerts per track under each",
        charts.swap_chart(swap, names),
        Table(["", ""], swap_rows),
        f"Only the candidate: {len(result.entering)} accounts; only the current model:"
        f" {len(result.leaving)}.",
    )
    return [
        ("Does the score rank accounts by conversion?", [
            _bands_chart("bands", bands, days),
            _conversion_chart("conversion", [(n, s.conversion) for n, s in zip(names, sides, strict=True)]),
        ]),
        ("What changes", [swap_chart, _weekly_chart("weekly", weekly)]),
        ("Decay", [_decay_chart("decay", [("current", current), ("candidate", candidate)])]),
    ]  # fmt: skip


def _backtest_facts(result: Backtest) -> list[tuple[str, str]]:
    from tipoff.quality.backtest import comparison_rows

    return [_period(result.since, result.now)] + [
        (label.strip(), f"current {cur} · candidate {cand}")
        for label, cur, cand in comparison_rows(result)
    ]


def backtest_page(
    result: Backtest,
    data: QualityData,
    current: ScoringModel,
    candidate: ScoringModel,
    *,
    days: int,
) -> str:
    return page(
        title=f"Backtest: {result.current.replay.model_name} against"
        f" {result.candidate.replay.model_name}",
        facts=_backtest_facts(result),
        sections=backtest_sections(result, data, current, candidate, days=days),
        text=_moved_accounts(result),
        text_heading=MOVED_HEADING,
    )


MOVED_HEADING = "Accounts only one model alerts"


def _moved_accounts(result: Backtest) -> list[tuple[str, list[str]]]:
    """Every account only one model alerts, by name, under the terminal's titles."""
    return [(f"{title} ({len(names):,})", names) for title, names in result.moved()]


def calibrate_page(
    result: Backtest,
    data: QualityData,
    current: ScoringModel,
    candidate: ScoringModel,
    *,
    fitted: Fit,
    held_out: review.Calibration,
    ranks: Sequence[Ranking],
    days: int,
) -> str:
    rows = [[f"{b.predicted:.1%}", b.observed.describe()] for b in held_out.bins] or [["none", ""]]
    width = 100 // len(held_out.histogram)
    spread = [
        [f"{i * width}–{(i + 1) * width}%", str(n)] for i, n in enumerate(held_out.histogram) if n
    ]
    calibration_chart = Chart(
        "calibration",
        f"Calibration on held-out time: predicted against observed conversion within {days}"
        " days, and how the predictions are spread",
        charts.calibration_chart(held_out),
        Table(
            ["predicted (mean of the bin)", "converted"],
            rows
            + [["", ""]]
            + [["predicted " + r[0], plural(int(r[1]), "moment")] for r in spread],
        ),
        "Each point: a tenth of the held-out moments, ordered by prediction. On the dashed"
        " line, the predictions are right.",
    )
    return page(
        title=f"Calibration: {result.candidate.replay.model_name}",
        facts=[
            (
                "fitted on",
                f"{fitted.examples} labelled moments ({fitted.positives} converted or"
                f" Right) before {result.since:%Y-%m-%d}",
            ),
            ("ranking (AUC)", f"current {ranks[0].auc:.3f}, candidate {ranks[1].auc:.3f}"),
            *_backtest_facts(result),
        ],
        sections=[
            ("How good are the predictions?", [calibration_chart]),
            *backtest_sections(result, data, current, candidate, days=days),
        ],
        text=_moved_accounts(result),
        text_heading=MOVED_HEADING,
    )
