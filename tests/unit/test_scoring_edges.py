"""Edges of scoring that `make mutate` found unpinned (scoped with
`MUTANTS="'tipoff.core.scoring.*'"`): rules the default model file does not use, such as
an `each` rule that does not decay, a `says` that places who and when itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.scoring import score_account
from tipoff.model import ScoringModel

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SAM = Person(2, "Sam Ortiz", "sam@acme.io", "Software Engineer")


def model_of(*rules: dict[str, object]) -> ScoringModel:
    return ScoringModel.model_validate(
        {
            "name": "edges",
            "events": {"product": ["Core Action Completed"], "marketing": ["Content Downloaded"]},
            "signals": list(rules),
        }
    )


def points_by_rule(model: ScoringModel, *signals: Signal) -> dict[str, float]:
    history = AccountHistory(id=7, domain="acme.io", name="Acme", employees=250,
                             people={SAM.id: SAM}, signals=signals)  # fmt: skip
    return {e.rule_id: e.points for e in score_account(history, model, NOW).evidence}


def test_an_each_rule_that_does_not_decay_earns_its_points_per_signal_up_to_its_cap() -> None:
    model = model_of(
        {
            "id": "guides",
            "events": ["Content Downloaded"],
            "each": True,
            "decays": False,
            "points": 3,
            "cap": 10,
            "says": "downloaded {count} guides",
        }
    )
    # Old signals earn full points: the rule does not decay.
    two = [Signal("Content Downloaded", NOW - 40 * DAY, SAM.id)] * 2
    assert points_by_rule(model, *two)["guides"] == 6
    five = [Signal("Content Downloaded", NOW - 40 * DAY, SAM.id)] * 5
    assert points_by_rule(model, *five)["guides"] == 10  # 15, capped at 10


def test_a_rule_may_place_who_and_when_itself() -> None:
    model = model_of(
        {
            "id": "guide",
            "events": ["Content Downloaded"],
            "points": 4,
            "says": "{when}, {who} downloaded a guide",
        }
    )
    history = AccountHistory(id=7, domain="acme.io", name="Acme", people={SAM.id: SAM},
                             signals=(Signal("Content Downloaded", NOW - DAY, SAM.id),))  # fmt: skip
    (line,) = [e for e in score_account(history, model, NOW).evidence if e.rule_id == "guide"]
    assert line.text == "Yesterday, Sam Ortiz (Software Engineer) downloaded a guide"


def test_a_rules_verb_agrees_with_several_people() -> None:
    model = model_of(
        {
            "id": "pricing",
            "events": ["Core Action Completed"],
            "points": 4,
            "says": "was on the pricing page",
        }
    )
    lee = Person(3, "Lee Park", None, "Software Engineer")
    history = AccountHistory(id=7, domain="acme.io", name="Acme", people={SAM.id: SAM, lee.id: lee},
                             signals=(Signal("Core Action Completed", NOW - DAY, SAM.id),
                                      Signal("Core Action Completed", NOW - DAY, lee.id)))  # fmt: skip
    (line,) = [e for e in score_account(history, model, NOW).evidence if e.rule_id == "pricing"]
    assert line.text == (
        "Sam Ortiz (Software Engineer) and Lee Park (Software Engineer) were on the pricing page "
        "yesterday"
    )
