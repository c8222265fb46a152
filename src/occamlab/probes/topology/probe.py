"""``topology_probe``: Betti numbers of a subject's decision region on a grid over its input
space (2 or 3 inputs) or over a 2-D slice through its data (Bianchini & Scarselli 2014)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from occamlab.probes.topology.region import PositiveRegion, positive_region
from occamlab.specs import make_spec
from occamlab.subject import Subject

Slice = Literal["none", "plane", "pca"]


@dataclass(frozen=True)
class TopologySpec:
    """Options of :func:`topology_probe` (and the flags of ``occam probe topology``).

    Attributes:
        split: the inputs that set the window (and the slice).
        slice: ``none`` grids the input space itself (2 or 3 inputs); ``plane`` the plane
            through the split's first three inputs; ``pca`` the plane through the split's mean
            along its two top principal directions.
        grid: points per side of a 2-D grid.
        grid_3d: points per side of a 3-D grid (``grid_3d³`` evaluations).
        margin: the window extends this fraction of its size beyond the inputs on each side.
        output: the class whose region is measured against the rest (one-output nets: f > 0).
    """

    split: Literal["train", "test"] = "test"
    slice: Slice = "none"
    grid: int = 256
    grid_3d: int = 48
    margin: float = 0.1
    output: int = 0

    def __post_init__(self) -> None:
        if self.slice not in ("none", "plane", "pca"):
            raise ValueError(f"slice must be none, plane or pca, got {self.slice!r}")
        if self.grid < 2 or self.grid_3d < 2:
            raise ValueError(f"grid and grid_3d must be >= 2, got {self.grid}, {self.grid_3d}")
        if not 0 <= self.margin <= 10:
            raise ValueError(f"margin must be in [0, 10], got {self.margin}")
        if self.output < 0:
            raise ValueError(f"output must be a class index >= 0, got {self.output}")


def _window(coords: torch.Tensor, margin: float) -> list[tuple[float, float]]:
    """``(low, high)`` per column of ``coords``, widened by ``margin`` of the range each side."""
    lo, hi = coords.min(dim=0).values, coords.max(dim=0).values
    pad = torch.clamp(hi - lo, min=1e-6) * margin
    return [(float(a), float(b)) for a, b in zip(lo - pad, hi + pad, strict=True)]


def slice_axes(x: torch.Tensor, kind: Slice) -> tuple[torch.Tensor, torch.Tensor]:
    """The origin and two orthonormal directions of a 2-D slice through inputs ``x``
    (``(n, *input_shape)``): the plane through ``x[0], x[1], x[2]`` (Gram–Schmidt of
    ``x₁ − x₀`` and ``x₂ − x₀``) or through the mean along the two top principal directions
    (each signed so its largest entry is positive)."""
    flat = x.double().reshape(len(x), -1)
    if kind == "plane":
        if len(flat) < 3:
            raise ValueError("a plane slice needs at least 3 inputs in the split")
        origin = flat[0]
        d1, d2 = flat[1] - origin, flat[2] - origin
        if float(d1.norm()) == 0:
            raise ValueError("the first two inputs coincide; they do not span a plane")
        e1 = d1 / d1.norm()
        rest = d2 - (d2 @ e1) * e1
        if float(rest.norm()) <= 1e-9 * float(d2.norm()):
            raise ValueError("the first three inputs are collinear; they do not span a plane")
        axes = torch.stack([e1, rest / rest.norm()])
    else:
        if len(flat) < 3:
            raise ValueError("a pca slice needs at least 3 inputs in the split")
        origin = flat.mean(dim=0)
        _, _, vt = torch.linalg.svd(flat - origin, full_matrices=False)
        axes = vt[:2]
        signs = torch.sign(axes.gather(1, axes.abs().argmax(dim=1, keepdim=True)))
        axes = axes * signs
    shape = x.shape[1:]
    return origin.reshape(shape), axes.reshape(2, *shape)


def topology_probe(
    subject: Subject, *, spec: TopologySpec | None = None, **options: Any
) -> PositiveRegion:
    """Betti numbers of ``subject``'s decision region (options: :class:`TopologySpec`).

    Subjects with 2 or 3 input features are gridded over the box holding the split's inputs;
    others need a 2-D slice (``slice="plane"`` or ``"pca"``).
    """
    spec = make_spec(TopologySpec, {**(spec.__dict__ if spec else {}), **options})
    x = subject.split(spec.split).x
    features = x[0].numel()
    if spec.slice == "none":
        if features not in (2, 3):
            raise ValueError(
                f"the inputs have {features} features but the grid covers 2 or 3; "
                "take a 2-D slice through the data (slice: plane or pca)"
            )
        extent = _window(x.double().reshape(len(x), -1), spec.margin)
        grid = spec.grid if features == 2 else spec.grid_3d
        return positive_region(subject.model, extent, grid=grid, output=spec.output)
    origin, axes = slice_axes(x, spec.slice)
    flat = x.double().reshape(len(x), -1) - origin.reshape(1, -1)
    coords = flat @ axes.reshape(2, -1).T
    if spec.slice == "plane":
        coords = coords[:3]  # the window holds the three points the plane passes through
    extent = _window(coords, spec.margin)
    return positive_region(
        subject.model, extent, grid=spec.grid, origin=origin, axes=axes, output=spec.output
    )
