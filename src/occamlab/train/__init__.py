"""Training: one loop (:func:`fit`) with callbacks, optimizers and schedules."""

from occamlab.train.callbacks import Checkpointer, StepLogger, TrajectoryRecorder
from occamlab.train.loop import (
    Callback,
    NonFiniteLossError,
    PeriodicCallback,
    TrainResult,
    TrainState,
    fit,
)
from occamlab.train.optim import lr_factor, make_optimizer
from occamlab.train.per_example import ExampleCorrectness, correct_predictions
from occamlab.train.spec import UNKNOWN_RECIPE, TrainSpec

__all__ = [
    "UNKNOWN_RECIPE",
    "Callback",
    "PeriodicCallback",
    "Checkpointer",
    "ExampleCorrectness",
    "NonFiniteLossError",
    "StepLogger",
    "TrainResult",
    "TrainSpec",
    "TrainState",
    "TrajectoryRecorder",
    "correct_predictions",
    "fit",
    "lr_factor",
    "make_optimizer",
]
