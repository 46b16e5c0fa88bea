"""The scoring model: a YAML file admins own, validated before it is used."""

from tipoff.model.loader import ModelFileError, ModelProblem, load_default_model, load_model
from tipoff.model.schema import ScoringModel

__all__ = ["ModelFileError", "ModelProblem", "ScoringModel", "load_default_model", "load_model"]
