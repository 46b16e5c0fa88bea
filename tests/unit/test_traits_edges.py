"""Trait writes at the edges `make mutate` found unpinned (scoped with
`MUTANTS="'tipoff.core.traits.*'"`): columns replaced by a newer or equally new call, a
tie by default, a column left out of a call, a merged person's stored values handed over."""

from __future__ import annotations

from tipoff.core.traits import Stored, Writes, merged

COLUMNS = {"name": ("name",), "title": ("title",)}


def stored_ana() -> Stored:
    return Stored({"name": "Ana"}, {"name": 100}, {"name": "Ana"})


def test_a_newer_call_replaces_a_stored_column() -> None:
    writes = Writes(traits={"name": ("Ana Ruiz", 200)}, columns={"name": ("Ana Ruiz", 200)})
    after = merged(stored_ana(), writes, COLUMNS)
    assert (after.columns["name"], after.traits["name"], after.times["name"]) == (
        "Ana Ruiz",
        "Ana Ruiz",
        200,
    )


def test_an_equally_new_call_wins_a_tie_by_default_and_not_when_told() -> None:
    writes = Writes(traits={"name": ("Ana Ruiz", 100)}, columns={"name": ("Ana Ruiz", 100)})
    after = merged(stored_ana(), writes, COLUMNS)
    assert (after.columns["name"], after.traits["name"]) == ("Ana Ruiz", "Ana Ruiz")
    kept = merged(stored_ana(), writes, COLUMNS, ties_win=False)
    assert (kept.columns["name"], kept.traits["name"]) == ("Ana", "Ana")


def test_a_column_a_call_leaves_empty_does_not_stop_the_others() -> None:
    writes = Writes(columns={"name": (None, 200), "title": ("CTO", 200)})
    after = merged(stored_ana(), writes, COLUMNS)
    assert after.columns == {"name": "Ana", "title": "CTO"}


def test_a_merged_persons_stored_values_are_handed_over_with_their_times() -> None:
    stored = Stored(
        {"name": "Ana", "plan": "pro"},
        {"name": 100, "title": 150},
        {"name": "Ana", "title": None, "unknown": "x"},
    )
    assert Writes.of_stored(stored, COLUMNS) == Writes(
        traits={"name": ("Ana", 100), "plan": ("pro", None)}, columns={"name": ("Ana", 100)}
    )
