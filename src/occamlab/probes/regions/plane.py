"""Linear regions of a ReLU network on a 2-D plane through input space.

The plane through three inputs ``x₀, x₁, x₂`` (Hanin & Rolnick 2019, arXiv 1906.00904, Fig. 1)
is parametrized by orthonormal axes ``e₁ ∝ x₁ − x₀`` and ``e₂ ∝`` the part of ``x₂ − x₀``
orthogonal to ``e₁``, over a window that holds the three points with a margin. The activation
pattern (on/off of every ReLU) is evaluated on a ``grid × grid`` lattice; the number of distinct
patterns is a lower bound on the regions meeting the window that converges as the grid is refined
(regions smaller than a grid cell can be missed; ``refined`` reports the count on a grid twice as
fine to show how close it is).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from occamlab.jsonable import jsonable
from occamlab.probes.regions.activations import hidden_widths, relu_inputs
from occamlab.probes.regions.bounds import relu_region_bound


def plane_bound(widths: list[int]) -> int:
    """The most regions a 2-D input space can be cut into: ``∏_l Σ_{j ≤ min(2, n_1..n_l)}
    C(n_l, j)`` (Serra et al. 2018, arXiv 1711.02114, Theorem 1 with ``n₀ = 2``)."""
    return relu_region_bound(widths, 2)


@dataclass(frozen=True)
class PlaneRegions:
    """Activation regions met by a window of the plane through three inputs.

    Attributes:
        regions: distinct activation patterns on the grid.
        refined: the same count on a grid twice as fine (None if not computed).
        grid: points per side.
        area: the window's area in input units².
        extent: ``(u_min, u_max, v_min, v_max)`` of the window in plane coordinates.
        anchors: plane coordinates of ``x₀, x₁, x₂``.
        neurons: ReLU units; widths: per ReLU layer.
        bound: the most regions of a 2-D input (:func:`plane_bound`).
        seconds: wall time.
        labels: region index of every grid point (``grid × grid``), for the picture.
    """

    regions: int
    refined: int | None
    grid: int
    area: float
    extent: tuple[float, float, float, float]
    anchors: list[tuple[float, float]]
    neurons: int
    widths: list[int]
    bound: int
    seconds: float
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def density(self) -> float:
        """Regions per unit area of input space."""
        return self.regions / self.area

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "regions": self.regions,
                "refined": self.refined,
                "grid": self.grid,
                "area": self.area,
                "extent": list(self.extent),
                "anchors": [list(a) for a in self.anchors],
                "regions_per_unit_area": self.density,
                "regions_per_unit_area_per_neuron_squared": self.density
                / max(self.neurons, 1) ** 2,
                "neurons": self.neurons,
                "widths": self.widths,
                "bound": self.bound,
                "fraction_of_bound": self.regions / self.bound,
                "seconds": self.seconds,
            }
        )

    def plot(self, ax=None):
        """Regions in random colours with the three anchor inputs marked."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        if self.labels is not None:
            colours = np.random.default_rng(0).random((self.regions, 3)) * 0.6 + 0.35
            ax.imshow(
                colours[self.labels], origin="lower", extent=self.extent, interpolation="nearest"
            )
        for i, (u, v) in enumerate(self.anchors):
            ax.plot(u, v, "k^" if i == 0 else "ko", ms=6)
        ax.set(
            xlabel="e₁",
            ylabel="e₂",
            title=f"{self.regions} activation regions on the plane",
        )
        return ax


def _patterns(net: nn.Module, points: torch.Tensor) -> np.ndarray:
    z = relu_inputs(net, points)
    return np.packbits((z > 0).numpy(), axis=1)


def _count(net: nn.Module, origin, e1, e2, us, vs, chunk=4096) -> tuple[int, np.ndarray]:
    uu, vv = torch.meshgrid(us, vs, indexing="xy")
    coords = torch.stack([uu.flatten(), vv.flatten()], dim=1)
    packed = []
    for s in range(0, coords.shape[0], chunk):
        c = coords[s : s + chunk]
        pts = origin + c[:, :1] * e1 + c[:, 1:] * e2
        packed.append(_patterns(net, pts.view(-1, *origin.shape[1:])))
    allp = np.concatenate(packed)
    _, labels = np.unique(allp, axis=0, return_inverse=True)
    labels = labels.reshape(uu.shape)
    return int(labels.max()) + 1, labels


def plane_regions(
    model: nn.Module,
    x0: torch.Tensor,
    x1: torch.Tensor,
    x2: torch.Tensor,
    *,
    grid: int = 200,
    margin: float = 0.25,
    refine: bool = True,
) -> PlaneRegions:
    """Count activation regions on the plane through ``x0, x1, x2`` (input-shaped tensors).

    Args:
        model: a ReLU network (a float64 copy is evaluated; the module is untouched).
        grid: lattice points per side.
        margin: the window extends this fraction of its size beyond the three points.
        refine: also count on a ``2·grid`` lattice.
    """
    if grid < 2:
        raise ValueError(f"grid must be >= 2, got {grid}")
    started = time.perf_counter()
    net = copy.deepcopy(model).double()
    shape = x0.shape
    o = x0.double().reshape(1, -1)
    d1 = x1.double().reshape(1, -1) - o
    d2 = x2.double().reshape(1, -1) - o
    if float(d1.norm()) == 0:
        raise ValueError("x0 and x1 coincide; pick three distinct inputs")
    e1 = d1 / d1.norm()
    rest = d2 - (d2 @ e1.T) * e1
    if float(rest.norm()) <= 1e-6 * float(d2.norm()):
        raise ValueError("the three inputs are collinear; they do not span a plane")
    e2 = rest / rest.norm()
    anchors = [(0.0, 0.0), (float(d1.norm()), 0.0), (float(d2 @ e1.T), float(rest.norm()))]
    us_, vs_ = [p[0] for p in anchors], [p[1] for p in anchors]
    span = max(max(us_) - min(us_), max(vs_) - min(vs_))
    cu, cv = (max(us_) + min(us_)) / 2, (max(vs_) + min(vs_)) / 2
    half = span * (0.5 + margin)
    extent = (cu - half, cu + half, cv - half, cv + half)
    origin = o.reshape(1, *shape)
    e1s, e2s = e1.reshape(1, *shape), e2.reshape(1, *shape)

    def axis(n: int):
        return (
            torch.linspace(extent[0], extent[1], n, dtype=torch.float64),
            torch.linspace(extent[2], extent[3], n, dtype=torch.float64),
        )

    regions, labels = _count(net, origin, e1s, e2s, *axis(grid))
    refined = _count(net, origin, e1s, e2s, *axis(2 * grid))[0] if refine else None
    widths = hidden_widths(net, origin)
    return PlaneRegions(
        regions=regions,
        refined=refined,
        grid=grid,
        area=(2 * half) ** 2,
        extent=extent,
        anchors=anchors,
        neurons=sum(widths),
        widths=widths,
        bound=plane_bound(widths),
        seconds=time.perf_counter() - started,
        labels=labels,
    )
