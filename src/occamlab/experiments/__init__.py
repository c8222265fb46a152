"""Reproduced experiments: typed specs, a run method, and machine-checked claims.

Each module imported at the bottom registers one experiment in :data:`EXPERIMENTS`; importing
this package registers them all.
"""

from occamlab.experiments.framework import (
    EXPERIMENTS,
    Claim,
    Context,
    ExperimentResult,
    ExperimentRun,
    run_experiment,
    spec_at_scale,
)

__all__ = [
    "EXPERIMENTS",
    "Claim",
    "Context",
    "ExperimentResult",
    "ExperimentRun",
    "run_experiment",
    "spec_at_scale",
]

# isort: split
# Experiment modules (each registers itself), one line each, after the names above exist:
import occamlab.experiments.generalization_measures  # noqa: E402, F401
from occamlab.experiments import random_labels  # noqa: E402, F401
