"""What ``occam diagnose`` computes: :class:`DiagnoseSpec` and its two budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Per budget: the compression budget, the widths retrained (as fractions of the subject's) and
# their seeds, the bounds' optimization effort, the Hessian's eigenvalues and SLQ density, and the
# picture's grid.
BUDGETS: dict[str, dict[str, Any]] = {
    "quick": {
        "simplify": "quick",
        "width_factors": (1 / 8, 1 / 4, 1 / 2, 2),
        "seeds": 2,
        "bounds": {},
        "hessian_k": 5,
        # One SLQ probe of 40 Lanczos steps (deflated) instead of the probe's default four of
        # 60: on a 40k-parameter CNN each Hessian-vector product costs about 5 forward passes,
        # and the density was the largest part of the quick diagnosis (12 s of CPU at 60
        # steps); with the top eigenvalues deflated, 40 nodes draw the bulk's shape.
        "density_probes": 1,
        "density_steps": 40,
        # A 15 × 15 plane: the landscape costs one forward pass over the examples per point,
        # and 441 points (21 × 21) made it the largest part of the quick diagnosis of a small
        # CNN (about 20 s of CPU for 38k parameters on 1,000 examples); 225 points keep the
        # grid's centre and resolve a basin.
        "landscape_steps": 15,
        # The plane on the training examples only (the sentence reads its minima); the test
        # surface is drawn at the deep budget and by `occam probe landscape`.
        "landscape_test": False,
        # PAC-Bayes σ to 0.9% (8 bisections of a factor-10 bracket) rather than to 1e-5: its
        # Monte Carlo estimate (16 draws per σ) is noisier than 1% anyway, and each bisection
        # costs 16 passes over the examples.
        "sigma_depth": 8,
        # CKA and effective ranks are what the sentence reads; Procrustes distances (an SVD of
        # every pair of layers' cross-covariance) are left to the deep budget and to
        # `occam probe similarity`.
        "procrustes": False,
        "limit": 1000,
    },
    "deep": {
        "simplify": "deep",
        "width_factors": (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4),
        "seeds": 3,
        "bounds": {"posterior_epochs": 100, "finetune_epochs": 2, "levels": "4,8,16"},
        "hessian_k": 20,
        "density_probes": 4,
        "density_steps": 60,
        "landscape_steps": 41,
        "landscape_test": True,
        "sigma_depth": 15,
        "procrustes": True,
        "limit": 0,
    },
}


@dataclass(frozen=True)
class DiagnoseSpec:
    """Options of :func:`~occamlab.diagnose.diagnose` (and the flags of ``occam diagnose``).

    Attributes:
        deep: the deep budget: the standard compression grid with lottery tickets, a wider
            width sweep with three seeds, longer bound optimization, more Hessian eigenvalues and
            a finer landscape, all on every example. Default: the quick budget (≤ 3 minutes for
            the default subject on a 2-core laptop CPU).
        tolerance: largest drop of test accuracy still "as good as the original" (regression,
            where there is no accuracy: largest relative rise of the test loss, e.g. 0.01 = 1%).
        delta: failure probability of every error bound.
        seeds: initialization seeds per width of the width sweep (0: the budget's).
        limit: examples used by the curvature, sharpness, landscape and similarity probes
            (0: the budget's: 1,000 at quick, all at deep).
        seed: seeds every random step (directions, probes, initializations).
        baselines: the simpler model families fitted on the subject's data for "Can it be
            simpler?" (comma-separated names of :data:`~occamlab.probes.baselines.FAMILIES`,
            ``all``, or ``none`` to skip them).
    """

    deep: bool = False
    tolerance: float = 0.01
    delta: float = 0.05
    seeds: int = 0
    limit: int = 0
    seed: int = 0
    baselines: str = "all"

    def __post_init__(self) -> None:
        checks = [
            (0 <= self.tolerance < 1, f"tolerance must be in [0, 1), got {self.tolerance}"),
            (0 < self.delta < 1, f"delta must be in (0, 1), got {self.delta}"),
            (self.seeds >= 0, f"seeds must be >= 0 (0: the budget's), got {self.seeds}"),
            (self.limit >= 0, f"limit must be >= 0 (0: the budget's), got {self.limit}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if self.baselines != "none":
            from occamlab.probes.baselines import BaselinesSpec

            BaselinesSpec(families=self.baselines)  # unknown names fail here, before any work

    @property
    def budget(self) -> dict[str, Any]:
        """The budget's settings with this spec's overrides applied."""
        plan = dict(BUDGETS["deep" if self.deep else "quick"])
        if self.seeds:
            plan["seeds"] = self.seeds
        if self.limit:
            plan["limit"] = self.limit
        return plan
