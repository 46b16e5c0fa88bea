"""The model file: the default loads, and every mistake is reported with its line."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tipoff.model import ModelFileError, load_default_model, load_model
from tipoff.model.loader import parse_model

DEFAULT_TEXT = resources.files("tipoff.model").joinpath("default.yml").read_text("utf-8")


def problems(text: str) -> list[str]:
    with pytest.raises(ModelFileError) as caught:
        parse_model(text, source="candidate.yml")
    return [str(p) for p in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_model_uses_the_documented_vocabulary() -> None:
    model = load_default_model()
    assert model.events.product == [
        "Signed Up", "Onboarding Completed", "Core Action Completed", "Session Started",
        "Integration Connected", "Teammate Invited", "Usage Limit Hit", "Billing Page Viewed",
    ]  # fmt: skip
    assert model.events.marketing == [
        "Demo Requested", "Pricing Page Viewed", "Content Downloaded", "Webinar Attended",
        "Email Clicked", "Unsubscribed",
    ]  # fmt: skip
    assert model.events.outcome == ["Opportunity Created", "Deal Won", "Deal Lost"]
    assert (model.routing.qualify_at, model.routing.hot_at) == (60, 80)


def test_every_mistake_is_listed_with_its_line() -> None:
    text = DEFAULT_TEXT.replace("    points: 30\n", "    pionts: 30\n").replace(
        "    min_count: 3\n", "    min_count: three\n"
    )
    found = problems(text)
    core = line_of(text, "id: core_action")
    assert f"line {core}: signals[0].points: Field required" in found
    assert f"line {core + 2}: signals[0].pionts: unknown key (a typo?)" in found
    assert any(
        p.startswith(f"line {line_of(text, 'min_count: three')}: signals[1].min_count:")
        for p in found
    )
    assert len(found) == 3


def test_unknown_event_in_a_rule_names_the_event() -> None:
    text = DEFAULT_TEXT.replace("events: [Demo Requested]", "events: [Demo Booked]")
    (found,) = problems(text)
    assert "rule 'demo_request' uses 'Demo Booked', which is not listed under `events`" in found


def test_references_that_do_not_resolve_are_each_at_their_line_with_every_other_problem() -> None:
    text = (
        "# A model file with a comment above it\n"
        "version: 1\n"
        "name: broken\n"
        "events:\n"
        "  product: [Signed Up, Session Started]\n"
        "signals:\n"
        "  - id: sessions\n"
        "    events: [Session Started, Sesion Started]\n"
        "    points: 10\n"
        "    says: started sessions\n"
        "  - id: signup\n"
        "    events: [Signed Up]\n"
        "    pionts: 5\n"
        "    says: signed up\n"
        "  - id: sessions\n"
        "    events: [Signed Up]\n"
        "    points: 5\n"
        "    says: signed up again\n"
        "event_names:\n"
        "  sign_up: Signed Up\n"
        "  login: Logged In\n"
    )
    assert problems(text) == [
        "line 8: signals[0].events[1]: rule 'sessions' uses 'Sesion Started', which is not"
        " listed under `events` (product, marketing or outcome)",
        "line 11: signals[1].points: Field required",
        "line 13: signals[1].pionts: unknown key (a typo?)",
        "line 15: signals[2].id: rule ids must be unique; repeated: sessions",
        "line 21: event_names.login: 'login' maps to 'Logged In', which is not listed under"
        " `events` (product, marketing or outcome)",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("points: 35", "points: 0"), "points must not be 0"),
        (("hot_at: 80", "hot_at: 50"), "hot_at (50) is below qualify_at (60)"),
        (
            ("hot_at: 80", "hot_at: 213"),
            "hot_at (213) is more than this model can ever score (212 points, with every "
            "rule that adds points at its full points), so no account could be hot",
        ),
        (
            ("employees: {max: 9}", "employees: {min: 20, max: 9}"),
            "min (20) is greater than max (9)",
        ),
        (("'\\b(vp|svp|evp|vice president)\\b'", "'(vp'"), "is not a valid regular expression"),
        (("  - id: usage_limit", "  - id: usage limit"), "String should match pattern"),
        (("    cap: 6\n", "    cap: 6\n    min_count: 2\n"), "`each` rules earn per signal"),
        (
            ("  - Deal Lost", "  - Deal Lost\n    - Demo Requested"),
            "listed under both marketing and outcome",
        ),
        (
            ("  - id: onboarding", "  - id: core_action"),
            "rule ids must be unique; repeated: core_action",
        ),
    ],
)
def test_semantic_mistakes_are_explained(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in DEFAULT_TEXT
    found = problems(DEFAULT_TEXT.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_thresholds_are_points_and_may_be_above_100() -> None:
    # Scores have no top: the default can score 212 points (every rule that adds points,
    # `each` rules at their cap, rising timing), so thresholds above 100 are fine up to there.
    text = DEFAULT_TEXT.replace("qualify_at: 60", "qualify_at: 110").replace(
        "hot_at: 80", "hot_at: 212"
    )
    model = parse_model(text)
    assert (model.routing.qualify_at, model.routing.hot_at) == (110, 212)


def test_an_unreachable_hot_threshold_is_reported_at_routing() -> None:
    text = DEFAULT_TEXT.replace("hot_at: 80", "hot_at: 300")
    (found,) = problems(text)
    assert found.startswith(f"line {line_of(text, 'routing:')}: routing: hot_at (300)")


def test_an_uncapped_each_rule_makes_any_threshold_reachable() -> None:
    text = DEFAULT_TEXT.replace("hot_at: 80", "hot_at: 5000").replace("    cap: 6\n", "")
    assert parse_model(text).routing.hot_at == 5000


def test_yaml_syntax_error_has_a_line() -> None:
    text = DEFAULT_TEXT.replace("name: default", "name: [default")
    (found,) = problems(text)
    assert found.startswith("line ") and "not valid YAML" in found


@pytest.mark.parametrize(
    ("text", "expected"), [("", "the file is empty"), ("- a\n- b\n", "must be a mapping")]
)
def test_wrong_shapes(text: str, expected: str) -> None:
    assert expected in problems(text)[0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "nope.yml")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tipoff", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_model_check_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(DEFAULT_TEXT)
    ok = run_cli("model", "check", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "OK — model 'default'" in ok.stdout

    bad = tmp_path / "bad.yml"
    bad.write_text(DEFAULT_TEXT.replace("    points: 30\n", "    pionts: 30\n"))
    failed = run_cli("model", "check", str(bad))
    assert failed.returncode == 1
    assert (
        f"line {line_of(DEFAULT_TEXT, 'points: 30')}: signals[0].pionts: unknown key"
        in failed.stderr
    )


@pytest.mark.parametrize(
    "pattern",
    ["^(\\w+\\s?)+$", "(a+)+b", "(\\w*)*", "(vp|vice president)+", "(?>(\\w+ ?){2,})"],
)
def test_a_title_pattern_that_can_take_exponential_time_is_refused_at_its_line(
    pattern: str,
) -> None:
    text = DEFAULT_TEXT.replace("'\\bdirector\\b'", f"'{pattern}'")
    (found,) = problems(text)
    assert found.startswith(
        f"line {line_of(text, pattern)}: fit[0].title_matches[2]: "
        f"'{pattern}' repeats a part that can itself match in several ways"
    ), found


def test_title_patterns_that_cannot_be_matched_together_are_reported_each_at_its_line() -> None:
    patterns = (
        "      - '\\b(?P<role>cto)\\b'\n"
        "      - '\\b(ciso|(?i)cio)\\b'\n"  # a flag mid-pattern: invalid even alone
        "      - '(?i)\\bowner\\b'\n"  # fine alone, not after other patterns
        "      - '(?P<role>cro)'\n"  # the group name the first pattern took
        "      - '(ab)\\1'\n"  # group 1 is the first pattern's once joined
    )
    text = DEFAULT_TEXT.replace("      - '\\bengineering manager\\b'\n", patterns)
    found = problems(text)
    at = {line_of(text, name): name for name in ("(ciso", "(?i)\\bowner", "<role>cro", "(ab)")}
    assert [p.split(": ")[0] for p in found] == [f"line {n}" for n in at]
    assert [p.split(": ")[1] for p in found] == [f"fit[0].title_matches[{i}]" for i in (6, 7, 8, 9)]
    assert "is not a valid regular expression: global flags not at the start" in found[0]
    assert "an inline flag there must apply to a part, as in (?s:…)" in found[1]
    assert "before it: redefinition of group name 'role'" in found[2]
    assert "refers to a group by number" in found[3]
