"""The rep workflow's pure rules: when to alert again, SLA clocks in working hours,
sparklines, suggested openers and where an alert goes, with exact expected values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tipoff.core.history import AccountHistory, Person
from tipoff.core.opener import suggested_opener
from tipoff.core.routing import Dimensions, Track, alert_channel
from tipoff.core.scoring import Contact, Evidence, ScoreResult
from tipoff.core.scoring_model import Range, Routing, Segment, WorkingHours
from tipoff.core.workflow import (
    BUNDLE,
    MAX_REASON_CHARS,
    LastAlert,
    ReasonKind,
    add_working_hours,
    alert_decision,
    quiet_until,
    sparkline,
    weekly_scores,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday
HOUR = timedelta(hours=1)
ROUTING = Routing()  # cooldown 72 h, Wrong 14 days, jump 15, strong signal 20


def decide(
    *,
    previous: Track | None = Track.HOT,
    current: Track = Track.HOT,
    score: int = 85,
    strong: frozenset[str] = frozenset({"core_action"}),
    last: LastAlert | None = None,
    quiet: datetime | None = None,
    now: datetime = NOW,
) -> str | None:
    """The reason as stored and shown, or None."""
    reason = alert_decision(
        previous=previous,
        current=current,
        score=score,
        strong_rules=strong,
        last=last,
        quiet_until=quiet,
        routing=ROUTING,
        now=now,
    )
    return None if reason is None else reason.text


LAST = LastAlert(Track.SALES_READY, 70, frozenset({"core_action"}), NOW - 10 * HOUR)


def test_first_alert_only_on_entering_an_alerting_track() -> None:
    assert decide(previous=None, current=Track.SALES_READY) == "entered sales-ready"
    assert decide(previous=Track.NURTURE, current=Track.HOT) == "entered hot"
    assert decide(previous=Track.HOT, current=Track.HOT) is None
    assert decide(previous=Track.HOT, current=Track.SALES_READY) is None
    assert decide(previous=None, current=Track.MONITOR) is None


def test_inside_the_cooldown_only_a_higher_track_than_last_alerted_alerts() -> None:
    # Sales-ready alerted 10 hours ago; now hot: news, cooldown or not.
    assert decide(previous=Track.SALES_READY, last=LAST) == "entered hot"
    # Fell out and came back within the cooldown: quiet.
    assert decide(previous=Track.NURTURE, current=Track.SALES_READY, last=LAST) is None
    # A big jump or a new strong signal inside the cooldown: quiet.
    assert (
        decide(previous=Track.SALES_READY, current=Track.SALES_READY, score=99, last=LAST) is None
    )
    assert decide(current=Track.SALES_READY, previous=Track.SALES_READY,
                  strong=frozenset({"core_action", "demo_request"}), last=LAST) is None  # fmt: skip


def test_after_the_cooldown_a_jump_a_new_strong_signal_or_a_reentry_alerts() -> None:
    later = LAST.at + 72 * HOUR
    same = {"previous": Track.SALES_READY, "current": Track.SALES_READY, "now": later}
    assert decide(**same, score=84, last=LAST) is None  # up 14: below the jump
    assert decide(**same, score=85, last=LAST) == "score up 15 since the last alert"
    assert (
        decide(**same, score=70, strong=frozenset({"core_action", "demo_request"}), last=LAST)
        == "new signal: demo_request"
    )
    # Both: the new evidence is named, which tells a rep more than the jump.
    assert (
        decide(**same, score=105, strong=frozenset({"core_action", "demo_request"}), last=LAST)
        == "new signal: demo_request"
    )
    assert decide(previous=Track.NURTURE, current=Track.SALES_READY, now=later, last=LAST) == (
        "entered sales-ready"
    )
    assert decide(**same, score=70, last=LAST) is None  # nothing new


def test_a_new_signal_reason_keeps_every_rule_though_its_stored_text_is_cut() -> None:
    # Forty long rule ids: their names run far past what alerts.reason holds.
    many = frozenset(f"rule_{n:02d}_{'x' * 20}" for n in range(40))
    later = LAST.at + 72 * HOUR
    reason = alert_decision(
        previous=Track.SALES_READY,
        current=Track.SALES_READY,
        score=70,
        strong_rules=LAST.rules | many,
        last=LAST,
        quiet_until=None,
        routing=ROUTING,
        now=later,
    )
    assert reason is not None and reason.kind is ReasonKind.NEW_SIGNAL
    assert reason.rules == tuple(sorted(many))
    assert len(reason.text) == MAX_REASON_CHARS
    assert reason.text.startswith("new signal: rule_00_")
    assert BUNDLE.text == "bundle"


def test_a_snooze_or_a_wrong_silences_everything_until_it_ends() -> None:
    snoozed = NOW + 24 * HOUR
    assert decide(previous=None, quiet=snoozed) is None
    assert decide(previous=Track.SALES_READY, last=LAST, quiet=snoozed) is None
    assert decide(previous=None, quiet=snoozed, now=snoozed) == "entered hot"
    wrong = NOW - 24 * HOUR
    assert quiet_until(snoozed_until=None, wrong_at=wrong, routing=ROUTING) == wrong + timedelta(
        days=14
    )
    assert quiet_until(snoozed_until=NOW + timedelta(days=30), wrong_at=wrong, routing=ROUTING) == (
        NOW + timedelta(days=30)
    )
    assert quiet_until(snoozed_until=None, wrong_at=None, routing=ROUTING) is None


OFFICE = WorkingHours()  # 09:00–17:00 Mon–Fri UTC


@pytest.mark.parametrize(
    ("start", "hours", "end"),
    [
        (NOW, 1, NOW + HOUR),  # Friday 15:00 + 1 h = 16:00
        (NOW, 4, datetime(2026, 11, 23, 11, 0, tzinfo=UTC)),  # 2 h Friday, 2 h Monday
        (datetime(2026, 11, 21, 12, 0, tzinfo=UTC), 1, datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),  # Saturday
        (datetime(2026, 11, 23, 6, 0, tzinfo=UTC), 8, datetime(2026, 11, 23, 17, 0, tzinfo=UTC)),  # before opening
        (datetime(2026, 11, 23, 17, 0, tzinfo=UTC), 0.5, datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),  # at closing
    ],
)  # fmt: skip
def test_sla_clocks_run_in_working_hours_only(start: datetime, hours: float, end: datetime) -> None:
    assert add_working_hours(start, hours, OFFICE) == end


def test_working_hours_are_local_to_their_time_zone() -> None:
    berlin = WorkingHours(time_zone="Europe/Berlin")  # 09:00 Berlin is 08:00 UTC in November
    # Friday 15:00 UTC is 16:00 Berlin: 1 h left Friday, 3 h from Monday 08:00 UTC.
    assert add_working_hours(NOW, 4, berlin) == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def test_weekly_scores_and_the_sparkline() -> None:
    history = [(NOW - timedelta(days=3), 63, "nurture"), (NOW - timedelta(days=10), 41, "low-touch"),
               (NOW - timedelta(days=40), 5, "low-touch")]  # fmt: skip
    weeks = weekly_scores(history, 90, NOW)
    assert weeks == [None, None, 5, 5, 5, 5, 41, 90]
    assert sparkline(weeks, hot_at=80) == "  ▁▁▁▁▃▅"
    # A fixed scale of eight bars, each an eighth of 0 to twice hot_at: hot (80) is
    # half-high, and scores have no top, so 160 and more are a full bar.
    assert sparkline([0, 20, 21, 41, 61, 80, 81, 101, 121, 141, 160, 250], hot_at=80) == (
        "▁▁▂▃▄▄▅▆▇███"
    )
    assert sparkline([30, 60, 90], hot_at=30) == "▄██"


MAYA = Person(1, "Maya Chen", "maya@acme.com", "VP Engineering")
SAM = Person(2, "Sam Ortiz", "sam@acme.com", None)
ACME = AccountHistory(id=42, domain="acme.com", name="Acme Corp", people={1: MAYA, 2: SAM})


def scored(*evidence: Evidence, contact: int | None = 1) -> ScoreResult:
    who = Contact(contact, "Maya Chen (VP Engineering)", "maya@acme.com", "") if contact else None
    return ScoreResult(42, 87, 87.0, Dimensions(15, 50, 22, 0), Track.HOT, evidence, who, True)


INTEGRATION = Evidence(
    "integration", "product", 15, "Sam Ortiz connected PagerDuty 3 days ago", (2,)
)
DEMO = Evidence(
    "demo_request", "marketing", 35, "Maya Chen (VP Engineering) requested a demo 2 days ago", (1,)
)
TITLE = Evidence(
    "decision_maker", "fit", 15, "Maya Chen (VP Engineering) holds a decision-making title", (1,)
)
USERS = Evidence(
    "second_active_user",
    "product",
    20,
    "2 people were active in the product in the last 30 days: Maya Chen (VP Engineering) and Sam Ortiz",
    (1, 2),
)
UNSUB = Evidence(
    "unsubscribed", "marketing", -15, "Sam Ortiz unsubscribed from marketing email", (2,)
)


def test_the_opener_speaks_of_what_they_did_strongest_first() -> None:
    opener = suggested_opener(ACME, scored(DEMO, TITLE, USERS, INTEGRATION, UNSUB))
    assert opener == (
        "I saw you requested a demo 2 days ago and your team connected PagerDuty 3 days ago. "
        "Happy to walk you through whatever you're weighing up: what prompted the interest?"
    )


def test_the_opener_names_one_subject_once() -> None:
    core = Evidence(
        "core_action",
        "product",
        30,
        "Maya Chen (VP Engineering) completed a core action yesterday",
        (1,),
    )
    assert suggested_opener(ACME, scored(DEMO, core)) == (
        "I saw you requested a demo 2 days ago and completed a core action yesterday. "
        "Happy to walk you through whatever you're weighing up: what prompted the interest?"
    )


def test_the_opener_for_product_use_and_without_a_named_contact() -> None:
    assert suggested_opener(ACME, scored(INTEGRATION, contact=None)) == (
        "I saw your team connected PagerDuty 3 days ago. Teams that get this far usually want "
        "to roll it out more widely: worth comparing notes on what you're setting up?"
    )


def test_no_opener_when_no_line_names_someone() -> None:
    anonymous = Evidence(
        "core_action", "product", 30, "An anonymous visitor completed a core action"
    )
    assert suggested_opener(ACME, scored(anonymous, TITLE, USERS, UNSUB)) is None


def test_alerts_go_to_the_first_matching_segment_then_the_tracks_channel() -> None:
    routing = Routing(
        channels={"hot": "#sales-hot"},
        segments=[
            Segment(name="enterprise", channel="#enterprise", employees=Range(min=1000)),
            Segment(name="emea", channel="#emea-sales", regions=["EMEA"], tracks=["sales-ready"]),
        ],
    )

    def where(track: Track, employees: int | None, region: str | None) -> str:
        return alert_channel(
            track, employees=employees, region=region, routing=routing, default="#sales-alerts"
        )

    assert where(Track.HOT, 5000, "EMEA") == "#enterprise"
    assert where(Track.HOT, 200, "emea") == "#sales-hot"  # the EMEA segment is sales-ready only
    assert where(Track.SALES_READY, 200, " emea ") == "#emea-sales"
    assert where(Track.SALES_READY, None, None) == "#sales-alerts"
