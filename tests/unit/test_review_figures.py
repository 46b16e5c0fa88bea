"""The review page's own figures (tipoff.quality.review), on data made here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tipoff.model import load_default_model
from tipoff.quality.calibrate import Example, Fit
from tipoff.quality.conversion import Outcome, Outcomes
from tipoff.quality.review import (
    HISTOGRAM_BINS,
    band_labels,
    band_of,
    calibration,
    decay_curve,
    swap_set,
    weekly_accounts,
)
from tipoff.quality.stats import Proportion

START = datetime(2026, 9, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_score_bands_are_twenty_points_wide_up_to_a_hundred() -> None:
    assert [band_of(s) for s in (0, 19, 20, 59, 60, 99, 100, 250)] == [
        "0–19", "0–19", "20–39", "40–59", "60–79", "80–99", "100+", "100+",
    ]  # fmt: skip
    assert band_labels() == ["0–19", "20–39", "40–59", "60–79", "80–99", "100+"]


def test_weekly_accounts_count_each_account_once_a_week_per_track() -> None:
    alerts = [
        (1, START, "hot"),
        (1, START + 2 * DAY, "hot"),  # the same account again that week
        (2, START + 6 * DAY, "hot"),
        (1, START + 7 * DAY, "sales-ready"),  # the next week
        (3, START - DAY, "hot"),  # before the period
        (4, START + 20 * DAY, "hot"),  # after it
    ]
    weekly = weekly_accounts(alerts, since=START, now=START + 14 * DAY)
    assert weekly.weeks == [START, START + 7 * DAY]
    assert weekly.by_track == {"hot": [2, 0], "sales-ready": [0, 1]}


def test_the_swap_set_splits_the_judged_accounts_by_which_model_alerts_them() -> None:
    judged = [
        Outcome(1, START, "hot", True),
        Outcome(2, START, "hot", False),
        Outcome(3, START, "hot", True),
        Outcome(4, START, None, False),
        Outcome(5, START, None, True),
    ]
    swap = swap_set(
        Outcomes(judged, 0, 0), current=[1, 2], candidate=[1, 3], volume={"hot": (4, 3)}
    )
    assert swap.groups() == [
        ("alerted by both", Proportion(1, 1)),
        ("only by the current model", Proportion(0, 1)),
        ("only by the candidate", Proportion(1, 1)),
        ("by neither", Proportion(1, 2)),
    ]
    assert swap.volume == {"hot": (4, 3)}


def test_calibration_bins_hold_every_moment_ordered_by_prediction() -> None:
    fit = Fit(points={}, weights={"demo": 2.0}, intercept=-3.0, scale=1.0, examples=0, positives=0)
    examples = [
        Example(i, START, {"demo": i / 10}, {}, 0.0, False, int(i % 3 == 0)) for i in range(37)
    ]
    result = calibration(fit, examples)
    assert len(result.bins) == 10
    assert sum(b.observed.n for b in result.bins) == 37 == sum(result.histogram)
    assert sum(b.observed.hits for b in result.bins) == sum(e.label for e in examples)
    predicted = [b.predicted for b in result.bins]
    assert predicted == sorted(predicted)
    assert len(result.histogram) == HISTOGRAM_BINS
    assert calibration(fit, []).bins == []


def test_decay_keeps_full_points_through_the_grace_then_halves() -> None:
    model = load_default_model()
    curve = dict(decay_curve(model))
    grace, half = model.decay.grace_days, model.decay.half_life_days
    assert curve[0] == 1.0 and curve[int(grace)] == 1.0
    assert abs(curve[int(grace + half)] - 0.5) < 1e-9
    assert max(curve) == int(model.lookback_days)
