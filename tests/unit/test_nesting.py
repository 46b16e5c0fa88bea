"""How deeply JSON nests, measured without recursion."""

from __future__ import annotations

from typing import Any

import pytest

from tipoff.core.nesting import nesting_depth


@pytest.mark.parametrize(
    ("value", "depth"),
    [
        ("text", 0),
        (None, 0),
        ({}, 1),
        ([1, "a"], 1),
        ({"items": [1]}, 2),
        ({"a": {"b": {}}, "c": [[[]]]}, 4),
        ([{"x": 1}, [[{"y": [2]}]]], 5),
    ],
)
def test_depth_counts_objects_and_arrays_one_inside_another(value: object, depth: int) -> None:
    assert nesting_depth(value) == depth


def test_a_value_deeper_than_python_recursion_is_measured() -> None:
    value: Any = []
    for _ in range(99_999):
        value = [value]
    assert nesting_depth(value) == 100_000


def test_with_a_limit_the_walk_stops_just_past_it() -> None:
    value: Any = {}
    for _ in range(99):
        value = {"more": value}
    assert nesting_depth(value, limit=32) == 33
    assert nesting_depth(value, limit=100) == 100
