"""Closed forms on the distribution of Tsipras et al. 2019 (arXiv 1805.12152, §2.1;
:class:`occamlab.data.tsipras.TsiprasSpec`): ``y = ±1`` uniform, ``x₁ = y`` w.p. ``p`` (else
``−y``), ``x₂ … x_{d+1} ~ N(η y, 1)``.

A linear classifier ``sign(w₁ x₁ + w·x_g + b)`` facing an adversary of radius ε in a norm whose
dual norm is ‖·‖_* (ℓ∞ → ℓ1, ℓ2 → ℓ2) loses exactly ``ε ‖(w₁, w)‖_*`` of margin (the adversary
moves along the sign of the weights), and ``y·w·x_g ~ N(η Σ w, ‖w‖²)``. So its accuracy is

    A(ε) = ½ Σ_{s=±1} [ p Φ((w₁ + η Σw + s b − ε‖(w₁, w)‖_*) / ‖w‖₂)
                      + (1 − p) Φ((−w₁ + η Σw + s b − ε‖(w₁, w)‖_*) / ‖w‖₂) ].

Special cases (the paper's): the averaging classifier (w₁ = 0, w = 1) has standard accuracy
Φ(η √d) and ℓ∞ robust accuracy Φ(−η √d) at ε = 2η; the robust classifier sign(x₁) has accuracy
p at every ε < 1; the Bayes classifier, ``w₁ = ln(p / (1 − p))``, ``w = 2η``, is the most
accurate of all. Theorem 2.1: any classifier with standard accuracy 1 − δ has ℓ∞ robust
accuracy at most ``p δ / (1 − p)`` at ε ≥ 2η.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm as gaussian

from occamlab.probes.robustness.pgd import Norm


def linear_accuracy(
    w1: float,
    w: Sequence[float] | np.ndarray,
    b: float = 0.0,
    *,
    p: float,
    eta: float,
    eps: float = 0.0,
    norm: Norm = "linf",
) -> float:
    """Accuracy of ``sign(w₁ x₁ + w·x_g + b)`` under the worst perturbation of radius ``eps``
    (the module's formula; ``eps = 0``: standard accuracy)."""
    w = np.asarray(w, dtype=np.float64)
    full = np.concatenate([[w1], w])
    dual = np.abs(full).sum() if norm == "linf" else np.sqrt((full**2).sum())
    spread = float(np.sqrt((w**2).sum()))
    shift = eta * float(w.sum()) - eps * float(dual)
    total = 0.0
    for s in (1.0, -1.0):
        for agree, weight in ((1.0, p), (-1.0, 1.0 - p)):
            mean = agree * w1 + shift + s * b
            if spread == 0.0:
                total += 0.5 * weight * float(mean > 0)
            else:
                total += 0.5 * weight * float(gaussian.cdf(mean / spread))
    return total


def bayes_weights(*, p: float, eta: float, dim: int) -> tuple[float, np.ndarray]:
    """``(w₁, w)`` of the Bayes classifier: the log-likelihood ratio
    ``ln(p/(1−p)) x₁ + 2η Σ xᵢ`` (no bias: the classes are balanced)."""
    return math.log(p / (1.0 - p)), np.full(dim, 2.0 * eta)


def bayes_accuracy(*, p: float, eta: float, dim: int) -> float:
    """The highest standard accuracy any classifier reaches on the distribution."""
    w1, w = bayes_weights(p=p, eta=eta, dim=dim)
    return linear_accuracy(w1, w, p=p, eta=eta)


def averaging_accuracy(*, eta: float, dim: int, eps: float = 0.0) -> float:
    """Accuracy of ``sign(mean(x₂ … x_{d+1}))`` against ℓ∞ radius ``eps``: Φ((η − ε) √d)."""
    return float(gaussian.cdf((eta - eps) * math.sqrt(dim)))


def tradeoff_bound(*, p: float, standard_accuracy: float) -> float:
    """Tsipras et al.'s Theorem 2.1: the largest ℓ∞ robust accuracy at ε ≥ 2η of a classifier
    with this standard accuracy, ``min(1, p (1 − accuracy) / (1 − p))``."""
    return min(1.0, p * (1.0 - standard_accuracy) / (1.0 - p))


__all__ = [
    "averaging_accuracy",
    "bayes_accuracy",
    "bayes_weights",
    "linear_accuracy",
    "tradeoff_bound",
]
