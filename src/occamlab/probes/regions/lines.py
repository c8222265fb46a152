"""Exact linear regions of a ReLU network along a segment of input space.

Hanin & Rolnick (2019, arXiv 1901.09021) count the activation regions a line through input
space crosses. Along ``x(t) = a + t (b − a)``, ``t ∈ [0, 1]``, the region containing ``t₀`` is the
interval around ``t₀`` up to the nearest zero crossing of any linearly extrapolated ReLU input
``z_j(t₀) + (t − t₀) ż_j`` (exact: inside a region every ``z_j`` is affine in ``t``). Starting
from a batch of points, regions are found interval by interval and the gaps between them are
queried at their midpoints until the intervals cover ``[0, 1]``: the breakpoints are exact up to
float64 rounding, not a sampling of the line. Regions shorter than ``tol`` (in ``t``) are merged
with a neighbour.

``pieces`` counts the linear pieces of the function itself (adjacent regions with the same
slope merged); ``regions`` counts activation patterns.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from occamlab.jsonable import jsonable
from occamlab.linalg.hessian import prepare_forward_ad
from occamlab.probes.regions.activations import hidden_widths, preactivations
from occamlab.probes.regions.bounds import relu_region_bound


def line_bound(widths: list[int]) -> int:
    """The most regions a line can cross: ``∏_l (n_l + 1)`` (a 1-D input; Serra et al. 2018,
    arXiv 1711.02114, Theorem 1 with ``n₀ = 1``)."""
    return relu_region_bound(widths, 1)


@dataclass(frozen=True)
class LineRegions:
    """Linear regions along the segment from ``a`` to ``b``.

    Attributes:
        regions: activation regions crossed.
        pieces: linear pieces of the network function (regions with equal slope merged).
        breakpoints: region boundaries in ``t ∈ (0, 1)`` (sorted).
        length: ``‖b − a‖`` in input units.
        neurons: ReLU units in the network.
        widths: ReLU units per ReLU layer.
        bound: the maximum number of regions a line can cross (:func:`line_bound`).
        queries: points evaluated to find the regions.
        seconds: wall time.
        outputs: network outputs at the region midpoints (for the picture).
    """

    regions: int
    pieces: int
    breakpoints: list[float]
    length: float
    neurons: int
    widths: list[int]
    bound: int
    queries: int
    seconds: float
    midpoints: list[float] = field(default_factory=list, repr=False)
    outputs: list[list[float]] = field(default_factory=list, repr=False)

    @property
    def density(self) -> float:
        """Regions per unit length of input space."""
        return self.regions / self.length if self.length > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "regions": self.regions,
                "pieces": self.pieces,
                "breakpoints": self.breakpoints,
                "length": self.length,
                "regions_per_unit_length": self.density,
                "regions_per_unit_length_per_neuron": self.density / max(self.neurons, 1),
                "neurons": self.neurons,
                "widths": self.widths,
                "bound": self.bound,
                "fraction_of_bound": self.regions / self.bound,
                "queries": self.queries,
                "seconds": self.seconds,
            }
        )

    def plot(self, ax=None):
        """The network's first output along the segment, region boundaries marked."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3))
        ts = [0.0, *self.breakpoints, 1.0]
        for b in self.breakpoints:
            ax.axvline(b, color="0.85", lw=0.5)
        if self.outputs:
            mids = self.midpoints
            ax.plot(mids, [o[0] for o in self.outputs], ".", ms=2, color="tab:blue")
        ax.set(
            xlabel="t along the segment",
            ylabel="output 0 (region midpoints)",
            xlim=(ts[0], ts[-1]),
            title=f"{self.regions} regions on the segment (bound {self.bound:.3g})",
        )
        return ax


def _intervals(t: torch.Tensor, z: torch.Tensor, dz: torch.Tensor, tol: float):
    """For each point ``t_i``, the interval of its region (nearest crossings left and right) and
    whether the point lies on a boundary (a crossing within ``tol``), where it is ambiguous."""
    with torch.no_grad():
        safe = torch.where(dz == 0, torch.ones_like(dz), dz)
        s = t[:, None] - z / safe
        s = torch.where(dz == 0, torch.full_like(s, math.nan), s)
        left = torch.where(s < t[:, None], s, torch.full_like(s, -math.inf)).nan_to_num(
            nan=-math.inf
        )
        right = torch.where(s > t[:, None], s, torch.full_like(s, math.inf)).nan_to_num(
            nan=math.inf
        )
        lo = left.max(dim=1).values.clamp_min(0.0)
        hi = right.min(dim=1).values.clamp_max(1.0)
        on_boundary = ((s - t[:, None]).abs() <= tol).any(dim=1)
    return lo, hi, on_boundary


def line_regions(
    model: nn.Module,
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    tol: float = 1e-9,
    initial_points: int = 256,
    max_regions: int = 1_000_000,
) -> LineRegions:
    """Count the activation regions of ``model`` on the segment ``[a, b]`` exactly.

    Args:
        model: a ReLU network (see :func:`occamlab.probes.regions.activations.relu_modules`);
            a float64 copy is evaluated, the module itself is untouched.
        a: the segment's start point (input-shaped, no batch dimension).
        b: the segment's end point (the same shape as ``a``).
        tol: regions shorter than this fraction of the segment are merged with a neighbour
            (a stretch between found regions that a query at its middle, or 4·tol beside it,
            cannot resolve — a few tol long — is merged too: each point is queried once).
        initial_points: points evaluated in the first batch.
        max_regions: stop with an error beyond this many regions.
    """
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    started = time.perf_counter()
    prepare_forward_ad()
    net = copy.deepcopy(model).double()
    a, b = a.double(), b.double()
    d = (b - a).unsqueeze(0)
    widths = hidden_widths(net, a.unsqueeze(0))
    found: dict[tuple[int, int], tuple[float, float, float]] = {}
    queue = (torch.arange(initial_points, dtype=torch.float64) + 0.5) / initial_points
    queries = 0
    asked: set[int] = set()  # queried points, in units of tol: never ask the same point twice
    while queue.numel():
        asked.update(round(t / tol) for t in queue.tolist())
        queries += queue.numel()
        x = a.unsqueeze(0) + queue.view(-1, *[1] * a.ndim) * d
        z, dz, _, _ = preactivations(net, x, d)
        lo, hi, ambiguous = _intervals(queue, z, dz, tol)
        retry = []
        for l_, h_, t_, amb in zip(
            lo.tolist(), hi.tolist(), queue.tolist(), ambiguous.tolist(), strict=True
        ):
            if amb:  # on a boundary: look just beside it instead
                retry += [t for t in (t_ - 4 * tol, t_ + 4 * tol) if 0 < t < 1]
                continue
            key = (round(l_ / tol), round(h_ / tol))
            found.setdefault(key, (l_, h_, t_))
        if len(found) > max_regions:
            raise ValueError(f"more than {max_regions} regions on the segment; raise max_regions")
        spans = sorted(found.values())
        gaps = []
        edge = 0.0
        for l_, h_, _ in spans:
            if l_ > edge + tol:
                gaps.append(0.5 * (edge + l_))
            edge = max(edge, h_)
        if edge < 1.0 - tol:
            gaps.append(0.5 * (edge + 1.0))
        if retry:
            gaps = retry
        queue = torch.tensor([t for t in gaps if round(t / tol) not in asked], dtype=torch.float64)
    spans = sorted(found.values())
    # Merge overlapping duplicates (the same region seen from two points, within rounding).
    merged: list[tuple[float, float, float]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1] - tol:
            continue
        merged.append(span)
    mids = torch.tensor([0.5 * (l_ + h_) for l_, h_, _ in merged], dtype=torch.float64)
    x = a.unsqueeze(0) + mids.view(-1, *[1] * a.ndim) * d
    _, _, out, slope = preactivations(net, x, d)
    pieces = 1
    for i in range(1, len(merged)):
        diff = (slope[i] - slope[i - 1]).abs().max()
        ref = slope[i - 1].abs().max().clamp_min(1e-300)
        if float(diff / ref) > 1e-8:
            pieces += 1
    breakpoints = [h_ for _, h_, _ in merged[:-1]]
    return LineRegions(
        regions=len(merged),
        pieces=pieces,
        breakpoints=breakpoints,
        length=float(d.norm()),
        neurons=sum(widths),
        widths=widths,
        bound=line_bound(widths),
        queries=queries,
        seconds=time.perf_counter() - started,
        midpoints=mids.tolist(),
        outputs=out.reshape(len(merged), -1).tolist(),
    )
