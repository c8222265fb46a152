"""The edge of stability of a training recipe: which curvature its optimizer equilibrates, and at
what value.

Gradient descent at step size η diverges along an eigenvector of the Hessian H whose eigenvalue
exceeds 2/η; training drives λ_max(H) up to that edge (Cohen et al. 2021, arXiv 2103.00065).
Heavy-ball momentum β (PyTorch's SGD, no dampening) moves the edge to (2 + 2β)/η. For Adam the
quantity that equilibrates is the *preconditioned* sharpness λ_max(P⁻¹H), P = diag(√v + ε) from
Adam's second-moment estimate v, at (2 + 2β₁)/((1 − β₁)η): 38/η at β₁ = 0.9 (Cohen et al. 2022,
arXiv 2207.14484). These are full-batch thresholds; minibatch training usually settles below them.

>>> from occamlab.train import TrainSpec
>>> t = stability_threshold(TrainSpec(optimizer="adam", lr=1e-3, momentum=0.9))
>>> t.quantity, round(t.value, 6)
('preconditioned', 38000.0)
>>> round(stability_threshold(TrainSpec(optimizer="sgd", lr=0.1, momentum=0.0)).value, 6)
20.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from occamlab.train.spec import TrainSpec

Quantity = Literal["hessian", "preconditioned"]


@dataclass(frozen=True)
class StabilityThreshold:
    """The curvature a recipe equilibrates and its edge.

    Attributes:
        quantity: ``hessian`` (λ_max(H), SGD) or ``preconditioned`` (λ_max(P⁻¹H), Adam/AdamW).
        value: the threshold.
        formula: how it follows from the recipe, e.g. ``(2+2β)/η``.
        constants: the recipe's values in the formula, e.g. ``β = 0.9, η = 0.1``.
        lr: the recipe's (peak) learning rate η.
        source: the paper that derives it.
    """

    quantity: Quantity
    value: float
    formula: str
    constants: str
    lr: float
    source: str


def stability_threshold(recipe: TrainSpec) -> StabilityThreshold:
    """The edge of stability of ``recipe``'s optimizer at its (peak) learning rate."""
    eta, beta = recipe.lr, recipe.momentum
    if recipe.optimizer == "sgd":
        if beta == 0:
            return StabilityThreshold(
                "hessian",
                2 / eta,
                "2/η",
                f"η = {eta:g}",
                eta,
                "Cohen et al. 2021 (arXiv 2103.00065)",
            )
        return StabilityThreshold(
            "hessian",
            (2 + 2 * beta) / eta,
            "(2+2β)/η",
            f"momentum β = {beta:g}, η = {eta:g}",
            eta,
            "Cohen et al. 2021 (arXiv 2103.00065), heavy-ball momentum",
        )
    return StabilityThreshold(
        "preconditioned",
        (2 + 2 * beta) / ((1 - beta) * eta),
        "(2+2β₁)/((1−β₁)η)",
        f"β₁ = {beta:g}, η = {eta:g}",
        eta,
        "Cohen et al. 2022 (arXiv 2207.14484)",
    )


__all__ = ["Quantity", "StabilityThreshold", "stability_threshold"]
