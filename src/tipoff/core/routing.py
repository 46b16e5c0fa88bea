"""What a score means for sales: the track, and whether a change of track deserves an alert.

| product signal              | fit  | track       |
|-----------------------------|------|-------------|
| strong, with intent or title| good | hot         |
| strong                      | good | sales-ready |
| strong                      | poor | monitor     |
| weak, marketing intent      | good | nurture     |
| otherwise                   |      | low-touch   |

"Strong" is a product dimension of at least `strong_product_at`; sales-ready also needs
the whole score at `qualify_at`, and hot needs `hot_at` plus either a decision-maker title
(seeds/001) or marketing intent on top of the product signal (seeds/000). A strong
product signal at a good-fit account whose score has not reached `qualify_at` (timing
pulled it down) is nurture: worth pushing, never ranked below a poor-fit account.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tipoff.core.scoring_model import Routing


class Track(StrEnum):
    HOT = "hot"
    SALES_READY = "sales-ready"
    MONITOR = "monitor"
    NURTURE = "nurture"
    LOW_TOUCH = "low-touch"

    @property
    def rank(self) -> int:
        """Higher is more urgent for sales."""
        return _RANK[self]

    @property
    def alerts(self) -> bool:
        return self in (Track.HOT, Track.SALES_READY)


_RANK = {
    Track.LOW_TOUCH: 0,
    Track.MONITOR: 1,
    Track.NURTURE: 2,
    Track.SALES_READY: 3,
    Track.HOT: 4,
}


@dataclass(frozen=True, slots=True)
class Dimensions:
    fit: float
    product: float
    marketing: float
    timing: float

    @property
    def total(self) -> float:
        return self.fit + self.product + self.marketing + self.timing


def route(dimensions: Dimensions, score: int, *, title_match: bool, routing: Routing) -> Track:
    good_fit = dimensions.fit >= routing.good_fit_at
    strong_product = dimensions.product >= routing.strong_product_at
    marketing_intent = dimensions.marketing >= routing.marketing_intent_at
    if strong_product and good_fit and score >= routing.qualify_at:
        if score >= routing.hot_at and (title_match or marketing_intent):
            return Track.HOT
        return Track.SALES_READY
    if strong_product and not good_fit:
        return Track.MONITOR
    if good_fit and (marketing_intent or strong_product):
        return Track.NURTURE
    return Track.LOW_TOUCH


def alert_channel(
    track: Track,
    *,
    employees: int | None,
    region: str | None,
    routing: Routing,
    default: str,
) -> str:
    """Where an alert for an account in `track` goes: the first matching segment's channel,
    else the track's channel, else `default` (TIPOFF_ALERT_CHANNEL)."""
    for segment in routing.segments:
        if segment.tracks and track.value not in segment.tracks:
            continue
        if segment.employees is not None and (
            employees is None or not segment.employees.contains(employees)
        ):
            continue
        if segment.regions and (
            region is None or region.strip().lower() not in {r.lower() for r in segment.regions}
        ):
            continue
        return segment.channel
    return routing.channels.get(track.value, default)
