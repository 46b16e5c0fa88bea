"""The scoring model: a YAML file admins own, validated before it is used."""

from tipoff.core.scoring_model import ScoringModel
from tipoff.model.loader import ModelFileError, ModelProblem, load_default_model, load_model

__all__ = ["ModelFileError", "ModelProblem", "ScoringModel", "load_default_model", "load_model"]
