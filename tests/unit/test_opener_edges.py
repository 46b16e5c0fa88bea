"""The suggested opener at the edge `make mutate` found unpinned (scoped with
`MUTANTS="'tipoff.core.opener.*'"`): which lines are worth opening with."""

from __future__ import annotations

from tests.unit.test_workflow_rules import ACME, scored
from tipoff.core.opener import suggested_opener
from tipoff.core.scoring import Evidence

CLOSER = "Happy to walk you through whatever you're weighing up: what prompted the interest?"


def test_a_line_worth_one_point_is_something_to_open_with() -> None:
    guide = Evidence("guide", "marketing", 1, "Sam Ortiz downloaded a guide yesterday", (2,))
    assert suggested_opener(ACME, scored(guide)) == (
        f"I saw your team downloaded a guide yesterday. {CLOSER}"
    )


def test_a_line_worth_nothing_is_not() -> None:
    faded = Evidence("guide", "marketing", 0, "Sam Ortiz downloaded a guide 90 days ago", (2,))
    assert suggested_opener(ACME, scored(faded)) is None


def test_the_opener_speaks_of_two_lines_at_most() -> None:
    demo = Evidence("demo", "marketing", 35, "Sam Ortiz requested a demo 2 days ago", (2,))
    pricing = Evidence("pricing", "marketing", 20, "Sam Ortiz viewed pricing yesterday", (2,))
    guide = Evidence("guide", "marketing", 5, "Sam Ortiz downloaded a guide today", (2,))
    assert suggested_opener(ACME, scored(demo, pricing, guide)) == (
        f"I saw your team requested a demo 2 days ago and viewed pricing yesterday. {CLOSER}"
    )
