"""The words evidence lines are made of (core.evidence), at each edge of each rule: when
"3 hours ago" becomes "yesterday", how many names are written out, how a verb agrees
with several people, how counts and windows are written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tipoff.core import evidence as say
from tipoff.core.history import Person

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "just now"),
        (119, "just now"),
        (120, "2 minutes ago"),
        (3599, "59 minutes ago"),
        (3600, "an hour ago"),
        (7199, "an hour ago"),
        (7200, "2 hours ago"),
        (86399, "23 hours ago"),
        (86400, "yesterday"),
        (2 * 86400 - 1, "yesterday"),
        (2 * 86400, "2 days ago"),
        (13 * 86400, "13 days ago"),
        (14 * 86400, "2 weeks ago"),
        (59 * 86400, "8 weeks ago"),
        (60 * 86400, "2 months ago"),
        (365 * 86400, "12 months ago"),
    ],
)
def test_how_long_ago_at_each_edge(seconds: int, said: str) -> None:
    assert say.ago(NOW - timedelta(seconds=seconds), NOW) == said


@pytest.mark.parametrize(
    ("days", "said"),
    [(1, "day"), (1.0, "day"), (7, "7 days"), (1.5, "1.5 days"), (0.5, "0.5 days")],
)
def test_a_window_is_written_as_the_model_file_gives_it(days: float, said: str) -> None:
    assert say.span(days) == said


@pytest.mark.parametrize(
    ("names", "said"),
    [
        ([], "someone"),
        (["Ana"], "Ana"),
        (["Ana", "Ben"], "Ana and Ben"),
        (["Ana", "Ben", "Cy"], "Ana, Ben and Cy"),
        (["Ana", "Ben", "Cy", "Di"], "Ana, Ben and 2 others"),
        (["Ana", "Ben", "Cy", "Di", "Ed"], "Ana, Ben and 3 others"),
    ],
)
def test_up_to_three_names_are_written_out(names: list[str], said: str) -> None:
    assert say.join_names(names) == said


def test_anonymous_visitors_are_counted_after_the_named_people() -> None:
    sam = Person(2, "Sam Ortiz", None, "Software Engineer")
    assert say.who([None]) == "an anonymous visitor"
    assert say.who([sam, None, None]) == "Sam Ortiz (Software Engineer) and 2 anonymous visitors"
    assert say.who([]) == "someone"


@pytest.mark.parametrize(
    ("phrase", "several"),
    [
        ("holds a decision-making title", "hold a decision-making title"),
        ("is evaluating", "are evaluating"),
        ("was on the pricing page", "were on the pricing page"),
        ("has two seats", "have two seats"),
        ("does a trial", "do a trial"),
        ("visits", "visit"),
        ("access the API", "access the API"),  # "ss" is no third-person "s"
        ("connected PagerDuty", "connected PagerDuty"),
    ],
)
def test_a_verb_agrees_with_several_people(phrase: str, several: str) -> None:
    assert say.agree(phrase, several=True) == several
    assert say.agree(phrase, several=False) == phrase


@pytest.mark.parametrize(
    ("count", "said"),
    [(1, "1 signal"), (0, "0 signals"), (3, "3 signals"), (1.7, "1.7 signals"), (4.0, "4 signals")],
)
def test_a_count_agrees_with_its_noun(count: float, said: str) -> None:
    assert say.plural(count, "signal") == said


def test_counts_are_grouped_by_thousands_only_when_asked() -> None:
    assert say.plural(2, "person", "people") == "2 people"
    assert say.plural(1, "person", "people") == "1 person"
    assert say.plural(48210, "signal", grouped=True) == "48,210 signals"
    assert say.plural(48210, "signal") == "48210 signals"
    assert say.number(1234.5, grouped=True) == "1,234.5"
    assert say.number(1234.5) == "1234.5"


def test_a_weekly_rate_to_one_decimal() -> None:
    assert say.per_week(4, 7) == 4.0
    assert say.per_week(5, 21) == 1.7
    assert say.per_week(0, 28) == 0.0
    assert say.per_week(3, 14) == 1.5


def test_a_duration_in_whole_days() -> None:
    assert say.duration(timedelta(days=1, hours=23)) == "1 day"
    assert say.duration(timedelta(days=45)) == "45 days"
