"""How non-convex is the surface? Hessian extreme eigenvalues over a plane (Li et al. 2018, Sec. 6).

A 2-D slice can look convex while the full-dimensional loss is not. Li et al. check this by
computing, at every point of the plane, the extreme eigenvalues of the full Hessian and mapping

    r(θ) = |λ_min(θ)| / |λ_max(θ)|,

which is 0 where the loss is locally convex (λ_min ≥ 0 up to round-off) and grows with the
amount of negative curvature. Their Fig. 7: the surfaces of deep networks without skip
connections carry large ratios over much of the plane, ResNets are nearly convex near the
minimum.

Both ends of the spectrum come from one Lanczos run (:func:`occamlab.linalg.lanczos.eigsh` with
``which="BE"``) on the streamed Hessian operator (:class:`occamlab.linalg.hessian.HessianOperator`)
at each grid point θ₀ + a·d₁ + b·d₂, in eval mode, on the first ``limit`` training examples. The
points are spread over torch.distributed ranks when initialized (for a data-parallel subject the
Hessian products are summed over its processes instead).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from occamlab.jsonable import jsonable
from occamlab.linalg.hessian import HessianOperator
from occamlab.linalg.lanczos import eigsh
from occamlab.probes.landscape.evaluate import all_reduce_sum, data_parallel, rank_and_world
from occamlab.probes.landscape.surface import symmetric_grid
from occamlab.subject import Subject


@dataclass(frozen=True, eq=False)
class CurvatureMap:
    """Extreme Hessian eigenvalues on a grid of a plane.

    Attributes:
        axes: grid coordinates along the two directions.
        lambda_min, lambda_max: ``(len(axes[0]), len(axes[1]))`` arrays.
        converged: whether both eigenvalues met the tolerance at each point.
        tol: the relative residual tolerance of the eigensolver.
        matvecs: Hessian-vector products used in all.
        num_examples: training examples the loss is averaged over.
        seconds: wall time.
    """

    axes: tuple[np.ndarray, np.ndarray]
    lambda_min: np.ndarray
    lambda_max: np.ndarray
    converged: np.ndarray
    tol: float
    matvecs: int
    num_examples: int
    seconds: float

    @property
    def ratio(self) -> np.ndarray:
        """|λ_min| / |λ_max| at each point (Li et al. 2018)."""
        return np.abs(self.lambda_min) / np.maximum(np.abs(self.lambda_max), 1e-300)

    @property
    def mean_ratio(self) -> float:
        return float(np.mean(self.ratio))

    @property
    def center_ratio(self) -> float:
        m = tuple(len(a) // 2 for a in self.axes)
        return float(self.ratio[m])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "axes": [a.tolist() for a in self.axes],
                "lambda_min": self.lambda_min,
                "lambda_max": self.lambda_max,
                "ratio": self.ratio,
                "mean_ratio": self.mean_ratio,
                "center_ratio": self.center_ratio,
                "converged": self.converged.tolist(),
                "tol": self.tol,
                "matvecs": self.matvecs,
                "num_examples": self.num_examples,
                "seconds": self.seconds,
            }
        )

    def plot(self, ax: Any = None) -> Any:
        """The ratio map (0: locally convex)."""
        from occamlab.probes.landscape.plots import ratio_map

        return ratio_map(self, ax=ax)


def curvature_map(
    subject: Subject,
    directions: Sequence[Mapping[str, torch.Tensor]],
    *,
    steps: int = 5,
    span: float = 1.0,
    limit: int | None = 500,
    tol: float = 1e-2,
    max_matvecs: int = 120,
    seed: int = 0,
) -> CurvatureMap:
    """λ_min and λ_max of the training-loss Hessian at each point of a ``steps × steps`` grid.

    Args:
        subject: the subject (never modified).
        directions: two directions (as for a plane).
        steps, span: the symmetric grid (``steps`` odd) on [−span, span]².
        limit: training examples the loss is averaged over (None: all).
        tol: relative residual tolerance of Lanczos (the ratio needs no more than 2 digits).
        max_matvecs: budget per point; points that exhaust it report ``converged=False``.
        seed: seeds Lanczos's start vectors.
    """
    started = time.perf_counter()
    if len(directions) != 2:
        raise ValueError(f"a curvature map needs two directions, got {len(directions)}")
    axes = (symmetric_grid(steps, span), symmetric_grid(steps, span))
    theta = subject.params()
    dirs = [{k: d[k].detach().to(theta[k].dtype) for k in theta} for d in directions]
    # Points are split over processes, unless each process holds a shard of the data (then the
    # Hessian products themselves are summed over processes and every process does every point).
    rank, world = (0, 1) if data_parallel(subject) else rank_and_world()
    out = np.zeros((steps * steps, 4))  # λ_min, λ_max, converged, matvecs
    num_examples = 0
    for i in range(rank, steps * steps, world):
        ia, ib = divmod(i, steps)
        a, b = float(axes[0][ia]), float(axes[1][ib])
        point = {k: theta[k] + a * dirs[0][k] + b * dirs[1][k] for k in theta}
        op = HessianOperator(subject, params=point, limit=limit)
        num_examples = op.num_examples
        result = eigsh(
            op,
            k=2,
            which="BE",
            tol=tol,
            max_matvecs=max_matvecs,
            generator=torch.Generator().manual_seed(seed + i),
        )
        low, high = (float(v) for v in result.eigenvalues)
        out[i] = (low, high, float(result.converged), result.num_matvecs)
    if world > 1:
        out = all_reduce_sum(out)
    shape = (steps, steps)
    return CurvatureMap(
        axes=axes,
        lambda_min=out[:, 0].reshape(shape),
        lambda_max=out[:, 1].reshape(shape),
        converged=out[:, 2].reshape(shape) > 0.5,
        tol=tol,
        matvecs=int(out[:, 3].sum()),
        num_examples=num_examples,
        seconds=time.perf_counter() - started,
    )
