"""The review's charts, drawn with matplotlib: SVG for a page, PNG for Slack.

Why matplotlib (the `charts` extra): it draws without a browser or a script, its SVG is
15–45 KB a chart (text drawn as paths) and byte-stable with a fixed hash salt and no date,
and it is the one plotting library a Python shop already trusts. Plotly inlines 4.8 MB of script in every
page; Altair needs `vl-convert` to draw without a browser. This module imports it, so
only `--html` and `/tipoff stats` import this module, and only when asked.

Deterministic by construction: no pyplot (no global figure state, no GUI backend), the
font bundled with matplotlib (DejaVu Sans) whatever the system has, text drawn as paths,
`svg.hashsalt` fixed and no date in the metadata; ids are prefixed per chart so that
several SVGs share one page without clashing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tipoff.quality.review import Bands, Calibration, SwapSet, Weekly
from tipoff.quality.stats import Proportion

CURRENT, CANDIDATE, BASELINE, MUTED = "#1f3a5f", "#c8642a", "#6b7280", "#9ca3af"
SIDE_COLOURS = (CURRENT, CANDIDATE)
TRACK_COLOURS = ("#1f3a5f", "#c8642a", "#2f855a", "#805ad5", "#b7791f", "#4a5568")
STYLE: Any = {
    "font.family": ["DejaVu Sans"],
    "font.size": 9,
    "svg.hashsalt": "tipoff-review",
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "figure.facecolor": "white",
}
WIDTH = 7.0  # inches: 504 pt, scaled down to the page's width by CSS


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


@dataclass(frozen=True, slots=True)
class Row:
    """One line of an interval chart: a proportion, or "too few to tell" under 10."""

    label: str
    value: Proportion
    note: str = ""
    colour: str = CURRENT


def svg(figure: Figure, *, key: str, title: str, description: str) -> str:
    """`figure` as an inline `<svg>` element: no XML prologue, ids prefixed with `key`,
    and an accessible name (`title`, also its `<title>`) and description (`<desc>`)."""
    buffer = io.StringIO()
    with _style():
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'(\bid="|href="#|url\(#)([^")]+)', rf"\g<1>{key}-\g<2>", text)
    head_end = text.index(">") + 1
    head = text[:head_end].replace(
        "<svg ", f'<svg role="img" aria-labelledby="{key}-title {key}-desc" ', 1
    )
    return (
        f'{head}<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(description)}</desc>{text[head_end:]}'
    ).strip()


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    with _style():
        figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


def _figure(height: float, *, rows: int = 1, cols: int = 1, **grid: object) -> Figure:
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    figure.subplots(rows, cols, squeeze=False, gridspec_kw=grid or None)
    return figure


def _percent_axis(ax: Axes, axis: str = "y") -> None:
    formatter = matplotlib.ticker.PercentFormatter(xmax=1, decimals=0)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _whisker(p: Proportion) -> tuple[float, float, float]:
    """(rate, distance down, distance up) to the 95% Wilson bounds."""
    rate = p.rate or 0.0
    low, high = p.interval or (rate, rate)
    # Floating point can put a bound a hair past the rate (0 of n): matplotlib refuses that.
    return rate, max(0.0, rate - low), max(0.0, high - rate)


def bands_chart(series: Sequence[tuple[str, Bands]]) -> Figure:
    """Conversion by score band, one bar per model in each band, with each model's
    overall rate as a dashed line; bands under 10 accounts drawn hollow."""
    with _style():
        figure = _figure(3.2)
        ax = figure.axes[0]
        labels = list(series[0][1].by_band)
        width = 0.8 / len(series)
        for i, (name, bands) in enumerate(series):
            colour = SIDE_COLOURS[i % 2]
            for j, label in enumerate(labels):
                p = bands.by_band[label]
                if not p.n:
                    continue
                rate, down, up = _whisker(p)
                x = j - 0.4 + width * (i + 0.5)
                ax.bar(x, rate, width * 0.9, color=colour if p.enough else "none",
                       edgecolor=colour, label=name if j == 0 else None)  # fmt: skip
                if p.enough:
                    ax.errorbar(x, rate, yerr=[[down], [up]], color="black", capsize=2, lw=0.8)
                ax.annotate(str(p.n), (x, 0), xytext=(0, -2), textcoords="offset points",
                            ha="center", va="top", fontsize=7, color=BASELINE)  # fmt: skip
            if bands.overall.rate is not None:
                ax.axhline(bands.overall.rate, color=colour, ls="--", lw=1,
                           label=f"{name}: all eligible ({bands.overall.rate:.0%})")  # fmt: skip
        ax.set_xticks(range(len(labels)), labels)
        ax.tick_params(axis="x", pad=12)
        ax.set_xlabel("score when the account's clock started (numbers: accounts)")
        ax.set_ylabel("converted")
        _percent_axis(ax)
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return figure


def interval_chart(rows: Sequence[Row], *, xlabel: str, baseline: float | None = None) -> Figure:
    """One line per row, top to bottom: the rate and its 95% Wilson interval, or "too
    few to tell" under 10 observations; a row's note on the right."""
    with _style():
        figure = _figure(0.8 + 0.32 * max(1, len(rows)))
        ax = figure.axes[0]
        ys = list(range(len(rows)))[::-1]
        for y, row in zip(ys, rows, strict=True):
            if row.value.enough:
                rate, down, up = _whisker(row.value)
                ax.errorbar(rate, y, xerr=[[down], [up]], fmt="o", color=row.colour,
                            ms=4, capsize=3, lw=1.2)  # fmt: skip
            else:
                shown = f"{row.value.hits} of {row.value.n}" if row.value.n else "none"
                ax.text(0.01, y, f"too few to tell ({shown})", va="center", fontsize=8,
                        color=BASELINE, style="italic")  # fmt: skip
            if row.note:
                ax.text(
                    1.02, y, row.note, va="center", fontsize=8, transform=ax.get_yaxis_transform()
                )
        if baseline is not None:
            ax.axvline(baseline, color=BASELINE, ls="--", lw=1)
        ax.set_yticks(ys, [r.label for r in rows])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(0, 1)
        ax.set_xlabel(xlabel)
        _percent_axis(ax, "x")
        ax.grid(axis="y", visible=False)
    return figure


def swap_chart(swap: SwapSet, names: tuple[str, str]) -> Figure:
    """Left: conversion of the four groups; right: alerts per track under each model."""
    with _style():
        figure = _figure(3.0, cols=2, width_ratios=(3, 2))
        left, right = figure.axes
        groups = swap.groups()
        for x, (_, p) in enumerate(groups):
            if not p.n:
                continue
            rate, down, up = _whisker(p)
            colour = (CURRENT, CURRENT, CANDIDATE, MUTED)[x]
            left.bar(x, rate, 0.7, color=colour if p.enough else "none", edgecolor=colour)
            if p.enough:
                left.errorbar(x, rate, yerr=[[down], [up]], color="black", capsize=2, lw=0.8)
            left.annotate(f"{p.hits} of {p.n}", (x, rate + up), xytext=(0, 2),
                          textcoords="offset points", ha="center", fontsize=7)  # fmt: skip
        left.set_xticks(range(4), ["both", "only\ncurrent", "only\ncandidate", "neither"])
        left.set_ylabel("converted")
        _percent_axis(left)
        tracks = list(swap.volume)
        for i, name in enumerate(names):
            counts = [swap.volume[t][i] for t in tracks]
            xs = [x - 0.2 + 0.4 * i for x in range(len(tracks))]
            right.bar(xs, counts, 0.38, color=SIDE_COLOURS[i], label=name)
        right.set_xticks(range(len(tracks)), tracks)
        right.set_ylabel("alerts")
        right.legend(fontsize=7, frameon=False)
    return figure


def calibration_chart(result: Calibration) -> Figure:
    """Top: observed against predicted conversion per bin (on the diagonal is right);
    bottom: how many held-out moments got each prediction."""
    with _style():
        figure = _figure(4.2, rows=2, height_ratios=(3, 1))
        top, bottom = figure.axes
        uppers = [(b.observed.interval or (0.0, 0.0))[1] for b in result.bins]
        high = max([b.predicted for b in result.bins] + [0.05])
        top.plot([0, high], [0, high], ls="--", color=BASELINE, lw=1, label="perfect")
        for b in result.bins:
            rate, down, up = _whisker(b.observed)
            top.errorbar(b.predicted, rate, yerr=[[down], [up]], fmt="o", color=CANDIDATE,
                         ms=4, capsize=2, lw=1)  # fmt: skip
        top.set_xlim(0, high * 1.05)
        top.set_ylim(0, min(1.0, max([high, *uppers]) * 1.05))
        top.set_xlabel("predicted chance of converting")
        top.set_ylabel("converted")
        _percent_axis(top)
        _percent_axis(top, "x")
        width = 1 / len(result.histogram)
        bottom.bar([(i + 0.5) * width for i in range(len(result.histogram))], result.histogram,
                   width * 0.9, color=MUTED)  # fmt: skip
        bottom.set_xlim(0, 1)
        bottom.set_xlabel("predicted chance (all held-out moments)")
        bottom.set_ylabel("moments")
        _percent_axis(bottom, "x")
    return figure


def weekly_chart(series: Sequence[tuple[str, Weekly]]) -> Figure:
    """Accounts alerted per week, one line per track; a second model dashed."""
    with _style():
        figure = _figure(3.0)
        ax = figure.axes[0]
        tracks = sorted({t for _, w in series for t in w.by_track})
        weeks = series[0][1].weeks
        for i, (name, weekly) in enumerate(series):
            for k, track in enumerate(tracks):
                counts = weekly.by_track.get(track, [0] * len(weeks))
                ax.plot(range(len(weeks)), counts, color=TRACK_COLOURS[k % len(TRACK_COLOURS)],
                        ls=("-", "--")[i % 2], marker="o", ms=2.5, lw=1.2,
                        label=f"{track} ({name})" if len(series) > 1 else track)  # fmt: skip
        step = max(1, len(weeks) // 8)
        ax.set_xticks(range(0, len(weeks), step), [f"{w:%b %d}" for w in weeks[::step]])
        ax.set_xlabel("week starting")
        ax.set_ylabel("accounts alerted")
        ax.legend(fontsize=7, frameon=False, ncols=2)
    return figure


def decay_chart(curves: Sequence[tuple[str, list[tuple[int, float]]]]) -> Figure:
    with _style():
        figure = _figure(2.6)
        ax = figure.axes[0]
        for i, (name, curve) in enumerate(curves):
            ax.plot([d for d, _ in curve], [k for _, k in curve], color=SIDE_COLOURS[i % 2],
                    ls=("-", "--")[i % 2], lw=1.5, label=name)  # fmt: skip
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("days since the signal")
        ax.set_ylabel("points kept")
        _percent_axis(ax)
        ax.legend(fontsize=7, frameon=False)
    return figure


def stats_chart(precision: Sequence[Row], conversion: Sequence[Row], *, days: int) -> Figure:
    """`/tipoff stats`: precision by track (left) and conversion by track against
    eligible accounts without an alert, each with its lift (right)."""
    with _style():
        figure = _figure(1.2 + 0.4 * max(len(precision), len(conversion), 1), cols=2)
        for ax, rows, title in (
            (figure.axes[0], precision, "Precision (Right / Right+Wrong)"),
            (figure.axes[1], conversion, f"Converted within {days} days, and the lift"),
        ):
            ys = list(range(len(rows)))[::-1]
            for y, row in zip(ys, rows, strict=True):
                if row.value.enough:
                    rate, down, up = _whisker(row.value)
                    ax.errorbar(rate, y, xerr=[[down], [up]], fmt="o", color=row.colour,
                                ms=4, capsize=3)  # fmt: skip
                    if row.note:
                        ax.text(rate + up + 0.03, y, row.note, va="center", fontsize=8,
                                fontweight="bold")  # fmt: skip
                else:
                    shown = f"{row.value.hits} of {row.value.n}" if row.value.n else "none"
                    ax.text(0.02, y, f"too few to tell ({shown})", va="center", fontsize=8,
                            color=BASELINE, style="italic")  # fmt: skip
            ax.set_yticks(ys, [r.label for r in rows])
            ax.set_ylim(-0.6, max(len(rows), 1) - 0.4)
            ax.set_xlim(0, 1)
            ax.set_title(title, fontsize=9, loc="left")
            _percent_axis(ax, "x")
            ax.grid(axis="y", visible=False)
    return figure
