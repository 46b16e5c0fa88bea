"""The per-key rule for trait values (core/traits.py): the newest call's value wins."""

from __future__ import annotations

from datetime import UTC, datetime

from tipoff.core.traits import PERSON_COLUMNS, Stored, Writes, handed_over, merged, micros


def test_micros_are_exact() -> None:
    assert micros(datetime(1970, 1, 1, 0, 0, 1, 7, tzinfo=UTC)) == 1_000_007


def test_each_key_keeps_the_newest_value_and_its_time() -> None:
    stored = Stored({"plan": "pro", "seats": 5}, {"plan": 200, "seats": 100})
    writes = Writes(traits={"plan": ("free", 150), "seats": (9, 150), "phone": ("555", 150)})
    after = merged(stored, writes, PERSON_COLUMNS)
    assert after.traits == {"plan": "pro", "seats": 9, "phone": "555"}
    assert after.times == {"plan": 200, "seats": 150, "phone": 150}


def test_a_key_stored_without_a_time_is_older_than_any_call() -> None:
    after = merged(Stored({"plan": "pro"}), Writes(traits={"plan": ("free", 1)}), PERSON_COLUMNS)
    assert after.traits == {"plan": "free"}


def test_a_value_without_a_time_only_fills_a_gap() -> None:
    stored = Stored({"plan": "pro"})
    writes = Writes(traits={"plan": ("free", None), "phone": ("555", None)})
    after = merged(stored, writes, PERSON_COLUMNS)
    assert after.traits == {"plan": "pro", "phone": "555"} and after.times == {}


def test_a_column_follows_the_times_of_the_keys_it_is_read_from() -> None:
    # The name came from firstName/lastName at 300: a name at 200 is older.
    stored = Stored(
        {"firstName": "Maya", "lastName": "Chen"},
        {"firstName": 300, "lastName": 300},
        {"name": "Maya Chen", "title": None},
    )
    writes = Writes(
        traits={"name": ("M. Chen", 200), "title": ("CTO", 200)},
        columns={"name": ("M. Chen", 200), "title": ("CTO", 200)},
    )
    after = merged(stored, writes, PERSON_COLUMNS)
    assert after.columns == {"name": "Maya Chen", "title": "CTO"}  # an empty column fills


def test_folding_writes_keeps_the_newer_and_on_a_tie_the_later_unless_told() -> None:
    mine = Writes(traits={"a": (1, 10), "b": (1, 10)})
    mine.add(Writes(traits={"a": (2, 10), "b": (2, 5)}))
    assert mine.traits == {"a": (2, 10), "b": (1, 10)}
    mine.add(Writes(traits={"a": (3, 10)}), ties_keep_own=True)
    assert mine.traits["a"] == (2, 10)


def test_a_merged_person_hands_over_what_is_newer_and_the_survivor_keeps_ties() -> None:
    had = Stored({"plan": "pro", "seats": 5, "phone": "555"}, {"plan": 200, "seats": 100})
    survivor = Stored({"plan": "free", "seats": 3}, {"plan": 100, "seats": 100})
    handed, after = handed_over(had, survivor, PERSON_COLUMNS)
    # Newer wins; a tie is the survivor's; a key only the merged person had is handed
    # over, without a time when it had none.
    assert after.traits == {"plan": "pro", "seats": 3, "phone": "555"}
    assert after.times == {"plan": 200, "seats": 100}
    assert handed.traits == {"plan": ("pro", 200), "seats": (5, 100), "phone": ("555", None)}
