"""Finding an erased person in stored text: every spelling of them goes, nobody else does."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import pytest
from sqlalchemy import JSON, String

from tipoff.core.history import AccountHistory, Person
from tipoff.core.routing import Dimensions, Track
from tipoff.core.scoring import Contact, Evidence, ScoreResult
from tipoff.privacy import Redaction
from tipoff.slack.blocks import alert_message
from tipoff.store.erasures import PERSON_FREE, SCRUBBED
from tipoff.store.tables import metadata

JOSE = Redaction.of(name="José Núñez", email="jose.nunez@acme.io", title="VP Sales")
ANN = Redaction.of(name="Ann O'Neil & Sons", email="ann@acme.io", title=None)
ZED = Redaction.of(name='<Zed> "Quinn" Vale', email="zed@acme.io", title="CTO")


@pytest.mark.parametrize(
    ("redaction", "stored", "erased"),
    [
        (JOSE, "José Núñez (VP Sales) requested a demo", "[removed] requested a demo"),
        (JOSE, unicodedata.normalize("NFD", "José Núñez left"), "[removed] left"),
        (JOSE, "JOSÉ  NÚÑEZ\u00a0left", "[removed]\u00a0left"),
        (JOSE, json.dumps("by José Núñez"), '"by [removed]"'),
        (JOSE, "Jos\\u00E9 N\\u00fa\\u00f1ez", "[removed]"),
        (JOSE, "write to JOSE.NUNEZ@acme.io (VP Sales) now", "write to [removed] now"),
        (JOSE, "<mailto:jose.nunez@acme.io|jose.nunez@acme.io>", "<mailto:[removed]|[removed]>"),
        (ANN, "• Ann O'Neil &amp; Sons and Sam Ortiz", "• [removed] and Sam Ortiz"),
        (ANN, "Ann O&#x27;Neil &#38; Sons, Ann O’Neil & Sons", "[removed], [removed]"),
        (ZED, "&lt;Zed&gt; &quot;Quinn&quot; Vale (CTO) and Sam", "[removed] and Sam"),
        (ZED, "<Zed> “Quinn” Vale said", "[removed] said"),
        # Cut short by a layout's clipping, whatever was left.
        (JOSE, "• Sam Ortiz and José Nú… (+20)", "• Sam Ortiz and [removed]… (+20)"),
        (ANN, "Sam Ortiz and Ann O'Neil …", "Sam Ortiz and [removed]…"),
    ],
)
def test_every_spelling_of_the_person_is_erased(
    redaction: Redaction, stored: str, erased: str
) -> None:
    assert redaction.text(stored) == erased


@pytest.mark.parametrize(
    "stored",
    [
        "Sam Ortiz (Engineer) started 9 sessions",
        "José Núñezova and Annabel",  # a longer name is someone else
        "Ann O'Neil & Sonsdottir",
        "jose.nunez@acme.io.example",  # someone else's addresses
        "a.jose.nunez@acme.io",
        "J… and 3 others",  # one letter before a cut is nobody
        unicodedata.normalize("NFD", "Renée"),  # untouched text keeps its normalisation
    ],
)
def test_other_text_is_left_exactly_as_it_was(stored: str) -> None:
    assert JOSE.text(stored) is stored and ANN.text(stored) is stored


def test_parsed_json_is_walked_keys_and_all() -> None:
    stored = {
        "José Núñez": [{"text": "Hi José Núñez", "n": 3}, None, True],
        "contact": {"label": "José Núñez (VP Sales)", "email": "jose.nunez@acme.io"},
    }
    assert JOSE.apply(stored) == {
        "[removed]": [{"text": "Hi [removed]", "n": 3}, None, True],
        "contact": {"label": "[removed]", "email": "[removed]"},
    }


def test_json_nested_deeper_than_python_recursion_is_walked() -> None:
    # Stored before ingest capped nesting: deeper than any recursive walk could go.
    depth = 5_000
    stored: object = {"invitee": "jose.nunez@acme.io", "by": "Ann"}
    for level in range(depth):
        stored = [stored] if level % 2 else {"José Núñez": stored}
    erased = JOSE.apply(stored)
    for level in reversed(range(depth)):
        if level % 2:
            assert isinstance(erased, list) and len(erased) == 1
            erased = erased[0]
        else:
            assert isinstance(erased, dict) and list(erased) == ["[removed]"]
            erased = erased["[removed]"]
    assert erased == {"invitee": "[removed]", "by": "Ann"}


def test_an_alert_clipped_inside_the_name_keeps_nothing_of_it() -> None:
    # A title long enough that the evidence line (at most 500 characters) ends in "José Nú".
    before = "Sam Ortiz () and "
    title = ("Director of Revenue Operations, " * 20)[: 499 - len(before) - len("José Nú")]
    sam = Person(2, "Sam Ortiz", "sam@acme.io", title)
    jose = Person(1, "José Núñez", "jose.nunez@acme.io", "VP Sales")
    line = f"{sam.label} and {jose.label} started 9 sessions in the last 14 days"
    result = ScoreResult(
        account_id=42,
        score=90,
        raw_points=90,
        dimensions=Dimensions(fit=15, product=70, marketing=0, timing=5),
        track=Track.HOT,
        evidence=(Evidence("sessions", "product", 20, line, (2, 1)),),
        contact=Contact(1, jose.label, jose.email, line),
        title_match=True,
    )
    account = AccountHistory(id=42, domain="acme.io", name="Acme", people={1: jose, 2: sam})
    now = datetime(2026, 11, 20, tzinfo=UTC)
    message = alert_message(account, result, now=now)
    why_now = message.blocks[3]["text"]["text"]
    assert " and José Nú… (+20)" in why_now  # clipped inside the name

    erased = json.dumps(JOSE.apply(message.blocks), ensure_ascii=False)
    assert "Jos" not in erased and "jose" not in erased
    assert "Sam Ortiz" in erased


def test_every_text_column_is_either_scrubbed_or_said_to_hold_no_person() -> None:
    scrubbed = {f"{c.table.name}.{name}" for c, names in SCRUBBED for name in names}
    person_free = {entry for key in PERSON_FREE for entry in key.split()}
    text_columns = {
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | JSON)
    }
    unplaced = {
        c
        for c in text_columns
        if c not in scrubbed and c not in person_free and f"{c.split('.')[0]}.*" not in person_free
    }
    assert unplaced == set(), "say in privacy.py whether these can quote a person"
    assert scrubbed <= text_columns and not scrubbed & person_free
    named = {p for p in person_free if not p.endswith(".*")}
    assert named <= text_columns, "PERSON_FREE names columns that are gone"
