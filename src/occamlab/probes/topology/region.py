"""The positive region of a network on a grid over a 2-D or 3-D box of input space.

The box is either the input space itself (networks of 2 or 3 inputs) or a slice through a
higher-dimensional input space: ``origin + u₁·e₁ + u₂·e₂`` over a window of plane coordinates.
The network's margin (its output for one output unit; ``f_c − max_{j≠c} f_j`` for class ``c``
of several) is evaluated in float64 on ``grid`` points per side, and the Betti numbers of
``{margin > 0}`` come from :func:`~occamlab.probes.topology.betti.betti_numbers`. Features
smaller than a grid cell are missed: the grid must resolve the regions (the experiment and
the probe state their resolution).
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
from occamlab.probes.topology.betti import betti_numbers


@dataclass(frozen=True)
class PositiveRegion:
    """Betti numbers of ``{x : margin(x) > 0}`` on a grid.

    Attributes:
        betti: ``(b₀, b₁)`` on a 2-D grid, ``(b₀, b₁, b₂)`` on a 3-D grid.
        grid: points per side.
        extent: ``(low, high)`` of every grid axis, in input units (plane units for a slice).
        axes: the grid's directions in input space (None: the input coordinates themselves).
        output: what was thresholded (``"f > 0"`` or ``"class c vs rest"``).
        positive_fraction: fraction of the grid points inside the region.
        seconds: wall time.
        values: the margin on the grid (axis ``i`` of the array is grid axis ``i``).
    """

    betti: tuple[int, ...]
    grid: int
    extent: tuple[tuple[float, float], ...]
    axes: list[list[float]] | None
    output: str
    positive_fraction: float
    seconds: float
    values: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def total(self) -> int:
        """The sum of the Betti numbers (Bianchini & Scarselli's complexity measure B)."""
        return sum(self.betti)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "betti": list(self.betti),
                "betti_sum": self.total,
                "components": self.betti[0],
                "holes": self.betti[1],
                "grid": self.grid,
                "dimensions": len(self.betti),
                "extent": [list(e) for e in self.extent],
                "sliced": self.axes is not None,
                "output": self.output,
                "positive_fraction": self.positive_fraction,
                "seconds": self.seconds,
            }
        )

    def plot(self, ax=None, *, title: str | None = None):
        """The region (dark) on the grid; a 3-D grid shows its middle slice along the last axis."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        if self.values is not None:
            v = self.values if self.values.ndim == 2 else self.values[:, :, self.grid // 2]
            (x0, x1), (y0, y1) = self.extent[0], self.extent[1]
            ax.imshow(
                (v > 0).T,
                origin="lower",
                extent=(x0, x1, y0, y1),
                cmap="Greys",
                vmin=0,
                vmax=1.6,
                interpolation="nearest",
            )
        names = "b₀ b₁ b₂".split()
        text = ", ".join(f"{n} = {b}" for n, b in zip(names, self.betti, strict=False))
        middle = "" if len(self.betti) == 2 else " (middle slice)"
        ax.set(
            xlabel="e₁" if self.axes else "x₁",
            ylabel="e₂" if self.axes else "x₂",
            title=title or f"{self.output}{middle}: {text}",
        )
        return ax


def margin(outputs: torch.Tensor, output: int) -> torch.Tensor:
    """The output for one output unit; ``f_c − max_{j≠c} f_j`` (class ``c = output`` against
    the rest) for several."""
    if outputs.shape[1] == 1:
        return outputs[:, 0]
    if not 0 <= output < outputs.shape[1]:
        raise ValueError(f"output must be a class in [0, {outputs.shape[1]}), got {output}")
    rest = torch.cat([outputs[:, :output], outputs[:, output + 1 :]], dim=1)
    return outputs[:, output] - rest.max(dim=1).values


def positive_region(
    model: nn.Module,
    extent: list[tuple[float, float]] | tuple[tuple[float, float], ...],
    *,
    grid: int = 256,
    origin: torch.Tensor | None = None,
    axes: torch.Tensor | None = None,
    output: int = 0,
    chunk: int = 16_384,
) -> PositiveRegion:
    """Betti numbers of the region where ``model``'s margin is positive, on a grid over ``extent``.

    Args:
        model: maps ``(batch, *input_shape)`` to ``(batch, outputs)``; a float64 copy in eval mode
            is evaluated (the module is untouched).
        extent: ``(low, high)`` per grid axis (2 or 3 axes).
        grid: points per side (the grid has ``grid ** len(extent)`` points).
        origin: an input (any shape); with ``axes``, grid point ``u`` is ``origin + Σ uᵢ axesᵢ``.
            Without them the grid's coordinates are the model's (flat) inputs.
        axes: ``(len(extent), *origin.shape)`` directions of the grid axes in input space.
        output: the class whose region is measured (against the rest); ignored for one output.
        chunk: grid points per forward pass.
    """
    extent = tuple((float(lo), float(hi)) for lo, hi in extent)
    if len(extent) not in (2, 3):
        raise ValueError(f"the grid must have 2 or 3 axes, got {len(extent)}")
    if any(not hi > lo for lo, hi in extent):
        raise ValueError(f"every axis needs low < high, got {extent}")
    if grid < 2:
        raise ValueError(f"grid must be >= 2, got {grid}")
    if (origin is None) != (axes is None):
        raise ValueError("pass origin and axes together (a slice) or neither (the input space)")
    started = time.perf_counter()
    net = copy.deepcopy(model).double().eval()
    ticks = [torch.linspace(lo, hi, grid, dtype=torch.float64) for lo, hi in extent]
    coords = torch.stack(torch.meshgrid(*ticks, indexing="ij"), dim=-1).reshape(-1, len(extent))
    values, outputs = [], 1
    with torch.no_grad():
        for s in range(0, coords.shape[0], chunk):
            c = coords[s : s + chunk]
            if axes is None:
                x = c
            else:
                o, a = origin.double().reshape(1, -1), axes.double().reshape(len(extent), -1)
                x = (o + c @ a).reshape(-1, *origin.shape)
            out = net(x).reshape(len(c), -1)
            outputs = out.shape[1]
            values.append(margin(out, output))
    v = torch.cat(values).reshape((grid,) * len(extent)).numpy()
    return PositiveRegion(
        betti=betti_numbers(v),
        grid=grid,
        extent=extent,
        axes=None if axes is None else axes.double().reshape(len(extent), -1).tolist(),
        output="f > 0" if outputs == 1 else f"class {output} vs rest",
        positive_fraction=float((v > 0).mean()),
        seconds=time.perf_counter() - started,
        values=v,
    )
