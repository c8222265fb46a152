"""Reproduced experiments: typed specs, a run method, and machine-checked claims.

Each module imported at the bottom registers one experiment in :data:`EXPERIMENTS`; importing
this package registers them all.
"""

from occamlab.experiments.framework import (
    Claim,
    Context,
    ExperimentResult,
    ExperimentRun,
    run_experiment,
)
from occamlab.experiments.registry import EXPERIMENTS, settings_of, spec_at_scale

__all__ = [
    "EXPERIMENTS",
    "Claim",
    "Context",
    "ExperimentResult",
    "ExperimentRun",
    "run_experiment",
    "settings_of",
    "spec_at_scale",
]

# isort: split
# Experiment modules (each registers itself), one line each, after the names above exist:
import occamlab.experiments.adaptive_vs_sgd  # noqa: E402, F401
import occamlab.experiments.adversarial_robustness  # noqa: E402, F401
import occamlab.experiments.alternative_training  # noqa: E402, F401
import occamlab.experiments.batch_size_sharpness  # noqa: E402, F401
import occamlab.experiments.decision_topology  # noqa: E402, F401
import occamlab.experiments.deep_linear_dynamics  # noqa: E402, F401
import occamlab.experiments.deep_vs_shallow  # noqa: E402, F401
import occamlab.experiments.depth_vs_width  # noqa: E402, F401
import occamlab.experiments.double_descent  # noqa: E402, F401
import occamlab.experiments.edge_of_stability  # noqa: E402, F401
import occamlab.experiments.ensembles_and_bagging  # noqa: E402, F401
import occamlab.experiments.entropy_sgd  # noqa: E402, F401
import occamlab.experiments.forgetting  # noqa: E402, F401
import occamlab.experiments.functional_complexity  # noqa: E402, F401
import occamlab.experiments.generalization_measures  # noqa: E402, F401
import occamlab.experiments.gradient_failures  # noqa: E402, F401
import occamlab.experiments.grokking  # noqa: E402, F401
import occamlab.experiments.implicit_bias  # noqa: E402, F401
import occamlab.experiments.implicit_models  # noqa: E402, F401
import occamlab.experiments.information_plane  # noqa: E402, F401
import occamlab.experiments.kernel_interpolation  # noqa: E402, F401
import occamlab.experiments.label_noise  # noqa: E402, F401
import occamlab.experiments.layer_robustness  # noqa: E402, F401
import occamlab.experiments.lazy_vs_rich  # noqa: E402, F401
import occamlab.experiments.loss_landscape  # noqa: E402, F401
import occamlab.experiments.lottery_ticket  # noqa: E402, F401
import occamlab.experiments.mean_field  # noqa: E402, F401
import occamlab.experiments.memorization  # noqa: E402, F401
import occamlab.experiments.memorization_capacity  # noqa: E402, F401
import occamlab.experiments.overparameterized_convergence  # noqa: E402, F401
import occamlab.experiments.path_kernel  # noqa: E402, F401
import occamlab.experiments.random_labels  # noqa: E402, F401
import occamlab.experiments.renormalization_group  # noqa: E402, F401
import occamlab.experiments.resnet_ode  # noqa: E402, F401
import occamlab.experiments.saddle_escape  # noqa: E402, F401
import occamlab.experiments.sgd_stationary  # noqa: E402, F401
import occamlab.experiments.shortcut_learning  # noqa: E402, F401
import occamlab.experiments.spectral_bias  # noqa: E402, F401
