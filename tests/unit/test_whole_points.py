"""The score is rounded once and its parts add up to it, in every surface that shows them.

Whatever the evidence (decayed points have fractions), the whole points shown for the four
dimensions add up to the score, each dimension's evidence lines add up to the dimension,
and no part is a whole point or more from its exact value: in the alert, the lookup and
`tipoff score --json` alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from tipoff.cli.accounts import score_json
from tipoff.core.history import AccountHistory
from tipoff.core.routing import Dimensions, Track
from tipoff.core.scoring import DIMENSIONS, Evidence, ScoreResult, score_of
from tipoff.scores.lookup import Lookup
from tipoff.slack import blocks

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ACCOUNT = AccountHistory(id=7, domain="atlasmutual.com", name="Atlas Mutual Insurance")

# Points as scoring makes them: to the tenth, decayed rules anywhere in between.
LINE = st.tuples(st.sampled_from(DIMENSIONS), st.integers(min_value=-400, max_value=1200))
EVIDENCE = st.lists(LINE, max_size=blocks.ALERT_EVIDENCE_LINES)


def result_of(lines: list[tuple[str, int]]) -> ScoreResult:
    evidence = tuple(
        Evidence(f"rule_{i}", dimension, tenths / 10, f"Signal {i}")
        for i, (dimension, tenths) in enumerate(lines)
    )
    exact = {name: sum(e.points for e in evidence if e.dimension == name) for name in DIMENSIONS}
    raw = sum(tenths for _, tenths in lines) / 10
    return ScoreResult(
        account_id=ACCOUNT.id,
        score=score_of(raw),
        raw_points=raw,
        dimensions=Dimensions(**exact),
        track=Track.SALES_READY,
        evidence=evidence,
        contact=None,
        title_match=False,
    )


def shown_points(text: str) -> int:
    return 0 if text == "0" else int(text)


def rendered_dimensions(message: blocks.SlackMessage) -> list[int]:
    (fields,) = [b["fields"] for b in message.blocks if "fields" in b]
    return [shown_points(f["text"].split("\n")[1]) for f in fields]


def rendered_lines(message: blocks.SlackMessage) -> list[int]:
    """The points at the end of each evidence line ("• … (+35)")."""
    text = "\n".join(
        b["text"]["text"] for b in message.blocks if b.get("type") == "section" and "text" in b
    )
    return [shown_points(p) for p in re.findall(r"^• .*\(([-+]?\d+)\)$", text, re.MULTILINE)]


# The demo's Atlas Mutual: product 77.6 and marketing 2.6 were shown as 78 + 3 under 80.
@example([("product", 776), ("marketing", 26)])
@example([("product", 355), ("product", 205), ("timing", -5)])  # halves, and a total on one
@example([("marketing", -150), ("timing", -200)])  # below 0: reads 0, the parts as they are
@given(EVIDENCE)
def test_the_shown_parts_add_up_to_the_shown_score_everywhere(lines: list[tuple[str, int]]) -> None:
    result = result_of(lines)
    whole = result.whole
    exact = Fraction(sum(tenths for _, tenths in lines), 10)

    # Rounded once: the total is the exact sum rounded, the score that floored at 0.
    assert whole.total == round(exact)
    assert result.score == max(0, whole.total)
    dimensions = [whole.dimension(name) for name in DIMENSIONS]
    assert sum(dimensions) == whole.total
    for name in DIMENSIONS:
        mine = [p for e, p in result.evidence_points() if e.dimension == name]
        assert sum(mine) == whole.dimension(name)
        exact_dimension = Fraction(sum(t for d, t in lines if d == name), 10)
        assert abs(whole.dimension(name) - exact_dimension) < 1
    for e, points in result.evidence_points():
        assert abs(points - Fraction(round(e.points * 10), 10)) < 1

    shown_total = whole.total  # what the parts add up to; the score unless below 0
    alert = blocks.alert_message(ACCOUNT, result, now=NOW)
    lookup = blocks.lookup_message(ACCOUNT, result, [], now=NOW)
    for message in (alert, lookup):
        assert f"— {result.score}" in message.text or f": {result.score} " in message.text
        assert sum(rendered_dimensions(message)) == shown_total
        assert sum(rendered_lines(message)) == shown_total  # every line is shown here

    as_json = score_json(Lookup("atlasmutual.com", [], account=ACCOUNT, result=result))
    assert as_json["score"] == result.score
    assert sum(as_json["dimensions"].values()) == shown_total
    assert sum(line["points"] for line in as_json["evidence"]) == shown_total
    assert all(isinstance(v, int) for v in as_json["dimensions"].values())


def test_atlas_mutual_reads_80_from_parts_that_add_up_to_80() -> None:
    result = result_of([("product", 776), ("marketing", 26)])
    assert result.score == 80
    assert (result.whole.product, result.whole.marketing) == (78, 2)
    lookup = blocks.lookup_message(ACCOUNT, result, [], now=NOW)
    assert rendered_dimensions(lookup) == [0, 78, 2, 0]
    assert rendered_lines(lookup) == [78, 2]
