"""How evidence names people: by what a rep can act on, never "an unnamed user"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.scoring import score_account
from tipoff.model import load_default_model

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("person", "label"),
    [
        (Person(1, "Maya Chen", "maya@acme.io", "VP Sales"), "Maya Chen (VP Sales)"),
        (Person(1, None, "maya@acme.io", "VP Sales"), "maya@acme.io (VP Sales)"),
        (Person(1, None, None, None, "u-4711"), "user u-4711"),
        (Person(1, None, None, "CTO", "u-4711"), "user u-4711 (CTO)"),
        (Person(1), "an anonymous visitor"),
    ],
)
def test_a_person_is_named_by_name_then_email_then_user_id(person: Person, label: str) -> None:
    assert person.label == label


def test_a_demo_request_from_someone_known_only_by_user_id_names_that_id() -> None:
    history = AccountHistory(
        id=1,
        domain="acme.io",
        name="Acme",
        people={9: Person(9, user_id="u-4711")},
        signals=(Signal("Demo Requested", NOW - timedelta(days=2), 9),),
    )
    result = score_account(history, load_default_model(), NOW)
    texts = [e.text for e in result.evidence]
    assert "User u-4711 requested a demo 2 days ago" in texts
    assert not any("unnamed" in text for text in texts)
