"""Edges of the title patterns' check that `make mutate` found unpinned (scoped with
`MUTANTS="'tipoff.core.titles.*'"`): what `tipoff model check` tells the author of a
refused pattern, in full, since the message is what they act on."""

from __future__ import annotations

from tipoff.core.titles import problems


def test_a_slow_pattern_is_refused_with_what_to_write_instead() -> None:
    assert problems(["\\bcto\\b", "^(\\w+\\s?)+$"]) == [
        (
            1,
            "'^(\\w+\\s?)+$' repeats a part that can itself match in several ways"
            " (as in `(\\w+\\s?)+`): a title it does not match can take minutes to rule out;"
            " name the words instead, as in 'vp|vice president'",
        )
    ]
