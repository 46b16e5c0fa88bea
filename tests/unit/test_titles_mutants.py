"""Edges of the title patterns' check that `make mutate` found unpinned (scoped with
`MUTANTS="'tipoff.core.titles.*'"`): what `tipoff model check` tells the author of a
refused pattern, in full, since the message is what they act on."""

from __future__ import annotations

import pytest

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


def test_patterns_that_cannot_follow_the_others_are_refused_each_with_what_to_write() -> None:
    patterns = ["\\b(?P<role>cto)\\b", "(?i)\\bowner\\b", "(ab)\\1", "(?P<role>cro)", "vp("]
    found = problems(patterns)
    # The third is re's own words after ours: its positions are re's to change.
    assert found[2][0] == 3
    assert found[2][1].startswith(
        "'(?P<role>cro)' cannot be matched with the rule's other patterns before it:"
        " redefinition of group name 'role' as group 2"
    )
    assert found[:2] + found[3:] == [
        (
            1,
            "'(?i)\\bowner\\b' cannot be matched with the rule's other patterns: an inline flag"
            " there must apply to a part, as in (?s:…), not the whole expression; titles are"
            " matched case-insensitively already, so (?i) is not needed",
        ),
        (
            2,
            "'(ab)\\1' refers to a group by number, which would count the groups of the rule's"
            " other patterns: name the group, (?P<name>…) and (?P=name)",
        ),
        (
            4,
            "'vp(' is not a valid regular expression: missing ), unterminated subpattern"
            " at position 2",
        ),
    ]


def test_the_first_pattern_may_refer_to_its_own_groups_by_number() -> None:
    assert problems(["(ab)\\1", "\\bcto\\b"]) == []


def test_a_later_pattern_may_refer_to_its_own_groups_by_name() -> None:
    named = ["(?P<w>vp)\\s(?P=w)", "(?P<x>vice)?\\s?(?(x)president|chair)"]
    assert problems(["\\bcto\\b", *named]) == []


@pytest.mark.parametrize(
    "pattern",
    [
        "(vice)?\\s?(?(1)president|chair)",  # a condition on group 1
        "(vp)\\s\\1s?",  # a reference before a repeated part
        "(vp)(?:\\s\\1)?",  # a reference inside a group
        "(vp)(?=\\s\\1|\\1)",  # inside a lookahead
        "(vp)\\s(\\1|chief)",  # in the first of two alternatives
    ],
)
def test_a_later_pattern_that_refers_to_a_group_by_number_is_refused(pattern: str) -> None:
    ((index, why),) = problems(["\\bcto\\b", pattern])
    assert index == 1
    assert why.startswith(f"'{pattern}' refers to a group by number")


@pytest.mark.parametrize(
    "pattern",
    [
        "\\bvps?\\b",  # a variable part, not inside a repetition
        "(?:senior\\s+)?vp",  # inside a part that may appear once: not repeated
        "(ab)+",  # a repeated part of fixed length
        "(?:vp|vice president)",  # alternatives, not repeated
        "(?P<s>ab)?(?(s)c+|d)",  # a condition's branches, not repeated
    ],
)
def test_a_pattern_quick_to_rule_out_is_accepted(pattern: str) -> None:
    assert problems(["\\bcto\\b", pattern]) == []


@pytest.mark.parametrize(
    "pattern",
    [
        "(\\w+\\s?){2}",  # repeated twice: a part of variable length, tried again
        "(ab)?(?(1)(\\w+\\s?)+|d)",  # in a condition's first branch
        "(ab)?(?(1)d|(\\w+\\s?)+)",  # in its second
        "(ab)?(?(1)(\\w+\\s?)+)",  # a condition without a second branch
        "(?=(\\w+\\s?)+)vp",  # in a lookahead
        "(?>(\\w+\\s?)+)",  # in an atomic group
    ],
)
def test_a_pattern_slow_to_rule_out_is_refused_wherever_the_repetition_sits(
    pattern: str,
) -> None:
    ((index, why),) = problems(["\\bcto\\b", pattern])
    assert index == 1
    assert why.startswith(f"'{pattern}' repeats a part that can itself match in several ways")
