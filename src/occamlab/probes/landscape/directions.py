"""Directions in parameter space for loss-landscape pictures.

A direction is a dict of tensors shaped like :meth:`Subject.params`. Surfaces are evaluated at
θ₀ + a·d₁ (+ b·d₂), so the scale of d decides what a unit step means.

Filter normalization (Li et al. 2018, arXiv 1712.09913, Sec. 4): a Gaussian direction d is
rescaled filter by filter so that every filter has the norm of the corresponding filter of θ::

    d_{i,j} ← d_{i,j} / ‖d_{i,j}‖ · ‖θ_{i,j}‖

where a *filter* is one slice along the first (output) axis of a weight tensor with two or more
axes: one output channel of a convolution, one row (output unit) of a linear layer. This removes
the scale invariance of ReLU/BatchNorm networks from the picture, so pictures of different
networks can be compared. Layer normalization does the same with one group per tensor, model
normalization with one group for the whole direction (‖d‖ = ‖θ‖ over the tensors it moves).

One-axis tensors (biases, BatchNorm scales and shifts) are not filters; ``vectors`` says what
happens to them: ``"ignore"`` (the default, as Li et al.'s ``--xignore biasbn``) sets their
direction to zero, so they stay at their trained values; ``"normalize"`` rescales each such tensor
as one group to the norm of its weights. A filter of θ that is exactly zero (a dead unit) gets a
zero direction, as does any filter whose random draw is zero.

Other directions: the top Hessian eigenvectors (unit vectors, from
:func:`occamlab.probes.curvature.hessian_spectrum`), the difference between two solutions, and
the top principal components of a training trajectory (:mod:`.pca`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch

from occamlab.linalg.params import unflatten
from occamlab.subject import Params, Subject

Direction = dict[str, torch.Tensor]
Normalization = Literal["filter", "layer", "model", "none"]
Vectors = Literal["ignore", "normalize"]
NORMALIZATIONS: tuple[str, ...] = ("filter", "layer", "model", "none")
VECTORS: tuple[str, ...] = ("ignore", "normalize")


def _check(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}, got {value!r}")


def gaussian_direction(params: Params, *, generator: torch.Generator) -> Direction:
    """Independent standard Gaussian entries, shaped like ``params`` (drawn in name order)."""
    out = {}
    for name, p in params.items():
        draw = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        out[name] = draw.to(dtype=p.dtype, device=p.device)
    return out


def _group_norms(t: torch.Tensor, per_filter: bool) -> torch.Tensor:
    """Norms of the groups of ``t``, broadcastable against ``t``."""
    if per_filter:
        return t.reshape(t.shape[0], -1).norm(dim=1).reshape(-1, *([1] * (t.ndim - 1)))
    return t.norm()


def normalize_direction(
    direction: Mapping[str, torch.Tensor],
    params: Params,
    *,
    normalization: Normalization = "filter",
    vectors: Vectors = "ignore",
) -> Direction:
    """Rescale ``direction`` group by group to the norms of ``params`` (see the module docstring).

    Args:
        direction: the raw direction (e.g. :func:`gaussian_direction`); not modified.
        params: the point the direction starts from (its filter/layer norms are the targets).
        normalization: ``"filter"`` (one group per output slice of every tensor with ≥ 2 axes),
            ``"layer"`` (one group per tensor), ``"model"`` (one group in all) or ``"none"``
            (returned unchanged, ``vectors`` not applied).
        vectors: what happens to tensors with fewer than two axes: ``"ignore"`` zeroes them,
            ``"normalize"`` rescales each as one group (under ``"model"``: includes them).
    """
    _check("normalization", normalization, NORMALIZATIONS)
    _check("vectors", vectors, VECTORS)
    if set(direction) != set(params):
        raise ValueError("the direction and the parameters must name the same tensors")
    if normalization == "none":
        return {k: direction[k].clone() for k in params}
    moved = {k: w.ndim >= 2 or vectors == "normalize" for k, w in params.items()}
    if normalization == "model":
        target = sum(float(params[k].detach().double().pow(2).sum()) for k in params if moved[k])
        current = sum(float(direction[k].double().pow(2).sum()) for k in params if moved[k])
        factor = (target / current) ** 0.5 if current > 0 else 0.0
        return {
            k: direction[k] * factor if moved[k] else torch.zeros_like(direction[k]) for k in params
        }
    out = {}
    for name, w in params.items():
        d = direction[name]
        if d.shape != w.shape:
            raise ValueError(f"direction {name!r} has shape {tuple(d.shape)}, not {tuple(w.shape)}")
        if w.ndim < 2 and vectors == "ignore":
            out[name] = torch.zeros_like(d)
            continue
        per_filter = normalization == "filter" and w.ndim >= 2
        target = _group_norms(w.detach(), per_filter)
        current = _group_norms(d, per_filter)
        scale = torch.where(current > 0, target / torch.where(current > 0, current, 1), 0)
        out[name] = d * scale
    return out


def random_directions(
    subject: Subject,
    *,
    count: int = 2,
    normalization: Normalization = "filter",
    vectors: Vectors = "ignore",
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> list[Direction]:
    """``count`` Gaussian directions at the subject's parameters, normalized (default: per filter).

    Randomness comes from ``generator`` or, if None, a generator seeded with ``seed``.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    gen = generator if generator is not None else torch.Generator().manual_seed(seed)
    params = subject.params()
    return [
        normalize_direction(
            gaussian_direction(params, generator=gen),
            params,
            normalization=normalization,
            vectors=vectors,
        )
        for _ in range(count)
    ]


def hessian_directions(
    subject: Subject, *, count: int = 2, limit: int = 1000, tol: float = 1e-4, seed: int = 0
) -> tuple[list[Direction], list[float]]:
    """The top-``count`` Hessian eigenvectors (unit norm, sign-fixed) and their eigenvalues.

    Computed by :func:`occamlab.probes.curvature.hessian_spectrum` (Lanczos on the streamed
    Hessian of the mean training loss over the first ``limit`` examples, eval mode).
    """
    from occamlab.probes.curvature import hessian_spectrum

    report = hessian_spectrum(subject, k=count, trace=False, tol=tol, limit=limit, seed=seed)
    if report.eigenvectors is None:  # pragma: no cover - hessian_spectrum always returns them
        raise RuntimeError("hessian_spectrum returned no eigenvectors")
    like = subject.params()
    vectors = report.eigenvectors
    dtype = next(iter(like.values())).dtype
    directions = [
        {k: v.to(dtype).clone() for k, v in unflatten(vectors[:, j], like).items()}
        for j in range(count)
    ]
    return directions, [float(v) for v in report.eigenvalues]


def difference_direction(start: Params, end: Params) -> Direction:
    """``end − start``: the direction from one solution to another."""
    if set(start) != set(end):
        raise ValueError("start and end must name the same parameters")
    out = {}
    for name, a in start.items():
        if a.shape != end[name].shape:
            raise ValueError(f"parameter {name!r} differs in shape between start and end")
        out[name] = end[name].detach() - a.detach()
    return out


def direction_norm(direction: Mapping[str, torch.Tensor]) -> float:
    """Euclidean norm of a direction over all its tensors."""
    return float(sum(float(t.double().pow(2).sum()) for t in direction.values()) ** 0.5)
