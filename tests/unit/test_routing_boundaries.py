"""The routing thresholds of the default model, each exactly at and one point under, through
`route()` itself (end to end: tests/integration/test_rule_boundaries.py).

The expected tracks come from the table in core/routing.py's docstring and the README's
"Routing" section, not from the code: at a threshold the account is in, a point under it
is out."""

from __future__ import annotations

import pytest

from tipoff.core.routing import Dimensions, Track, alert_channel, route
from tipoff.core.scoring_model import Range, Routing, Segment
from tipoff.model import load_default_model

ROUTING = load_default_model().routing


def test_the_default_models_thresholds_are_the_ones_these_tests_pin() -> None:
    # The values the cases below are about: a change to the model file is a change to
    # the sales rules, and should be made here too, on purpose.
    assert (
        ROUTING.qualify_at,
        ROUTING.hot_at,
        ROUTING.strong_product_at,
        ROUTING.marketing_intent_at,
        ROUTING.good_fit_at,
    ) == (60, 80, 45, 20, 0)


def routed(
    *, fit: float = 0, product: float = 0, marketing: float = 0, score: int, title: bool = False
) -> Track:
    dimensions = Dimensions(fit=fit, product=product, marketing=marketing, timing=0)
    return route(dimensions, score, title_match=title, routing=ROUTING)


@pytest.mark.parametrize(
    ("score", "track"),
    [(60, Track.SALES_READY), (59, Track.NURTURE), (61, Track.SALES_READY)],
)
def test_qualify_at_is_inclusive(score: int, track: Track) -> None:
    # A strong product signal at a good-fit account: sales-ready from 60 on.
    assert routed(product=50, score=score) is track


@pytest.mark.parametrize(
    ("score", "title", "track"),
    [
        (80, True, Track.HOT),
        (79, True, Track.SALES_READY),
        (80, False, Track.SALES_READY),  # hot needs a title or marketing intent too
    ],
)
def test_hot_at_is_inclusive_with_a_decision_maker(score: int, title: bool, track: Track) -> None:
    assert routed(product=60, score=score, title=title) is track


@pytest.mark.parametrize(
    ("marketing", "track"),
    [(20, Track.HOT), (19, Track.SALES_READY), (19.9, Track.SALES_READY)],
)
def test_marketing_intent_at_is_inclusive_for_hot(marketing: float, track: Track) -> None:
    assert routed(product=60, marketing=marketing, score=85) is track


@pytest.mark.parametrize(("marketing", "track"), [(20, Track.NURTURE), (19, Track.LOW_TOUCH)])
def test_marketing_intent_at_is_inclusive_for_nurture(marketing: float, track: Track) -> None:
    # No strong product signal: marketing intent alone makes a good-fit account nurture.
    assert routed(product=10, marketing=marketing, score=30) is track


@pytest.mark.parametrize(
    ("product", "track"),
    [(45, Track.SALES_READY), (44, Track.LOW_TOUCH), (44.9, Track.LOW_TOUCH)],
)
def test_strong_product_at_is_inclusive(product: float, track: Track) -> None:
    # Score 60 without a strong product signal or marketing intent is not sales-ready.
    assert routed(product=product, score=60) is track


@pytest.mark.parametrize(
    ("fit", "product", "track"),
    [
        (0, 50, Track.SALES_READY),
        (-1, 50, Track.MONITOR),  # strong product at a poor fit: watch it
        (0, 10, Track.LOW_TOUCH),
        (-1, 10, Track.LOW_TOUCH),
    ],
)
def test_good_fit_at_is_inclusive(fit: float, product: float, track: Track) -> None:
    assert routed(fit=fit, product=product, score=60) is track


def test_poor_fit_with_marketing_intent_is_low_touch() -> None:
    assert routed(fit=-1, product=10, marketing=40, score=49) is Track.LOW_TOUCH


def test_a_model_with_other_thresholds_routes_by_them() -> None:
    # Nothing above is a constant in the code: moved thresholds move the boundaries.
    routing = Routing(qualify_at=30, hot_at=40, strong_product_at=10, marketing_intent_at=5)
    dims = Dimensions(fit=0, product=10, marketing=5, timing=0)
    assert route(dims, 40, title_match=False, routing=routing) is Track.HOT
    assert route(dims, 39, title_match=False, routing=routing) is Track.SALES_READY
    assert route(dims, 29, title_match=False, routing=routing) is Track.NURTURE
    weak = Dimensions(fit=0, product=9, marketing=4, timing=0)
    assert route(weak, 40, title_match=False, routing=routing) is Track.LOW_TOUCH


def test_tracks_rank_hot_first_and_only_hot_and_sales_ready_alert() -> None:
    by_rank = sorted(Track, key=lambda t: t.rank, reverse=True)
    assert by_rank == [
        Track.HOT,
        Track.SALES_READY,
        Track.NURTURE,
        Track.MONITOR,
        Track.LOW_TOUCH,
    ]
    assert [t for t in Track if t.alerts] == [Track.HOT, Track.SALES_READY]


def test_alerts_go_to_the_first_segment_that_matches_past_any_that_do_not() -> None:
    routing = Routing(
        segments=[
            Segment(name="hot only", tracks=["hot"], channel="#hot"),
            Segment(name="emea", regions=["EMEA"], channel="#emea"),
            Segment(name="small", employees=Range(max=50), channel="#small"),
            Segment(name="big", employees=Range(min=1000), channel="#big"),
        ]
    )

    def channel(track: Track, employees: int | None, region: str | None) -> str:
        return alert_channel(
            track, employees=employees, region=region, routing=routing, default="#all"
        )

    assert channel(Track.HOT, 5000, "EMEA") == "#hot"
    assert channel(Track.SALES_READY, 5000, "EMEA") == "#emea"  # past "hot only"
    assert channel(Track.SALES_READY, 5000, "NA") == "#big"  # past "emea" and "small"
    assert channel(Track.SALES_READY, 20, None) == "#small"
    assert channel(Track.SALES_READY, None, None) == "#all"
