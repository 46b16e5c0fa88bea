"""Edges of the pure core that `make mutate` found unpinned: working hours across a date
line, the weekly score history at a week's exact end, the sparkline's scale for tiny
thresholds, evidence details that are blank, not text or NUL-escaped, and event-name maps
that are empty or keyed at the root page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tipoff.core.event_names import EventNameMap
from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.routing import Track
from tipoff.core.scoring import score_account
from tipoff.core.scoring_model import WorkingHours
from tipoff.core.tally import per_model
from tipoff.core.workflow import (
    LastAlert,
    add_working_hours,
    alert_decision,
    sparkline,
    weekly_scores,
)
from tipoff.model import ScoringModel, load_default_model

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday
MODEL = load_default_model()


def test_working_hours_in_a_zone_whose_date_is_behind_utc() -> None:
    # Monday 16:30 in Los Angeles is already Tuesday 00:30 UTC: its last half hour of
    # Monday counts, then 30 minutes from Tuesday's opening.
    la = WorkingHours(time_zone="America/Los_Angeles")
    monday_1630 = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    assert add_working_hours(monday_1630, 1, la) == datetime(2026, 11, 24, 17, 30, tzinfo=UTC)


def test_weekly_scores_read_history_in_time_order_up_to_each_weeks_exact_end() -> None:
    # Stored newest first; scores that go down and up, so time order is not score order.
    history = [
        (NOW - timedelta(weeks=1), 30, "low-touch"),  # exactly the end of last week
        (NOW - timedelta(weeks=2, days=1), 70, "sales-ready"),
        (NOW - timedelta(weeks=3), 40, "low-touch"),
    ]
    assert weekly_scores(history, 55, NOW, weeks=4) == [40, 70, 30, 55]


def test_the_sparkline_scale_for_a_hot_at_of_zero() -> None:
    # hot_at 0 still gives a scale, of 0 to 2 (as for hot_at 1): 0 is the lowest bar.
    assert sparkline([0, 1, 2, 9], hot_at=0) == "▁▃▆█"
    assert sparkline([0, 1, 2, 9], hot_at=1) == "▁▃▆█"


def person() -> Person:
    return Person(2, "Sam Ortiz", "sam@acme.io", "Software Engineer")


def integration_text(properties: dict[str, object]) -> str:
    sam = person()
    history = AccountHistory(
        id=7,
        domain="acme.io",
        name="Acme",
        employees=250,
        industry="Software",
        people={sam.id: sam},
        signals=(Signal("Integration Connected", NOW - timedelta(days=1), sam.id, properties),),
    )
    result = score_account(history, MODEL, NOW)
    (line,) = [e.text for e in result.evidence if e.rule_id == "integration"]
    return line


def test_an_evidence_detail_is_non_empty_text_only() -> None:
    said = "Sam Ortiz (Software Engineer) connected {} yesterday"
    assert integration_text({"integration": "Datadog"}) == said.format("Datadog")
    assert integration_text({"integration": ""}) == said.format("an integration")
    assert integration_text({"integration": 5}) == said.format("an integration")
    assert integration_text({"integration": ["Datadog"]}) == said.format("an integration")
    assert integration_text({}) == said.format("an integration")


def test_properties_holding_a_nul_give_no_detail() -> None:
    # As in the database, where PostgreSQL cannot read NUL-escaped JSON as text.
    said = "Sam Ortiz (Software Engineer) connected {} yesterday"
    assert integration_text({"integration": "Data\x00dog"}) == said.format("an integration")
    assert integration_text({"integration": "Datadog", "note": "\x00"}) == said.format(
        "an integration"
    )


def test_an_event_name_map_is_empty_only_without_keys() -> None:
    assert not EventNameMap.build({})
    assert EventNameMap.build({"signup": "Signed Up"})
    assert EventNameMap.build({"$pageview /pricing": "Pricing Page Viewed"})


def test_a_key_at_the_root_page_is_that_page_only() -> None:
    names = EventNameMap.build({"$pageview /": "Signed Up"})
    assert names.target("$pageview", "/") == "Signed Up"
    assert names.target("$pageview", "/pricing") is None
    assert names.target("$pageview", "//pricing") is None


def test_per_model_builds_once_per_model_object_and_keeps_at_most_16() -> None:
    built: list[ScoringModel] = []

    @per_model
    def plan(model: ScoringModel) -> tuple[str, int]:
        built.append(model)
        return (model.name, len(built))

    models = [MODEL.model_copy(update={"name": f"m{n}"}) for n in range(17)]
    first = plan(models[0])
    assert first == ("m0", 1)
    assert plan(models[0]) is first  # remembered, not built again
    assert plan(models[1]) == ("m1", 2)  # another model object: its own
    for model in models[2:16]:
        plan(model)
    assert len(built) == 16
    assert plan(models[5]) == ("m5", 6)  # 16 kept
    plan(models[16])  # the 17th: the cache starts over
    assert len(built) == 17
    assert plan(models[5]) == ("m5", 18)
    assert built[-1] is models[5]


def windowed_model(*rules: dict[str, object]) -> ScoringModel:
    return ScoringModel.model_validate(
        {
            "name": "windowed",
            "events": {"product": ["Core Action Completed"], "marketing": ["Content Downloaded"]},
            "signals": list(rules),
        }
    )


def scored_evidence(model: ScoringModel, *signals: Signal) -> dict[str, tuple[float, str]]:
    sam = person()
    history = AccountHistory(id=7, domain="acme.io", name="Acme", employees=250,
                             people={sam.id: sam}, signals=signals)  # fmt: skip
    return {e.rule_id: (e.points, e.text) for e in score_account(history, model, NOW).evidence}


def test_a_decaying_each_rule_with_a_window_earns_for_signals_inside_it_only() -> None:
    model = windowed_model(
        {
            "id": "content",
            "events": ["Content Downloaded"],
            "each": True,
            "points": 4,
            "cap": 20,
            "window_days": 7,
            "says": "downloaded {count} guides",
        }
    )
    day = timedelta(days=1)
    recent = Signal("Content Downloaded", NOW - day, 2)
    assert scored_evidence(model, recent)["content"][0] == 4
    # Ten days old: outside the window, earns nothing, even beside a recent one.
    assert (
        scored_evidence(model, recent, Signal("Content Downloaded", NOW - 10 * day, 2))["content"][
            0
        ]
        == 4
    )
    # Exactly seven days old: outside too (a window holds signals younger than it).
    assert scored_evidence(model, recent, Signal("Content Downloaded", NOW - 7 * day, 2))[
        "content"
    ] == (4, "Sam Ortiz (Software Engineer) downloaded 1 guides yesterday")


def test_an_unknown_event_among_the_signals_does_not_stop_the_count() -> None:
    model = windowed_model(
        {"id": "core", "events": ["Core Action Completed"], "points": 30, "says": "did it"}
    )
    signals = (
        Signal("Something Else", NOW - timedelta(hours=1), 2),
        Signal("Core Action Completed", NOW - timedelta(hours=2), 2),
    )
    assert scored_evidence(model, *signals)["core"] == (
        30,
        "Sam Ortiz (Software Engineer) did it 2 hours ago",
    )


def test_signals_outside_the_lookback_among_the_signals_do_not_stop_the_count() -> None:
    """A replay scores past moments from the whole history, in the order it was stored:
    a signal from after the moment, or from before the lookback, may come first."""
    model = windowed_model(
        {"id": "core", "events": ["Core Action Completed"], "points": 30, "says": "did it"}
    )
    inside = Signal("Core Action Completed", NOW - timedelta(hours=2), 2)
    for outside in (
        Signal("Core Action Completed", NOW + timedelta(hours=1), 2),
        Signal("Core Action Completed", NOW - timedelta(days=model.lookback_days + 1), 2),
    ):
        assert scored_evidence(model, outside, inside)["core"] == (
            30,
            "Sam Ortiz (Software Engineer) did it 2 hours ago",
        ), outside


def test_a_models_only_detail_property_is_read() -> None:
    model = windowed_model(
        {
            "id": "content",
            "events": ["Content Downloaded"],
            "points": 4,
            "says": "downloaded {detail}",
            "detail_property": "title",
        }
    )
    signal = Signal("Content Downloaded", NOW - timedelta(days=1), 2, {"title": "the guide"})
    assert scored_evidence(model, signal)["content"] == (
        4,
        "Sam Ortiz (Software Engineer) downloaded the guide yesterday",
    )


def test_people_are_named_newest_first_with_anonymous_visitors_last() -> None:
    model = windowed_model(
        {"id": "core", "events": ["Core Action Completed"], "points": 30, "says": "did it"}
    )
    lee = Person(1, "Lee Park", None, "Software Engineer")
    sam = person()
    history = AccountHistory(
        id=7,
        domain="acme.io",
        name="Acme",
        people={lee.id: lee, sam.id: sam},
        signals=(
            Signal("Core Action Completed", NOW - timedelta(days=2), lee.id),
            Signal("Core Action Completed", NOW - timedelta(days=1), sam.id),
            Signal("Core Action Completed", NOW - timedelta(days=1), None),
        ),
    )
    (line,) = [e for e in score_account(history, model, NOW).evidence if e.rule_id == "core"]
    assert line.person_ids == (sam.id, lee.id)
    two = AccountHistory(id=7, domain="acme.io", name="Acme", people=history.people,
                         signals=history.signals[:2])  # fmt: skip
    (line_of_two,) = score_account(two, model, NOW).evidence
    assert line_of_two.person_ids == (sam.id, lee.id)  # the older one was first in the list
    assert line.text == (
        "Sam Ortiz (Software Engineer), Lee Park (Software Engineer) and an anonymous visitor "
        "did it yesterday"
    )


def test_an_each_rule_over_a_whole_category_earns_per_signal() -> None:
    model = windowed_model(
        {
            "id": "anything",
            "category": "marketing",
            "each": True,
            "points": 1,
            "cap": 5,
            "says": "did {count} things",
        }
    )
    signals = [Signal("Content Downloaded", NOW - timedelta(days=1), 2)] * 3
    assert scored_evidence(model, *signals)["anything"][0] == 3


def test_several_new_strong_signals_are_named_together_within_the_reason_column() -> None:
    last = LastAlert(Track.HOT, 90, frozenset({"core_action"}), NOW - timedelta(days=4))

    def reason(strong: set[str]) -> str | None:
        decided = alert_decision(
            previous=Track.HOT,
            current=Track.HOT,
            score=90,
            strong_rules=frozenset(strong),
            last=last,
            quiet_until=None,
            routing=MODEL.routing,
            now=NOW,
        )
        return decided.text if decided is not None else None

    assert reason({"core_action", "pricing_visits", "demo_request"}) == (
        "new signal: demo_request, pricing_visits"
    )
    many = {f"rule_{n}_{'x' * 50}" for n in range(6)}  # six ids of 57 characters
    said = reason(many)
    assert said is not None and len(said) == 255  # alerts.reason holds 255
    assert said.startswith("new signal: rule_0_xx")
