"""The scoring core, with exact expected values worked out by hand from the model file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.routing import Track
from tipoff.core.scoring import decay_factor, score_account, score_of
from tipoff.core.scoring_model import Decay
from tipoff.core.workflow import LastAlert, alert_decision
from tipoff.model import ScoringModel, load_default_model

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
MODEL = load_default_model()


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


DANA = Person(1, "Dana Lee", "dana@acme.io", "Engineering Manager")
SAM = Person(2, "Sam Ortiz", "sam@acme.io", "Software Engineer")
PRIYA = Person(3, "Priya Nair", "priya@acme.io", "Software Engineer")
MAYA = Person(4, "Maya Chen", "maya@acme.io", "Marketing Manager")


def account(*signals: Signal, people: tuple[Person, ...] = (DANA, SAM), employees: int | None = 250,
            industry: str | None = "Software", domain: str = "acme.io") -> AccountHistory:  # fmt: skip
    return AccountHistory(
        id=7,
        domain=domain,
        name="Acme",
        employees=employees,
        industry=industry,
        people={p.id: p for p in people},
        signals=signals,
    )


def by_rule(result: object) -> dict[str, float]:
    return {e.rule_id: e.points for e in result.evidence}  # type: ignore[attr-defined]


def test_worked_example_from_seeds_001_adds_up_to_100_and_is_hot() -> None:
    # Core event +30, 3 sessions in 14 days +20, integration +15, second user +20,
    # decision-maker title +15 = 100; all fresh, so nothing has decayed. Rising activity
    # adds 5: the score is the sum, 105, not capped.
    result = score_account(
        account(
            Signal("Core Action Completed", ago(1), 1),
            Signal("Session Started", ago(1), 1),
            Signal("Session Started", ago(3), 2),
            Signal("Session Started", ago(5), 1),
            Signal("Integration Connected", ago(2), 2, {"integration": "PagerDuty"}),
        ),
        MODEL,
        NOW,
    )
    assert by_rule(result) == {
        "core_action": 30,
        "repeat_sessions": 20,
        "integration": 15,
        "second_active_user": 20,
        "decision_maker": 15,
        "rising": 5,  # 5 signals this week, none in the three weeks before
    }
    assert (result.dimensions.fit, result.dimensions.product, result.dimensions.timing) == (
        15,
        85,
        5,
    )
    assert result.score == 105 and result.raw_points == 105
    assert result.track is Track.HOT
    assert [e.text for e in result.evidence[:2]] == [
        "Dana Lee (Engineering Manager) completed a core action yesterday",
        # Ties in points are ordered by rule id.
        "Dana Lee (Engineering Manager) and Sam Ortiz (Software Engineer) started 3 sessions in the last 14 days",
    ]
    assert result.contact is not None and result.contact.label == "Dana Lee (Engineering Manager)"


def test_qualifies_at_60_without_a_title_but_is_not_hot() -> None:
    # core 30 + sessions 20 + integration 15 = 65 product, one user, no title match.
    signals = (
        Signal("Core Action Completed", ago(2), 2),
        Signal("Session Started", ago(2), 2),
        Signal("Session Started", ago(4), 2),
        Signal("Session Started", ago(6), 2),
        Signal("Integration Connected", ago(3), 2),
    )
    result = score_account(account(*signals, people=(SAM,)), MODEL, NOW)
    assert result.dimensions.product == 65
    assert result.score == 70  # + rising 5
    assert result.track is Track.SALES_READY
    assert "Sam Ortiz (Software Engineer) connected an integration 3 days ago" in [
        e.text for e in result.evidence
    ]


def test_below_threshold_product_alone_is_low_touch() -> None:
    result = score_account(
        account(Signal("Core Action Completed", ago(1), 2), people=(SAM,)), MODEL, NOW
    )
    assert result.score == 30
    assert result.track is Track.LOW_TOUCH


def scenario_a() -> list[Signal]:
    return [Signal("Demo Requested", ago(2), 4)]


def scenario_b() -> list[Signal]:
    # Three engineers, two weeks, every other day: sessions, a core action, an integration.
    signals = [Signal("Session Started", ago(day), 1 + day % 3) for day in range(0, 14, 2)]
    signals += [
        Signal("Core Action Completed", ago(9), 2),
        Signal("Integration Connected", ago(6), 3, {"integration": "Datadog"}),
        Signal("Teammate Invited", ago(12), 2),
    ]
    return signals


ENGINEERS = (Person(1, "Lee Park", None, "Software Engineer"), SAM, PRIYA)


def test_seeds_000_both_signals_rank_clearly_above_either_alone() -> None:
    a = score_account(account(*scenario_a(), people=(MAYA,)), MODEL, NOW)
    b = score_account(account(*scenario_b(), people=ENGINEERS), MODEL, NOW)
    c = score_account(account(*scenario_a(), *scenario_b(), people=(*ENGINEERS, MAYA)), MODEL, NOW)

    assert (a.score, a.track) == (35, Track.NURTURE)  # demo +35: intent, no product yet
    # core 30 (9 days old: ·0.906 = 27.2) + 3+ sessions 20 + integration 15 + three users
    # 20 + invite 5 (12 days old: ·0.781 = 3.9) = 86.1; activity rising (5 vs 5 in the
    # three weeks before, i.e. 1.7 a week) +5.
    assert (b.dimensions.product, b.dimensions.marketing, b.dimensions.timing) == (86.1, 0, 5)
    assert (b.score, b.track) == (91, Track.SALES_READY)
    assert (c.dimensions.product, c.dimensions.marketing) == (86.1, 35)
    # Marketing intent on top of product: hot, and the demo request's 35 points show in
    # the number a rep sees (with a cap at 100 it read 100 against 91).
    assert (c.score, c.track) == (126, Track.HOT)
    assert c.score - b.score == 35 and c.score - a.score == 91
    ranked = sorted([a, b, c], key=lambda r: (r.score, r.raw_points), reverse=True)
    assert ranked == [c, b, a]


WORKED_EXAMPLE = (
    Signal("Core Action Completed", ago(1), 1),
    Signal("Session Started", ago(1), 1),
    Signal("Session Started", ago(3), 2),
    Signal("Session Started", ago(5), 1),
    Signal("Integration Connected", ago(2), 2, {"integration": "PagerDuty"}),
)


def test_a_hot_account_that_keeps_growing_alerts_again_on_the_jump() -> None:
    routing = MODEL.routing  # jump 15, strong signal 20, cooldown 72 hours
    alerted = score_account(account(*WORKED_EXAMPLE), MODEL, NOW)
    # Usage limit +10 and billing page +10: neither a strong signal on its own, but 20
    # points more. Capped at 100, both scores read 100 and nothing alerted.
    grown = score_account(
        account(
            *WORKED_EXAMPLE,
            Signal("Usage Limit Hit", ago(0, 3), 2),
            Signal("Billing Page Viewed", ago(0, 2), 1),
        ),
        MODEL,
        NOW,
    )
    assert (alerted.score, grown.score) == (105, 125)
    strong = frozenset(
        e.rule_id for e in grown.evidence if e.points >= routing.strong_signal_points
    )
    last = LastAlert(
        Track.HOT,
        alerted.score,
        frozenset(e.rule_id for e in alerted.evidence if e.points >= routing.strong_signal_points),
        NOW - timedelta(days=4),
    )
    reason = alert_decision(
        previous=Track.HOT,
        current=grown.track,
        score=grown.score,
        strong_rules=strong,
        last=last,
        quiet_until=None,
        routing=routing,
        now=NOW,
    )
    assert reason is not None
    assert reason.text == "score up 20 since the last alert"


def test_score_is_the_whole_points_floored_at_0_with_no_top() -> None:
    assert [score_of(p) for p in (-12.7, 0.0, 0.4, 59.6, 100.0, 144.9, 212.0)] == [
        0, 0, 0, 60, 100, 145, 212,
    ]  # fmt: skip


def test_points_decay_after_the_grace_period() -> None:
    decay = Decay(half_life_days=14, grace_days=7)
    assert decay_factor(timedelta(days=7), decay) == 1.0
    assert decay_factor(timedelta(days=21), decay) == 0.5
    assert decay_factor(timedelta(days=35), decay) == 0.25


def test_an_account_hot_six_weeks_ago_that_went_quiet_is_no_longer_hot() -> None:
    six_weeks = [
        Signal("Core Action Completed", ago(42), 1),
        Signal("Session Started", ago(42), 1),
        Signal("Session Started", ago(43), 2),
        Signal("Session Started", ago(44), 1),
        Signal("Integration Connected", ago(42), 2),
        Signal("Demo Requested", ago(42), 1),
    ]
    then = score_account(account(*six_weeks), MODEL, NOW - timedelta(days=42))
    assert then.track is Track.HOT
    later = score_account(account(*six_weeks), MODEL, NOW)
    # 42 days old = 2.5 half-lives past grace: core 30·0.177 = 5.3, integration 2.7,
    # demo 6.2; sessions and the second user fell out of their windows; inactive −20.
    assert by_rule(later) == {
        "core_action": 5.3,
        "integration": 2.7,
        "demo_request": 6.2,
        "decision_maker": 15,
        "inactive": -20,
    }
    assert later.score == 9
    assert later.track is Track.LOW_TOUCH
    assert "No activity for 42 days (last signal 6 weeks ago)" in [e.text for e in later.evidence]


def test_repeats_are_capped_per_rule() -> None:
    clicks = [Signal("Email Clicked", ago(0, h), 4) for h in range(1, 30)]
    result = score_account(account(*clicks, people=(MAYA,)), MODEL, NOW)
    assert by_rule(result)["email_clicks"] == 6  # 29 clicks at 2 points, capped at 6
    assert "Maya Chen (Marketing Manager) clicked 29 marketing emails an hour ago" in [
        e.text for e in result.evidence
    ]


def test_windowed_rule_needs_its_count_inside_the_window() -> None:
    visits = [Signal("Pricing Page Viewed", ago(1), 4), Signal("Pricing Page Viewed", ago(8), 4)]
    assert "pricing_visits" not in by_rule(
        score_account(account(*visits, people=(MAYA,)), MODEL, NOW)
    )
    visits.append(Signal("Pricing Page Viewed", ago(3), 4))
    result = score_account(account(*visits, people=(MAYA,)), MODEL, NOW)
    assert by_rule(result)["pricing_visits"] == 20
    assert "Maya Chen (Marketing Manager) viewed the pricing page 2 times in the last 7 days" in [
        e.text for e in result.evidence
    ]


def test_second_user_rule_ignores_anonymous_visitors() -> None:
    signals = (Signal("Session Started", ago(1), 2), Signal("Session Started", ago(1), None))
    assert "second_active_user" not in by_rule(score_account(account(*signals), MODEL, NOW))


def test_negative_signal_subtracts() -> None:
    signals = (Signal("Demo Requested", ago(1), 4), Signal("Unsubscribed", ago(1), 4))
    result = score_account(account(*signals, people=(MAYA,)), MODEL, NOW)
    assert result.dimensions.marketing == 20  # 35 − 15


def test_poor_fit_with_strong_product_is_monitor() -> None:
    signals = (
        Signal("Core Action Completed", ago(1), 1),
        Signal("Session Started", ago(1), 1),
        Signal("Session Started", ago(2), 2),
        Signal("Session Started", ago(3), 1),
        Signal("Integration Connected", ago(2), 2),
    )
    result = score_account(account(*signals, employees=4), MODEL, NOW)
    assert by_rule(result)["too_small"] == -25
    assert result.dimensions.fit == -10  # title +15, too small −25
    assert result.track is Track.MONITOR
    assert "Acme (4 employees) is smaller than the ideal customer profile" in [
        e.text for e in result.evidence
    ]


def test_off_profile_industry_lowers_fit() -> None:
    result = score_account(account(industry="education"), MODEL, NOW)
    assert by_rule(result)["off_profile_industry"] == -15


def test_excluded_domain_is_never_scored() -> None:
    result = score_account(
        account(Signal("Demo Requested", ago(1), 1), domain="qa.example.com"), MODEL, NOW
    )
    assert result.excluded and result.score == 0 and result.track is Track.LOW_TOUCH


def test_signals_after_now_are_ignored() -> None:
    # A replay at an earlier `now` must not see the future.
    result = score_account(
        account(Signal("Demo Requested", NOW + timedelta(hours=1), 1)), MODEL, NOW
    )
    assert "demo_request" not in by_rule(result)


def test_fading_activity_costs_points() -> None:
    signals = [Signal("Session Started", ago(day), 2) for day in range(8, 20)]  # 12 in weeks 2–3
    result = score_account(account(*signals, people=(SAM,)), MODEL, NOW)
    assert by_rule(result)["fading"] == -10
    assert (
        "Activity is fading: 0 signals a week in the last 7 days, against 4 a week in the 21 days before"
        in [e.text for e in result.evidence]
    )


def test_rising_activity_compares_weekly_rates() -> None:
    # 4 signals in the last week against 6 in the three before: 4 a week against 2, so
    # rising (at least 1.5 times the baseline's rate), though 4 is fewer than 6.
    recent = [Signal("Session Started", ago(day), 2) for day in (1, 2, 3, 4)]
    before = [Signal("Session Started", ago(day), 2) for day in (9, 11, 13, 15, 17, 19)]
    result = score_account(account(*recent, *before, people=(SAM,)), MODEL, NOW)
    assert by_rule(result)["rising"] == 5
    assert (
        "Activity is rising: 4 signals a week in the last 7 days, against 2 a week in the 21 days before"
        in [e.text for e in result.evidence]
    )
    # 3 in the week against 2 in the three before: 3 a week against 0.7.
    recent = [Signal("Session Started", ago(day), 2) for day in (1, 2, 3)]
    before = [Signal("Session Started", ago(day), 2) for day in (9, 20)]
    result = score_account(account(*recent, *before, people=(SAM,)), MODEL, NOW)
    assert (
        "Activity is rising: 3 signals a week in the last 7 days, against 0.7 a week in the 21 days before"
        in [e.text for e in result.evidence]
    )


@pytest.mark.parametrize(
    ("title", "matches"),
    [
        ("VP Engineering", True),
        ("Head of Platform", True),
        ("CTO", True),
        ("Co-founder", True),
        ("Engineering Manager", True),
        ("Marketing Manager", False),
        ("Software Engineer", False),
        ("Vice President, Sales", True),
    ],
)
def test_decision_maker_titles(title: str, matches: bool) -> None:
    result = score_account(account(people=(Person(9, "X", None, title),)), MODEL, NOW)
    assert ("decision_maker" in by_rule(result)) is matches


def test_model_without_rules_scores_zero() -> None:
    empty = ScoringModel.model_validate({"name": "empty", "events": {"product": ["Signed Up"]}})
    result = score_account(account(Signal("Signed Up", ago(1), 1)), empty, NOW)
    assert result.score == 0 and result.evidence == ()


def test_strong_product_below_the_threshold_at_a_good_fit_is_nurture_not_low_touch() -> None:
    # core 30 + integration 15 = 45, exactly strong_product_at, but 45 < qualify_at 60.
    fresh = (Signal("Core Action Completed", ago(1), 2), Signal("Integration Connected", ago(1), 2))
    result = score_account(account(*fresh, people=(SAM,)), MODEL, NOW)
    assert (result.dimensions.product, result.score, result.track) == (45, 45, Track.NURTURE)
    # Its poor-fit twin (9 employees: too small, -25) is monitor, ranked below it.
    small = score_account(account(*fresh, people=(SAM,), employees=9), MODEL, NOW)
    assert (small.dimensions.fit, small.dimensions.product, small.track) == (
        -25,
        45,
        Track.MONITOR,
    )
    assert small.track.rank < result.track.rank
    # The same signals 20 days old have decayed below strong (13 days past the grace
    # period: 30 and 15 times 0.5^(13/14) = 0.525): no longer a strong product signal.
    old = (Signal("Core Action Completed", ago(20), 2), Signal("Integration Connected", ago(20), 2))
    faded = score_account(account(*old, people=(SAM,)), MODEL, NOW)
    assert (faded.dimensions.product, faded.score, faded.track) == (23.7, 24, Track.LOW_TOUCH)
    small = score_account(account(*fresh, people=(SAM,), employees=5), MODEL, NOW)
    assert small.track is Track.MONITOR


def test_evidence_verbs_agree_with_several_people() -> None:
    vp = Person(5, "Ana Ruiz", None, "VP Sales")
    result = score_account(account(people=(DANA, vp)), MODEL, NOW)
    assert (
        result.evidence[0].text
        == "Dana Lee (Engineering Manager) and Ana Ruiz (VP Sales) hold a decision-making title"
    )


def test_an_unsubscribe_does_not_fade() -> None:
    result = score_account(account(Signal("Unsubscribed", ago(90), 4), people=(MAYA,)), MODEL, NOW)
    assert by_rule(result)["unsubscribed"] == -15


def test_contact_first_is_the_engaged_decision_maker_then_the_hand_raiser() -> None:
    product = scenario_b()
    # Lee Park, Sam and Priya use the product; Maya (marketing) requested a demo.
    hybrid = score_account(account(*product, *scenario_a(), people=(*ENGINEERS, MAYA)), MODEL, NOW)
    assert hybrid.contact is not None and hybrid.contact.label == "Maya Chen (Marketing Manager)"
    assert hybrid.contact.why == "Maya Chen (Marketing Manager) requested a demo 2 days ago"
    # A VP who is active outranks both, even with less activity of her own.
    vp = Person(6, "Ines Roy", "ines@acme.io", "VP Engineering")
    with_vp = (*product, *scenario_a(), Signal("Session Started", ago(1), 6))
    result = score_account(account(*with_vp, people=(*ENGINEERS, MAYA, vp)), MODEL, NOW)
    assert result.contact is not None and result.contact.label == "Ines Roy (VP Engineering)"
    # A decision-maker who never did anything is not who to call first.
    idle = score_account(account(*product, people=(*ENGINEERS, vp)), MODEL, NOW)
    assert idle.contact is not None and idle.contact.label != "Ines Roy (VP Engineering)"
