"""Reads a model file and explains every mistake in it with its line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tipoff.core.scoring_model import ScoringModel
from tipoff.yamlfile import YamlFileError, YamlProblem, validate_yaml

DEFAULT_MODEL_RESOURCE = "default.yml"

ModelProblem = YamlProblem


class ModelFileError(YamlFileError):
    what = "model file"


def load_model(path: Path) -> ScoringModel:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(
            str(path), [ModelProblem("", None, f"cannot read: {error.strerror}")]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ModelFileError(
            str(path),
            [
                ModelProblem(
                    "",
                    line,
                    f"not UTF-8 text (byte 0x{data[error.start]:02x}): save the file as UTF-8",
                )
            ],
        ) from None
    return parse_model(text, source=str(path))


def load_default_model() -> ScoringModel:
    text = resources.files("tipoff.model").joinpath(DEFAULT_MODEL_RESOURCE).read_text("utf-8")
    return parse_model(text, source="default model")


def parse_model(text: str, *, source: str = "<model>") -> ScoringModel:
    return validate_yaml(text, ScoringModel, source=source, error=ModelFileError)
