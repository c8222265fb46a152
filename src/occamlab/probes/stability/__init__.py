"""Is the trained subject at the edge of stability of the recipe that trained it?

:func:`edge_of_stability` compares the curvature the recipe's optimizer equilibrates with its
threshold (:mod:`~occamlab.probes.stability.threshold`): λ_max(H) against 2/η or (2+2β)/η for
SGD, Adam's preconditioned sharpness λ_max(P⁻¹H) against (2+2β₁)/((1−β₁)η) for Adam and AdamW
(:mod:`~occamlab.probes.stability.preconditioned`). Without a recipe there is no threshold, and
no verdict: the caller says the recipe is unknown.

Examples:
    >>> from occamlab import TrainSpec, make_subject
    >>> s = make_subject(model="mlp", data="gaussian_mixture", model_options={"width": 8})
    >>> r = edge_of_stability(s, TrainSpec(optimizer="adam", lr=1e-3))
    >>> r.threshold.quantity, r.ratio > 0
    ('preconditioned', True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from occamlab.jsonable import jsonable
from occamlab.linalg.hessian import HessianOperator
from occamlab.linalg.lanczos import eigsh
from occamlab.probes.stability.preconditioned import (
    PreconditionedOperator,
    adam_second_moment,
    preconditioner,
)
from occamlab.probes.stability.threshold import StabilityThreshold, stability_threshold
from occamlab.subject import Subject
from occamlab.train.spec import TrainSpec


@dataclass(frozen=True)
class StabilityReport:
    """Where the subject sits relative to its recipe's edge of stability.

    Attributes:
        threshold: the recipe's threshold and the quantity it applies to.
        sharpness: that quantity at the subject: λ_max(H), or λ_max(P⁻¹H) for Adam.
        ratio: ``sharpness / threshold.value`` (1: at the edge; above 1: beyond it).
        residual: the eigenpair's relative residual.
        converged: whether it met the tolerance.
        num_examples: training examples of the loss (the first ``limit``).
        preconditioner: how P was obtained (Adam only).
    """

    threshold: StabilityThreshold
    sharpness: float
    ratio: float
    residual: float
    converged: bool
    num_examples: int
    preconditioner: str | None = None

    @property
    def verdict(self) -> str:
        """``flat`` (below half the threshold), ``near`` (half to 1×) or ``edge`` (at or past)."""
        return "flat" if self.ratio <= 0.5 else "near" if self.ratio < 1 else "edge"

    def to_dict(self) -> dict[str, Any]:
        return jsonable({**asdict(self), "verdict": self.verdict})


def edge_of_stability(
    subject: Subject,
    recipe: TrainSpec,
    *,
    limit: int | None = None,
    lambda_max: float | None = None,
    tol: float = 1e-3,
    max_matvecs: int = 200,
    seed: int = 0,
) -> StabilityReport:
    """The sharpness ``recipe``'s optimizer equilibrates, at ``subject``, against its threshold.

    Args:
        subject: the trained subject (never modified; eval mode).
        recipe: the recipe it was trained with.
        limit: the first ``limit`` training examples (None: all).
        lambda_max: λ_max(H) on the same examples if already computed (SGD recipes reuse it).
        tol: Lanczos's relative residual for the top eigenvalue.
        max_matvecs: Lanczos's budget of matrix-vector products.
        seed: the Lanczos start vector.
    """
    threshold = stability_threshold(recipe)
    n = subject.num_examples("train", limit)
    if threshold.quantity == "hessian" and lambda_max is not None:
        return StabilityReport(threshold, lambda_max, lambda_max / threshold.value, 0.0, True, n)
    op = hessian = HessianOperator(subject, limit=limit)
    how = None
    if threshold.quantity == "preconditioned":
        op = PreconditionedOperator(hessian, preconditioner(subject, recipe, limit=limit))
        batch = recipe.batch_size or "full"
        how = (
            f"P = diag(√v + ε), v estimated as the mean squared minibatch gradient (batch "
            f"{batch}) over one epoch at the trained weights"
        )
    eig = eigsh(
        op, k=1, tol=tol, max_matvecs=max_matvecs, generator=torch.Generator().manual_seed(seed)
    )
    value = float(eig.eigenvalues[0])
    return StabilityReport(
        threshold,
        value,
        value / threshold.value,
        float(eig.residuals[0]),
        bool(eig.converged),
        n,
        how,
    )


__all__ = [
    "PreconditionedOperator",
    "StabilityReport",
    "StabilityThreshold",
    "adam_second_moment",
    "edge_of_stability",
    "preconditioner",
    "stability_threshold",
]
