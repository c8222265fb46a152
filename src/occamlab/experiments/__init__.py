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
from occamlab.experiments import (
    double_descent,  # noqa: E402, F401
    forgetting,  # noqa: E402, F401
    grokking,  # noqa: E402, F401
    label_noise,  # noqa: E402, F401
    memorization,  # noqa: E402, F401
    random_labels,  # noqa: E402, F401
)
