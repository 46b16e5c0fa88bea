"""The figures a model review page shows beyond the text report's: conversion by score
band, a backtest's swap set, accounts alerted per track per week, decay, and how well a
calibration's predictions match what happened. Pure: computed on `QualityData` and the
results the report, backtest and calibration already hold; nothing is drawn here
(`charts.py` draws, `review_page.py` lays the page out)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tipoff.core.scoring import score_account
from tipoff.core.scoring_model import ScoringModel
from tipoff.core.tally import decay_factor
from tipoff.quality.calibrate import Example, Fit
from tipoff.quality.conversion import Outcomes
from tipoff.quality.dataset import QualityData
from tipoff.quality.stats import Proportion

WEEK = timedelta(days=7)
# Score bands of 20 points: the default model qualifies at 60 and is hot at 80.
BAND_WIDTH = 20
TOP_BAND = 100
CALIBRATION_BINS = 10
HISTOGRAM_BINS = 20


def band_of(score: int) -> str:
    if score >= TOP_BAND:
        return f"{TOP_BAND}+"
    low = score // BAND_WIDTH * BAND_WIDTH
    return f"{low}–{low + BAND_WIDTH - 1}"


def band_labels() -> list[str]:
    return [band_of(low) for low in range(0, TOP_BAND + 1, BAND_WIDTH)]


@dataclass(frozen=True, slots=True)
class Bands:
    """Conversion within the window by the score an account had when its clock started
    (its first alert, or its first signal in the period), and over all of them."""

    by_band: dict[str, Proportion]  # every band, lowest first (n may be 0)
    overall: Proportion


def score_bands(data: QualityData, model: ScoringModel, found: Outcomes) -> Bands:
    counts: dict[str, list[int]] = {label: [0, 0] for label in band_labels()}
    for outcome in found.judged:
        score = score_account(
            data.histories[outcome.account_id], model, outcome.start, worded=False
        ).score
        counts[band_of(score)][0] += int(outcome.converted)
        counts[band_of(score)][1] += 1
    hits = sum(int(o.converted) for o in found.judged)
    return Bands(
        {label: Proportion(h, n) for label, (h, n) in counts.items()},
        Proportion(hits, len(found.judged)),
    )


@dataclass(frozen=True, slots=True)
class SwapSet:
    """A backtest's eligible accounts split by which model alerts them, each group with
    its conversion, and the alert volume per track under each model."""

    both: Proportion
    only_current: Proportion
    only_candidate: Proportion
    neither: Proportion
    volume: dict[str, tuple[int, int]]  # track -> (current, candidate) alerts

    def groups(self) -> list[tuple[str, Proportion]]:
        return [
            ("alerted by both", self.both),
            ("only by the current model", self.only_current),
            ("only by the candidate", self.only_candidate),
            ("by neither", self.neither),
        ]


def swap_set(
    found: Outcomes,
    *,
    current: Iterable[int],
    candidate: Iterable[int],
    volume: Mapping[str, tuple[int, int]],
) -> SwapSet:
    """`found`: the outcomes with each account's clock started at its first alert under
    either model (the current model's first when both alert it)."""
    cur, cand = frozenset(current), frozenset(candidate)
    counts: dict[tuple[bool, bool], list[int]] = defaultdict(lambda: [0, 0])
    for outcome in found.judged:
        group = counts[(outcome.account_id in cur, outcome.account_id in cand)]
        group[0] += int(outcome.converted)
        group[1] += 1
    return SwapSet(
        both=Proportion(*counts[(True, True)]),
        only_current=Proportion(*counts[(True, False)]),
        only_candidate=Proportion(*counts[(False, True)]),
        neither=Proportion(*counts[(False, False)]),
        volume=dict(sorted(volume.items())),
    )


@dataclass(frozen=True, slots=True)
class Weekly:
    """Accounts alerted per track in each week of the period (weeks start at `since`;
    the last may be short)."""

    weeks: list[datetime]
    by_track: dict[str, list[int]]


def weekly_accounts(
    alerts: Iterable[tuple[int, datetime, str]], *, since: datetime, now: datetime
) -> Weekly:
    """`alerts`: (account id, when, track). An account alerted twice in a week on one
    track counts once: the load on reps is accounts to look at."""
    weeks: list[datetime] = []
    moment = since
    while moment < now:
        weeks.append(moment)
        moment += WEEK
    seen: dict[str, list[set[int]]] = defaultdict(lambda: [set() for _ in weeks])
    for account_id, at, track in alerts:
        if since <= at < since + WEEK * len(weeks):
            seen[track][int((at - since) / WEEK)].add(account_id)
    return Weekly(weeks, {t: [len(s) for s in seen[t]] for t in sorted(seen)})


def decay_curve(model: ScoringModel) -> list[tuple[int, float]]:
    """(days since the signal, share of its points kept), each day of the lookback."""
    return [
        (day, decay_factor(timedelta(days=day), model.decay))
        for day in range(math.floor(model.lookback_days) + 1)
    ]


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    predicted: float  # mean predicted probability in the bin
    observed: Proportion


@dataclass(frozen=True, slots=True)
class Calibration:
    """Predicted against observed conversion on held-out snapshots: bins of equal size
    by prediction, and how the predictions are spread (`histogram`: counts in
    HISTOGRAM_BINS equal slices of 0–100%)."""

    bins: list[CalibrationBin]
    histogram: list[int]


def predicted(fit: Fit, example: Example) -> float:
    """The fitted logistic model's probability that `example` converts."""
    z = fit.intercept + sum(fit.weights.get(r, 0.0) * v for r, v in example.features.items())
    return 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, z))))


def calibration(fit: Fit, held_out: Sequence[Example]) -> Calibration:
    scored = sorted(
        ((predicted(fit, e), e.label, e.account_id, e.at) for e in held_out),
        key=lambda row: (row[0], row[2], row[3]),
    )
    bins: list[CalibrationBin] = []
    count = min(CALIBRATION_BINS, len(scored))
    for i in range(count):
        chunk = scored[i * len(scored) // count : (i + 1) * len(scored) // count]
        bins.append(
            CalibrationBin(
                sum(p for p, *_ in chunk) / len(chunk),
                Proportion(sum(label for _, label, *_ in chunk), len(chunk)),
            )
        )
    histogram = [0] * HISTOGRAM_BINS
    for p, *_ in scored:
        histogram[min(HISTOGRAM_BINS - 1, int(p * HISTOGRAM_BINS))] += 1
    return Calibration(bins, histogram)
