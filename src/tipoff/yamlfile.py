"""YAML files people write by hand (the scoring model, the demo history): validated with
pydantic, every mistake explained with its line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# libyaml's parser, which PyYAML's wheels include, reads the model file 30 times faster than
# the pure-Python one (1.6 against 50 ms), with the same nodes and line marks: most of what
# a command spent before doing anything. The Python one where PyYAML was built without it.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class YamlProblem:
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


class YamlFileError(Exception):
    """A file that cannot be used; `problems` lists every mistake found."""

    what = "file"

    def __init__(self, source: str, problems: list[YamlProblem]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  {problem}" for problem in problems)
        count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
        super().__init__(f"{source}: {count} in the {self.what}\n{listing}")


E = TypeVar("E", bound=YamlFileError)


def validate_yaml(text: str, model: type[M], *, source: str, error: type[E]) -> M:
    """Parses `text` and validates it as `model`; raises `error` listing every problem."""
    loader = _SafeLoader(text)
    try:
        # Parsed once: the nodes keep their lines for the problems below.
        root = loader.get_single_node()
        if root is None:
            raise error(source, [YamlProblem("", None, "the file is empty")])
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise error(source, [YamlProblem("", line, f"not valid YAML: {exc.problem}")]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise error(source, [YamlProblem("", 1, "the top level must be a mapping")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = sorted(
            (
                YamlProblem(_dotted(err["loc"]), _line_of(root, err["loc"]), _message(err))
                for err in exc.errors(include_url=False)
            ),
            key=lambda problem: problem.line or 0,  # in the order the file is read
        )
        raise error(source, problems) from None


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (a typo?)"
    return str(err["msg"]).removeprefix("Value error, ")


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
