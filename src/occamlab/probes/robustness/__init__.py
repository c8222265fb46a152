"""Adversarial robustness: the PGD attack (ℓ∞ and ℓ2; Madry et al. 2018), a subject's accuracy
against the attack radius, PGD adversarial training through the one training loop, and the closed
forms of Tsipras et al.'s (2019) robustness–accuracy trade-off."""

from occamlab.probes.robustness.curve import (
    RobustnessCurve,
    RobustnessSpec,
    attacked_accuracy,
    robustness_curve,
)
from occamlab.probes.robustness.pgd import NORMS, Norm, PGDSpec, pgd, project, random_start
from occamlab.probes.robustness.training import adversarial_fit, adversarial_objective
from occamlab.probes.robustness.tsipras import (
    averaging_accuracy,
    bayes_accuracy,
    bayes_weights,
    linear_accuracy,
    tradeoff_bound,
)

__all__ = [
    "NORMS",
    "Norm",
    "PGDSpec",
    "RobustnessCurve",
    "RobustnessSpec",
    "adversarial_fit",
    "adversarial_objective",
    "attacked_accuracy",
    "averaging_accuracy",
    "bayes_accuracy",
    "bayes_weights",
    "linear_accuracy",
    "pgd",
    "project",
    "random_start",
    "robustness_curve",
    "tradeoff_bound",
]
