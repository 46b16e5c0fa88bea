"""Reads a model file and explains every mistake in it with its line."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tipoff.model.schema import ScoringModel

DEFAULT_MODEL_RESOURCE = "default.yml"


@dataclass(frozen=True, slots=True)
class ModelProblem:
    location: str  # dotted path inside the file, e.g. "signals[3].points"
    line: int | None  # 1-based
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return (
            f"{where}: {self.location}: {self.message}"
            if self.location
            else f"{where}: {self.message}"
        )


class ModelFileError(Exception):
    """A model file that cannot be used; `problems` lists every mistake found."""

    def __init__(self, source: str, problems: list[ModelProblem]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the model file\n{listing}")


def load_model(path: Path) -> ScoringModel:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ModelFileError(
            str(path), [ModelProblem("", None, f"cannot read: {error.strerror}")]
        ) from None
    return parse_model(text, source=str(path))


def load_default_model() -> ScoringModel:
    text = resources.files("tipoff.model").joinpath(DEFAULT_MODEL_RESOURCE).read_text("utf-8")
    return parse_model(text, source="default model")


def parse_model(text: str, *, source: str = "<model>") -> ScoringModel:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ModelFileError(
            source, [ModelProblem("", line, f"not valid YAML: {error.problem}")]
        ) from None
    if root is None:
        raise ModelFileError(source, [ModelProblem("", None, "the file is empty")])
    data = yaml.SafeLoader(text).get_single_data()
    if not isinstance(data, dict):
        raise ModelFileError(source, [ModelProblem("", 1, "the top level must be a mapping")])
    try:
        return ScoringModel.model_validate(data)
    except ValidationError as error:
        problems = [
            ModelProblem(_dotted(err["loc"]), _line_of(root, err["loc"]), _message(err))
            for err in error.errors(include_url=False)
        ]
        raise ModelFileError(source, problems) from None


def _message(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key (a typo?)"
    return message


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node along `loc` that exists in the file."""
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    # A missing or wrong value is reported where its key is written.
                    line = key.start_mark.line + 1
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
