"""Proportions with honest intervals, and the lift of one rate over another.

Pure arithmetic on counts, so a report needs no optional dependency. The Wilson score
interval is the one `scipy.stats.binomtest(...).proportion_ci(method="wilson")` gives
(the tests check they agree); unlike the textbook p ± z·se it never leaves 0–1 and stays
honest for small counts and rates near 0 or 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95
# Below this many observations a rate is shown with its counts but called "too few to
# tell": a 95% interval from 4 clicks spans most of 0–100% anyway.
MIN_COUNT = 10


def wilson_interval(hits: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval for `hits` successes out of `n` (n > 0)."""
    if n <= 0 or not 0 <= hits <= n:
        raise ValueError(f"need 0 <= hits <= n and n > 0, got {hits}/{n}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Proportion:
    hits: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.hits, self.n) if self.n else None

    @property
    def enough(self) -> bool:
        return self.n >= MIN_COUNT

    def describe(self) -> str:
        """ "67% (8 of 12; 95% CI 39–86%)", or the counts and "too few to tell"."""
        if self.n == 0:
            return "none"
        rate = self.hits / self.n
        if not self.enough:
            return f"{rate:.0%} ({self.hits} of {self.n}; too few to tell)"
        low, high = wilson_interval(self.hits, self.n)
        return f"{rate:.0%} ({self.hits} of {self.n}; 95% CI {low * 100:.0f}–{high * 100:.0f}%)"


@dataclass(frozen=True, slots=True)
class Lift:
    """How many times more often `treated` converts than `baseline`."""

    treated: Proportion
    baseline: Proportion

    @property
    def ratio(self) -> float | None:
        t, b = self.treated.rate, self.baseline.rate
        if t is None or b is None or b == 0:
            return None
        return t / b

    def describe(self) -> str:
        if not (self.treated.enough and self.baseline.enough):
            ratio = self.ratio
            shown = f"{ratio:.1f}× " if ratio is not None else ""
            return f"{shown}(too few to tell: {self.treated.n} alerted, {self.baseline.n} not)"
        if self.ratio is None:
            return "∞ (no conversions without an alert)" if self.treated.hits else "none"
        # The two Wilson intervals: when they do not overlap, the difference is real.
        t_low, _ = self.treated.interval or (0.0, 0.0)
        _, b_high = self.baseline.interval or (0.0, 0.0)
        verdict = "clear" if t_low > b_high else "intervals overlap"
        return f"{self.ratio:.1f}× ({verdict})"
