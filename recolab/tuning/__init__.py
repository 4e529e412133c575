"""Choosing on validation only: the validation split, and Optuna studies over it."""

from recolab.tuning.fronts import MechanismFront, choose_mechanism
from recolab.tuning.select import TunedModel, fit_tuned
from recolab.tuning.study import TuneBudget, TuneResult, tune_linear, tune_score
from recolab.tuning.validation import (
    ValidationSplit,
    is_forward_split,
    is_timed_log,
    validation_split,
)

__all__ = [
    "MechanismFront",
    "TuneBudget",
    "TuneResult",
    "TunedModel",
    "ValidationSplit",
    "choose_mechanism",
    "fit_tuned",
    "is_forward_split",
    "is_timed_log",
    "tune_linear",
    "tune_score",
    "validation_split",
]
