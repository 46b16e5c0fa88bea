"""Intervals and lift: hand-computed, and checked against scipy's own Wilson interval."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from tipoff.quality.stats import Lift, Proportion, wilson_interval


def test_wilson_interval_by_hand() -> None:
    # 8 of 12, z = 1.959964: p = 0.666667, z²/n = 0.320131, denominator 1.320131;
    # centre (0.666667 + 0.160066) / 1.320131 = 0.626250;
    # half 1.959964 · √(0.018519 + 0.006670) / 1.320131 = 0.235628 → 0.390622 … 0.861878.
    low, high = wilson_interval(8, 12)
    assert (round(low, 4), round(high, 4)) == (0.3906, 0.8619)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)


@pytest.mark.parametrize(("hits", "n"), [(8, 12), (0, 10), (49, 118), (1, 1), (30, 30), (3, 300)])
def test_wilson_interval_agrees_with_scipy(hits: int, n: int) -> None:
    expected = binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(hits, n)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_small_counts_say_too_few_to_tell() -> None:
    assert Proportion(8, 12).describe() == "67% (8 of 12; 95% CI 39–86%)"
    assert Proportion(3, 4).describe() == "75% (3 of 4; too few to tell)"
    assert Proportion(0, 0).describe() == "none"
    assert Proportion(0, 10).describe() == "0% (0 of 10; 95% CI 0–28%)"


def test_lift() -> None:
    # 12/20 = 60% against 3/30 = 10%: 6×. Intervals 39–78% and 3–26% do not overlap.
    assert Lift(Proportion(12, 20), Proportion(3, 30)).describe() == "6.0× (clear)"
    assert Lift(Proportion(3, 4), Proportion(1, 4)).describe() == (
        "3.0× (too few to tell: 4 alerted, 4 not)"
    )
    assert Lift(Proportion(5, 20), Proportion(0, 20)).ratio is None
    assert Lift(Proportion(5, 20), Proportion(0, 20)).describe() == (
        "∞ (no conversions without an alert)"
    )
    # 6/20 = 30% against 4/20 = 20%: 1.5×, but 15–52% and 8–42% overlap.
    assert Lift(Proportion(6, 20), Proportion(4, 20)).describe() == "1.5× (intervals overlap)"
