"""The time limits of the default model at their boundaries, through `score_account`: the
decay grace period, rule windows and counts, caps, the timing dimension (rising, fading,
inactive) and the lookback. Expected points are worked out by hand from default.yml.

"Signed Up" is a product event no rule gives points for: it moves only the timing
dimension, so a test of timing can count signals without earning rule points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.scoring import decay_factor, score_account
from tipoff.model import load_default_model

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
MODEL = load_default_model()
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
SAM = Person(2, "Sam Ortiz", "sam@acme.io", "Software Engineer")


def points(*signals: Signal) -> dict[str, float]:
    history = AccountHistory(
        id=7,
        domain="acme.io",
        name="Acme",
        employees=250,
        industry="Software",
        people={SAM.id: SAM},
        signals=signals,
    )
    return {e.rule_id: e.points for e in score_account(history, MODEL, NOW).evidence}


def at(event: str, age: timedelta) -> Signal:
    return Signal(event, NOW - age, SAM.id)


def test_the_models_time_limits_are_the_ones_these_tests_pin() -> None:
    decay, timing = MODEL.decay, MODEL.timing
    assert (decay.grace_days, decay.half_life_days) == (7, 14)
    assert (timing.recent_days, timing.baseline_days, timing.min_events) == (7, 21, 3)
    assert (timing.rising_ratio, timing.fading_ratio, timing.inactive_after_days) == (1.5, 0.5, 30)
    assert MODEL.lookback_days == 180


# --- decay: full points through the grace period, then halving every half-life ----------


@pytest.mark.parametrize(
    ("age", "factor"),
    [
        (timedelta(0), 1.0),
        (7 * DAY - SECOND, 1.0),
        (7 * DAY, 1.0),  # the last moment of grace
        (7 * DAY + SECOND, 0.5 ** (1 / 86400 / 14)),
        (21 * DAY, 0.5),
        (-DAY, 1.0),  # a clock ahead of ours: never more than full points
    ],
)
def test_decay_keeps_full_points_up_to_exactly_the_grace_period(
    age: timedelta, factor: float
) -> None:
    assert decay_factor(age, MODEL.decay) == pytest.approx(factor, rel=1e-12)
    if age == 7 * DAY + SECOND:
        assert decay_factor(age, MODEL.decay) < 1.0


def test_a_core_action_keeps_its_30_points_for_exactly_seven_days() -> None:
    assert points(at("Core Action Completed", 7 * DAY))["core_action"] == 30
    # Two hours past grace: 30 · 0.5^(2/24/14) = 29.88.
    assert (
        points(at("Core Action Completed", 7 * DAY + 2 * timedelta(hours=1)))["core_action"] == 29.9
    )
    # One half-life past grace: half.
    assert points(at("Core Action Completed", 21 * DAY))["core_action"] == 15


# --- rule windows, counts and caps ------------------------------------------------------


def test_a_rule_window_holds_signals_younger_than_it_and_not_one_exactly_its_age() -> None:
    # repeat_sessions: 3 sessions in the last 14 days.
    two_recent = [at("Session Started", DAY), at("Session Started", 2 * DAY)]
    assert "repeat_sessions" not in points(*two_recent, at("Session Started", 14 * DAY))
    assert points(*two_recent, at("Session Started", 14 * DAY - SECOND))["repeat_sessions"] == 20
    # pricing_visits: 2 in the last 7 days.
    assert "pricing_visits" not in points(
        at("Pricing Page Viewed", DAY), at("Pricing Page Viewed", 7 * DAY)
    )
    assert (
        points(at("Pricing Page Viewed", DAY), at("Pricing Page Viewed", 7 * DAY - SECOND))[
            "pricing_visits"
        ]
        == 20
    )


def test_min_count_is_inclusive() -> None:
    assert "repeat_sessions" not in points(*(at("Session Started", d * DAY) for d in (1, 2)))
    assert points(*(at("Session Started", d * DAY) for d in (1, 2, 3)))["repeat_sessions"] == 20
    assert "pricing_visits" not in points(at("Pricing Page Viewed", DAY))


def test_each_rules_earn_per_signal_up_to_their_cap() -> None:
    assert points(at("Content Downloaded", DAY))["content"] == 4
    assert points(*[at("Content Downloaded", DAY)] * 2)["content"] == 8  # the cap exactly
    assert points(*[at("Content Downloaded", DAY)] * 3)["content"] == 8
    assert points(*[at("Email Clicked", DAY)] * 2)["email_clicks"] == 4
    assert points(*[at("Email Clicked", DAY)] * 4)["email_clicks"] == 6
    # A download past grace earns its decayed share: 4 · 0.5 one half-life on.
    assert points(at("Content Downloaded", 21 * DAY))["content"] == 2


def test_the_second_active_user_rule_counts_people_not_signals() -> None:
    lee = Person(1, "Lee Park", None, "Software Engineer")
    history = AccountHistory(
        id=7,
        domain="acme.io",
        name="Acme",
        employees=250,
        industry="Software",
        people={SAM.id: SAM, lee.id: lee},
        signals=(
            Signal("Signed Up", NOW - DAY, SAM.id),
            Signal("Signed Up", NOW - 30 * DAY + SECOND, lee.id),
        ),
    )
    hit = {e.rule_id: e.points for e in score_account(history, MODEL, NOW).evidence}
    assert hit["second_active_user"] == 20
    alone = AccountHistory(
        id=7,
        domain="acme.io",
        name="Acme",
        employees=250,
        industry="Software",
        people={SAM.id: SAM, lee.id: lee},
        signals=(
            *[Signal("Signed Up", NOW - DAY, SAM.id)] * 3,
            Signal("Signed Up", NOW - 30 * DAY, lee.id),  # outside the 30 days
        ),
    )
    assert "second_active_user" not in {
        e.rule_id for e in score_account(alone, MODEL, NOW).evidence
    }


# --- timing: rising, fading, inactive ----------------------------------------------------


def signed_up(recent: int, baseline: int) -> list[Signal]:
    """`recent` signals a day old, `baseline` ten days old (in the 21 days before)."""
    return [at("Signed Up", DAY)] * recent + [at("Signed Up", 10 * DAY)] * baseline


@pytest.mark.parametrize(
    ("recent", "baseline", "timing"),
    [
        (3, 0, {"rising": 5}),  # min_events exactly
        (2, 0, {}),
        (3, 6, {"rising": 5}),  # expected 2: 3 is exactly 1.5 times it
        (3, 7, {}),  # expected 2.33: 3 is less than 1.5 times, more than half
        (1, 6, {"fading": -10}),  # expected 2: 1 is exactly half of it
        (2, 6, {}),
        (0, 3, {"fading": -10}),  # a baseline of min_events exactly
        (0, 2, {}),
    ],
)
def test_rising_and_fading_at_their_ratios_and_min_events(
    recent: int, baseline: int, timing: dict[str, float]
) -> None:
    hits = points(*signed_up(recent, baseline))
    assert {rule: p for rule, p in hits.items() if rule in ("rising", "fading")} == timing


def test_inactive_after_exactly_thirty_days() -> None:
    assert "inactive" not in points(at("Signed Up", 30 * DAY))
    assert points(at("Signed Up", 30 * DAY + SECOND))["inactive"] == -20


def test_the_lookback_holds_a_signal_exactly_its_age_old() -> None:
    # The only signal, 180 days old: read (and the account inactive); a second older: gone.
    assert points(at("Signed Up", 180 * DAY)) == {"inactive": -20}
    assert points(at("Signed Up", 180 * DAY + SECOND)) == {}
