"""Edges of scoring that `make mutate` found unpinned (scoped with
`MUTANTS="'tipoff.core.scoring.*'"`), each asserted as a rep sees it: a score, a track,
an evidence line, the person to contact first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.routing import Dimensions, Track
from tipoff.core.scoring import ScoreResult, score_account
from tipoff.model import ScoringModel

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LEE = Person(3, "Lee Park", None, "Software Engineer")
SAM = Person(5, "Sam Ortiz", "sam@acme.io", "Software Engineer")


def model_of(*rules: dict[str, object], **more: object) -> ScoringModel:
    return ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {"product": ["Core Action Completed"], "marketing": ["Content Downloaded"]},
            "signals": list(rules),
            **more,
        }
    )


def scored(
    model: ScoringModel, *signals: Signal, people: tuple[Person, ...] = (LEE, SAM)
) -> ScoreResult:
    history = AccountHistory(id=7, domain="acme.io", name="Acme", employees=250,
                             people={p.id: p for p in people}, signals=signals)  # fmt: skip
    return score_account(history, model, NOW)


def line_of(result: ScoreResult, rule_id: str) -> str:
    (text,) = [e.text for e in result.evidence if e.rule_id == rule_id]
    return text


def test_people_active_at_the_same_time_are_named_in_the_order_of_their_ids() -> None:
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 30, "says": "did it"}
    )
    at = NOW - DAY
    for signals in (
        (Signal("Core Action Completed", at, SAM.id), Signal("Core Action Completed", at, LEE.id)),
        (Signal("Core Action Completed", at, LEE.id), Signal("Core Action Completed", at, SAM.id)),
    ):
        result = scored(model, *signals)
        assert line_of(result, "core") == (
            "Lee Park (Software Engineer) and Sam Ortiz (Software Engineer) did it yesterday"
        )


def test_a_rule_may_say_how_many_people_and_signals() -> None:
    model = model_of(
        {
            "id": "team",
            "events": ["Core Action Completed"],
            "points": 20,
            "min_users": 2,
            "says": "{who}: {users} people, {count} actions",
        }
    )
    at = NOW - DAY
    result = scored(
        model,
        Signal("Core Action Completed", at, LEE.id),
        Signal("Core Action Completed", at, SAM.id),
        Signal("Core Action Completed", at, SAM.id),
    )
    assert line_of(result, "team") == (
        "Lee Park (Software Engineer) and Sam Ortiz (Software Engineer): 2 people, 3 actions"
        " yesterday"
    )


def test_a_rules_verb_stays_singular_for_one_person() -> None:
    model = model_of(
        {
            "id": "pricing",
            "events": ["Core Action Completed"],
            "points": 4,
            "says": "is comparing plans",
        }
    )
    result = scored(model, Signal("Core Action Completed", NOW - DAY, SAM.id))
    assert (
        line_of(result, "pricing") == "Sam Ortiz (Software Engineer) is comparing plans yesterday"
    )


def test_a_rule_without_a_window_says_nothing_for_window() -> None:
    model = model_of(
        {
            "id": "seen",
            "events": ["Core Action Completed"],
            "points": 4,
            "says": "was active {window}",
        }
    )
    result = scored(model, Signal("Core Action Completed", NOW - DAY, SAM.id))
    # {window} stands for the time, so "yesterday" is not added either.
    assert " ".join(line_of(result, "seen").split()) == "Sam Ortiz (Software Engineer) was active"


def test_the_contact_among_equally_credited_people_is_the_one_active_last() -> None:
    model = ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {"product": ["Core Action Completed", "Teammate Invited"]},
            "signals": [
                {"id": "core", "events": ["Core Action Completed"], "points": 10,
                 "decays": False, "says": "did it"},
                {"id": "invite", "events": ["Teammate Invited"], "points": 10,
                 "decays": False, "says": "invited a teammate"},
            ],
        }
    )  # fmt: skip
    for lee_at, sam_at, first in ((NOW - 9 * DAY, NOW - DAY, SAM), (NOW - DAY, NOW - 9 * DAY, LEE)):
        result = scored(
            model,
            Signal("Core Action Completed", lee_at, LEE.id),
            Signal("Teammate Invited", sam_at, SAM.id),
        )
        assert result.contact is not None
        assert result.contact.label == first.label


def test_activity_older_than_the_baseline_is_not_compared() -> None:
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 1, "says": "did it"}
    )
    recent = [Signal("Core Action Completed", NOW - DAY, SAM.id)] * 4
    long_ago = [Signal("Core Action Completed", NOW - 50 * DAY, SAM.id)] * 30
    timing = [e for e in scored(model, *recent, *long_ago).evidence if e.dimension == "timing"]
    assert [(e.rule_id, e.points, e.text) for e in timing] == [
        (
            "rising",
            5,
            "Activity is rising: 4 signals a week in the last 7 days,"
            " against 0 a week in the 21 days before",
        )
    ]


def contact_of(model: ScoringModel, *signals: Signal) -> str | None:
    contact = scored(model, *signals).contact
    return None if contact is None else contact.label


def test_a_line_worth_a_point_names_a_contact_and_one_worth_none_does_not() -> None:
    one = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 1, "says": "did it"}
    )
    none = model_of(  # rounded to the tenth scoring keeps: 0 points
        {"id": "core", "events": ["Core Action Completed"], "points": 0.04, "says": "did it"}
    )
    signal = Signal("Core Action Completed", NOW - DAY, SAM.id)
    assert contact_of(one, signal) == SAM.label
    assert contact_of(none, signal) is None


def test_the_contact_is_found_below_stronger_lines_that_name_no_one_or_a_decision_maker() -> None:
    vp = Person(9, "Maya Chen", None, "VP Engineering")
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 10, "says": "did it"},
        fit=[
            {"id": "size", "points": 30, "employees": {"min": 100}, "says": "is mid-market"},
            {"id": "vp", "points": 20, "title_matches": ["\\bvp\\b"], "says": "holds a title"},
        ],
    )
    result = scored(model, Signal("Core Action Completed", NOW - DAY, vp.id), people=(LEE, vp))
    assert [e.rule_id for e in result.evidence] == ["size", "vp", "core"]  # strongest first
    assert result.contact is not None
    assert (result.contact.label, result.contact.why) == (
        vp.label,
        "Maya Chen (VP Engineering) did it yesterday",
    )


def test_a_lines_points_are_shared_among_the_people_it_names() -> None:
    kim = Person(4, "Kim Lo", None, "Software Engineer")
    model = ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {"product": ["Core Action Completed", "Teammate Invited"]},
            "signals": [
                {"id": "team", "events": ["Core Action Completed"], "points": 10,
                 "decays": False, "says": "did it"},
                {"id": "invite", "events": ["Teammate Invited"], "points": 6,
                 "decays": False, "says": "invited a teammate"},
            ],
        }
    )  # fmt: skip
    # Lee and Kim share the 10 points of "team", 5 each: Sam's 6 alone are more.
    result = scored(
        model,
        Signal("Core Action Completed", NOW - 2 * DAY, LEE.id),
        Signal("Core Action Completed", NOW - 2 * DAY, kim.id),
        Signal("Teammate Invited", NOW - 3 * DAY, SAM.id),
        people=(LEE, SAM, kim),
    )
    assert result.contact is not None
    assert result.contact.label == SAM.label


@pytest.mark.parametrize(
    ("dimension", "events", "says"),
    [
        (
            "product",
            ("Core Action Completed", "Teammate Invited", "Report Shared"),
            ("did it", "invited a teammate", "shared a report"),
        ),
        (
            "marketing",
            ("Content Downloaded", "Webinar Attended", "Demo Requested"),
            ("downloaded a guide", "attended a webinar", "requested a demo"),
        ),
    ],
)
def test_a_persons_lines_add_up_when_choosing_the_contact(
    dimension: str, events: tuple[str, str, str], says: tuple[str, str, str]
) -> None:
    model = ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {dimension: list(events)},
            "signals": [
                {"id": f"line{n}", "events": [event], "points": points, "decays": False,
                 "says": said}
                for n, (event, points, said) in enumerate(zip(events, (6, 6, 10), says, strict=True))
            ],
        }
    )  # fmt: skip
    # Sam's two lines, 6 + 6, are more than Lee's one of 10, though Lee's is newer.
    result = scored(
        model,
        Signal(events[0], NOW - 3 * DAY, SAM.id),
        Signal(events[1], NOW - 3 * DAY, SAM.id),
        Signal(events[2], NOW - DAY, LEE.id),
    )
    assert result.contact is not None
    assert result.contact.label == SAM.label


def test_among_equally_credited_people_the_contact_is_the_one_whose_newest_line_is_newest() -> None:
    model = ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {"product": ["Core Action Completed", "Teammate Invited", "Report Shared"]},
            "signals": [
                {"id": "core", "events": ["Core Action Completed"], "points": 8,
                 "decays": False, "says": "did it"},
                {"id": "invite", "events": ["Teammate Invited"], "points": 2,
                 "decays": False, "says": "invited a teammate"},
                {"id": "report", "events": ["Report Shared"], "points": 10,
                 "decays": False, "says": "shared a report"},
            ],
        }
    )  # fmt: skip
    # 10 points each. Sam's newest line (yesterday) is newer than Lee's (5 days ago),
    # though Sam's weaker line is older than both.
    result = scored(
        model,
        Signal("Core Action Completed", NOW - DAY, SAM.id),
        Signal("Teammate Invited", NOW - 9 * DAY, SAM.id),
        Signal("Report Shared", NOW - 5 * DAY, LEE.id),
    )
    assert result.contact is not None
    assert result.contact.label == SAM.label


def test_a_hand_raised_outweighs_product_use_by_tenths() -> None:
    model = ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {
                "product": ["Core Action Completed"],
                "marketing": ["Content Downloaded", "Webinar Attended"],
            },
            "signals": [
                {"id": "guide", "events": ["Content Downloaded"], "points": 6.4,
                 "decays": False, "says": "downloaded a guide"},
                {"id": "webinar", "events": ["Webinar Attended"], "points": 6.2,
                 "decays": False, "says": "attended a webinar"},
                {"id": "core", "events": ["Core Action Completed"], "points": 5,
                 "decays": False, "says": "did it"},
            ],
        }
    )  # fmt: skip
    # Sam's 6.4 points of marketing intent beat Lee's 6.2, though Lee has more in all.
    result = scored(
        model,
        Signal("Content Downloaded", NOW - 3 * DAY, SAM.id),
        Signal("Webinar Attended", NOW - 3 * DAY, LEE.id),
        Signal("Core Action Completed", NOW - 3 * DAY, LEE.id),
    )
    assert result.contact is not None
    assert result.contact.label == SAM.label


def test_product_credit_is_compared_to_the_tenth_before_who_was_active_last() -> None:
    model = ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {"product": ["Core Action Completed", "Teammate Invited"]},
            "signals": [
                {"id": "core", "events": ["Core Action Completed"], "points": 6.4,
                 "decays": False, "says": "did it"},
                {"id": "invite", "events": ["Teammate Invited"], "points": 6.2,
                 "decays": False, "says": "invited a teammate"},
            ],
        }
    )  # fmt: skip
    result = scored(
        model,
        Signal("Core Action Completed", NOW - 9 * DAY, SAM.id),
        Signal("Teammate Invited", NOW - DAY, LEE.id),
    )
    assert result.contact is not None
    assert result.contact.label == SAM.label  # 6.4 points against 6.2, though older


def test_people_tied_in_everything_give_the_contact_first_known() -> None:
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 10, "says": "did it"}
    )
    at = NOW - DAY
    for signals in (
        (Signal("Core Action Completed", at, SAM.id), Signal("Core Action Completed", at, LEE.id)),
        (Signal("Core Action Completed", at, LEE.id), Signal("Core Action Completed", at, SAM.id)),
    ):
        assert contact_of(model, *signals) == LEE.label  # the lower id: known to Tipoff first


def test_fit_lines_say_who_matched_and_what_the_account_is() -> None:
    vp = Person(9, "Maya Chen", None, "VP Engineering")
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 10, "says": "did it"},
        fit=[
            {"id": "vp", "points": 20, "title_matches": ["\\bvp\\b"], "says": "holds a title"},
            {"id": "saas", "points": 10, "industry_in": ["software"], "says": "is in software"},
        ],
    )
    history = AccountHistory(id=7, domain="acme.io", name="Acme", industry="Software",
                             people={LEE.id: LEE, vp.id: vp}, signals=())  # fmt: skip
    result = score_account(history, model, NOW)
    assert [e.text for e in result.evidence] == [
        "Maya Chen (VP Engineering) holds a title",
        "Acme (Software) is in software",
    ]


def test_the_contact_comes_with_their_email_and_why() -> None:
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 10, "says": "did it"}
    )
    contact = scored(model, Signal("Core Action Completed", NOW - DAY, SAM.id)).contact
    assert contact is not None
    assert (contact.person_id, contact.label, contact.email, contact.why) == (
        SAM.id,
        "Sam Ortiz (Software Engineer)",
        "sam@acme.io",
        "Sam Ortiz (Software Engineer) did it yesterday",
    )


def test_an_excluded_account_scores_nothing_in_every_part_and_says_why() -> None:
    vp = Person(9, "Maya Chen", None, "VP Engineering")
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 30, "says": "did it"},
        fit=[{"id": "vp", "points": 20, "title_matches": ["\\bvp\\b"], "says": "holds a title"}],
        exclude={"domains": ["acme.io"]},
    )
    history = AccountHistory(id=7, domain="qa.acme.io", name="Acme QA", people={vp.id: vp},
                             signals=(Signal("Core Action Completed", NOW - DAY, vp.id),))  # fmt: skip
    result = score_account(history, model, NOW)
    assert result.excluded
    assert (result.account_id, result.score, result.raw_points) == (7, 0, 0.0)
    assert result.dimensions == Dimensions(0.0, 0.0, 0.0, 0.0)
    assert result.track is Track.LOW_TOUCH
    assert result.title_match is False
    assert result.contact is None
    assert [(e.rule_id, e.dimension, e.points, e.text) for e in result.evidence] == [
        (
            "excluded",
            "fit",
            0.0,
            "qa.acme.io is excluded by the model (an internal, test or competitor domain)",
        )
    ]
    assert result.whole.total == 0


def test_title_match_says_whether_a_title_rule_matched() -> None:
    vp = Person(9, "Maya Chen", None, "VP Engineering")
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 30, "says": "did it"},
        fit=[{"id": "vp", "points": 20, "title_matches": ["\\bvp\\b"], "says": "holds a title"}],
    )
    signal = Signal("Core Action Completed", NOW - DAY, SAM.id)
    assert scored(model, signal, people=(LEE, SAM)).title_match is False
    assert scored(model, signal, people=(SAM, vp)).title_match is True


@pytest.mark.parametrize(
    "events",
    [
        ["Core Action Completed", "Teammate Invited"],
        ["Core Action Completed", "Teammate Invited", "Dashboard Viewed"],  # none of the third
    ],
)
def test_a_rule_over_several_events_counts_each_of_them(events: list[str]) -> None:
    model = ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {"product": ["Core Action Completed", "Teammate Invited", "Report Shared",
                                   "Dashboard Viewed"]},
            "signals": [
                {"id": "team", "events": events, "points": 2, "each": True, "decays": False,
                 "says": "did {count} things"},
            ],
        }
    )  # fmt: skip
    result = scored(
        model,
        Signal("Teammate Invited", NOW - DAY, SAM.id),
        Signal("Teammate Invited", NOW - DAY, SAM.id),
        Signal("Core Action Completed", NOW - DAY, SAM.id),
        Signal("Report Shared", NOW - DAY, SAM.id),  # not one of the rule's events
    )
    (team,) = [e for e in result.evidence if e.rule_id == "team"]
    assert (team.points, team.text) == (6, "Sam Ortiz (Software Engineer) did 3 things yesterday")


def test_marketing_activity_alone_can_be_rising() -> None:
    model = model_of(
        {"id": "guide", "events": ["Content Downloaded"], "points": 1, "says": "downloaded a guide"}
    )
    recent = [Signal("Content Downloaded", NOW - DAY, SAM.id)] * 4
    timing = [e.rule_id for e in scored(model, *recent).evidence if e.dimension == "timing"]
    assert timing == ["rising"]


def test_people_the_account_no_longer_lists_are_counted_with_its_anonymous_visitors() -> None:
    model = model_of(
        {"id": "core", "events": ["Core Action Completed"], "points": 30, "says": "did it"}
    )
    at = NOW - DAY
    # Persons 8 and 9 did it here, then moved on (or were merged away): their signals stay.
    result = scored(
        model,
        Signal("Core Action Completed", at, 8),
        Signal("Core Action Completed", at - DAY, 9),
        Signal("Core Action Completed", at - 2 * DAY, LEE.id),
        Signal("Core Action Completed", at - 3 * DAY),
    )
    assert line_of(result, "core") == (
        "Lee Park (Software Engineer) and 3 anonymous visitors did it yesterday"
    )


@pytest.mark.parametrize("datadog_first", [True, False])
def test_a_persons_newest_signal_dates_the_line_whatever_order_the_sums_come_in(
    datadog_first: bool,
) -> None:
    # One person's signals of a rule land in several sums when their details differ, and
    # the database returns sums in no particular order: the line is dated (and its
    # points decayed) by the newest, not by whichever sum came last.
    model = model_of(
        {"id": "integration", "events": ["Integration Connected"], "points": 15,
         "says": "connected {detail}", "detail_property": "integration"},
        events={"product": ["Integration Connected"], "marketing": []},
    )  # fmt: skip
    datadog = Signal("Integration Connected", NOW - 3 * DAY, SAM.id, {"integration": "Datadog"})
    slack = Signal("Integration Connected", NOW - 20 * DAY, SAM.id, {"integration": "Slack"})
    result = scored(model, *((datadog, slack) if datadog_first else (slack, datadog)))
    (line,) = [e for e in result.evidence if e.rule_id == "integration"]
    assert line.text == "Sam Ortiz (Software Engineer) connected Datadog and Slack 3 days ago"
    assert (line.points, line.at) == (15.0, NOW - 3 * DAY)
