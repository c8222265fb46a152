"""The training trajectory on its PCA plane (Li et al. 2018, arXiv 1712.09913, Sec. 7).

Random directions are nearly orthogonal to the path training takes, so Li et al. project the
trajectory θ_0 … θ_n (recorded by :class:`occamlab.train.TrajectoryRecorder`) onto the top two
principal directions of the matrix M whose rows are θ_t − θ_n (differences to the final point,
not mean-centred), and draw the loss on that plane::

    M = U Σ Vᵀ,   d_k = V[:, k] (unit vectors),   coordinates of θ_t = (θ_t − θ_n)·d_k,
    explained variance of d_k = σ_k² / Σ_j σ_j².

With T recorded points and P parameters (T ≪ P) the SVD is read off the T × T Gram matrix
M Mᵀ = U Σ² Uᵀ in float64 (d_k = Mᵀ u_k / σ_k). Each direction's sign makes the start's
coordinate non-negative. The plane is centred at the final point; the grid covers the projected
trajectory with a margin and always contains the center exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from occamlab.jsonable import jsonable
from occamlab.linalg.params import flatten, unflatten
from occamlab.probes.landscape.directions import Direction
from occamlab.probes.landscape.evaluate import SPLITS
from occamlab.probes.landscape.surface import Surface, loss_surface, symmetric_grid
from occamlab.subject import Subject
from occamlab.train.callbacks import TrajectoryRecorder


@dataclass(frozen=True, eq=False)
class TrajectoryPCA:
    """Top principal directions of a trajectory about its final point.

    Attributes:
        directions: flat unit vectors, shape ``(count, P)`` (float64).
        coordinates: ``(T, count)`` projections of θ_t − θ_n.
        explained_variance: fraction of Σσ² carried by each direction.
        steps: training step of each recorded point.
    """

    directions: torch.Tensor
    coordinates: np.ndarray
    explained_variance: list[float]
    steps: list[int]


def trajectory_pca(
    trajectory: torch.Tensor, *, steps: Sequence[int] | None = None, count: int = 2
) -> TrajectoryPCA:
    """PCA of a ``(T, P)`` trajectory about its last row (see the module docstring)."""
    if trajectory.ndim != 2 or trajectory.shape[0] < count + 1:
        raise ValueError(
            f"need a (T, P) trajectory with T > {count} recorded points, "
            f"got shape {tuple(trajectory.shape)}"
        )
    m = (trajectory[:-1] - trajectory[-1]).double()
    gram = m @ m.T
    eigenvalues, vectors = torch.linalg.eigh(gram)
    order = torch.argsort(eigenvalues, descending=True)
    eigenvalues, vectors = eigenvalues[order].clamp_min(0), vectors[:, order]
    total = float(eigenvalues.sum())
    if total <= 0:
        raise ValueError("the trajectory never moved: every recorded point equals the last")
    sigma = eigenvalues[:count].sqrt()
    if float(sigma[-1]) <= 1e-12 * float(sigma[0]):
        raise ValueError(f"the trajectory spans fewer than {count} directions")
    dirs = (m.T @ vectors[:, :count]) / sigma  # (P, count), unit columns
    coords = m @ dirs
    signs = torch.where(coords[0] < 0, -1.0, 1.0).to(torch.float64)
    dirs, coords = dirs * signs, coords * signs
    full = torch.cat([coords, torch.zeros(1, count, dtype=torch.float64)])  # the last point is 0
    return TrajectoryPCA(
        directions=dirs.T.contiguous(),
        coordinates=full.numpy(),
        explained_variance=(eigenvalues[:count] / total).tolist(),
        steps=list(steps) if steps is not None else list(range(trajectory.shape[0])),
    )


@dataclass(frozen=True, eq=False)
class TrajectoryPlane:
    """The loss on the PCA plane of a trajectory, with the trajectory drawn on it.

    Attributes:
        surface: the plane (centred at the final point; coordinates are distances along the
            unit principal directions).
        coordinates: ``(T, 2)`` projected trajectory (the last point is the center).
        explained_variance: fractions of variance of the two directions (Li et al. report
            these in their Fig. 9 captions).
        steps: training step of each recorded point.
    """

    surface: Surface
    coordinates: np.ndarray
    explained_variance: list[float]
    steps: list[int]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "surface": self.surface.to_dict(),
                "coordinates": self.coordinates,
                "explained_variance": self.explained_variance,
                "steps": self.steps,
            }
        )

    def plot(self, ax: Any = None, *, metric: str = "train_loss") -> Any:
        from occamlab.probes.landscape.plots import trajectory

        return trajectory(self, ax=ax, metric=metric)


def trajectory_plane(
    subject: Subject,
    recorder: TrajectoryRecorder | torch.Tensor,
    *,
    steps: int = 21,
    margin: float = 0.25,
    splits: Sequence[str] = SPLITS,
    limit: int | None = None,
    reestimate_bn: bool = False,
    points_per_pass: int = 0,
    progress: bool = False,
) -> TrajectoryPlane:
    """Loss on the top-2 PCA plane of a recorded trajectory, centred at its final point.

    Args:
        subject: the trained subject; its trainable parameters must be what the recorder
            recorded (the final recorded point is the plane's center).
        recorder: the :class:`TrajectoryRecorder` passed to ``fit`` (or its ``(T, P)`` tensor).
        steps: grid points per axis (odd).
        margin: the grid extends this fraction beyond the trajectory on each axis.
        splits, limit, reestimate_bn, points_per_pass, progress: as in
            :func:`~occamlab.probes.landscape.surface.loss_surface`.
    """
    if isinstance(recorder, TrajectoryRecorder):
        traj, recorded = recorder.trajectory(), recorder.steps
    else:
        traj, recorded = recorder, None
    like = subject.params()
    size = sum(p.numel() for p in like.values())
    if traj.ndim != 2 or traj.shape[1] != size:
        raise ValueError(
            f"the trajectory has {traj.shape[-1]} parameters per point but the subject has "
            f"{size} trainable parameters; record the same model you probe"
        )
    center = flatten(like)
    if not torch.allclose(traj[-1].to(center), center, rtol=1e-6, atol=1e-7):
        raise ValueError(
            "the trajectory's last point is not the subject's parameters; probe the subject "
            "that was trained while recording (the recorder stores the final point)"
        )
    pca = trajectory_pca(traj, steps=recorded)
    dtype = center.dtype
    dirs: list[Direction] = [
        {k: v.to(dtype).clone() for k, v in unflatten(d.to(center.device), like).items()}
        for d in pca.directions
    ]
    reach = np.abs(pca.coordinates).max(axis=0)
    axes = [symmetric_grid(steps, float(r * (1 + margin)) or 1.0) for r in reach]
    surface = loss_surface(
        subject,
        dirs,
        coordinates=axes,
        splits=splits,
        limit=limit,
        reestimate_bn=reestimate_bn,
        points_per_pass=points_per_pass,
        description={"kind": "trajectory_pca", "explained_variance": pca.explained_variance},
        progress=progress,
    )
    return TrajectoryPlane(
        surface=surface,
        coordinates=pca.coordinates,
        explained_variance=pca.explained_variance,
        steps=pca.steps,
    )
