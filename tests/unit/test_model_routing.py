"""The model file's routing section for the rep workflow: defaults that keep old files
working, and mistakes explained with their line."""

from __future__ import annotations

from importlib import resources

import pytest

from tipoff.model import ModelFileError, load_default_model
from tipoff.model.loader import parse_model

DEFAULT_TEXT = resources.files("tipoff.model").joinpath("default.yml").read_text("utf-8")


def problems(text: str) -> list[str]:
    with pytest.raises(ModelFileError) as caught:
        parse_model(text, source="candidate.yml")
    return [str(p) for p in caught.value.problems]


def test_the_default_model_spells_out_the_workflow_defaults() -> None:
    routing = load_default_model().routing
    assert (routing.cooldown_hours, routing.wrong_cooldown_days, routing.jump_points) == (
        72,
        14,
        15,
    )
    assert (routing.bundle_over, routing.bundle_top, routing.strong_signal_points) == (15, 5, 20)
    assert {t: (s.remind_after_hours, s.escalate_after_hours) for t, s in routing.sla.items()} == {
        "hot": (4, 4),
        "sales-ready": (8, 8),
    }
    assert routing.working_hours.days == ["mon", "tue", "wed", "thu", "fri"]


def test_a_model_without_the_new_keys_still_loads_with_the_same_defaults() -> None:
    start = DEFAULT_TEXT.index("  # Where alerts go.")
    end = DEFAULT_TEXT.index("exclude:")
    old_style = DEFAULT_TEXT[:start] + "\n" + DEFAULT_TEXT[end:]
    assert parse_model(old_style, source="old.yml").routing == load_default_model().routing


@pytest.mark.parametrize(
    ("old", "new", "problems_at_line_of_new"),
    [
        ("  channels: {}\n", '  channels: {warm: "#x"}\n',
         ["routing.channels: a key: 'warm' is not an alerting track (one of hot, sales-ready)"]),
        ("    time_zone: UTC\n", "    time_zone: Mars/Olympus\n",
         ["routing.working_hours.time_zone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Berlin)"]),
        ('    start: "09:00"\n', '    start: "9am"\n',
         ["routing.working_hours.start: '9am' is not a time of day as HH:MM (24-hour)"]),
        ("  segments: []\n", '  segments:\n    - {name: all, channel: "#x"}\n',
         ["routing.segments[0]: segment 'all' matches every account: give `employees`, `regions` or `tracks`"]),
        ("    hot: {remind_after_hours: 4, escalate_after_hours: 4}\n",
         "    hot: {remind_after_hours: 4, escalate_after: 4}\n",
         ["routing.sla.hot.escalate_after_hours: Field required",
          "routing.sla.hot.escalate_after: unknown key (a typo?)"]),
    ],
)  # fmt: skip
def test_routing_mistakes_are_explained_with_their_line(
    old: str, new: str, problems_at_line_of_new: list[str]
) -> None:
    assert old in DEFAULT_TEXT
    text = DEFAULT_TEXT.replace(old, new)
    last_line_of_new = new.rstrip("\n").rsplit("\n", 1)[-1]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t == last_line_of_new)
    assert problems(text) == [f"line {line}: {p}" for p in problems_at_line_of_new]
