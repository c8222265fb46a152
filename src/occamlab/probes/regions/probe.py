"""``regions_probe``: linear regions of a subject's ReLU network along segments between inputs
and on the plane through three of them (Hanin & Rolnick 2019)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from occamlab.jsonable import jsonable
from occamlab.probes.regions.lines import LineRegions, line_regions
from occamlab.probes.regions.plane import PlaneRegions, plane_regions
from occamlab.specs import make_spec
from occamlab.subject import Subject


@dataclass(frozen=True)
class RegionsSpec:
    """Options of :func:`regions_probe` (and the flags of ``occam probe regions``).

    Attributes:
        split: the inputs the segments and the plane pass through.
        segments: segments between consecutive pairs of inputs (x₀→x₁, x₂→x₃, ...).
        plane: also count regions on the plane through the first three inputs.
        grid: plane lattice points per side.
        refine: also count on a lattice twice as fine (shows whether the count converged).
        tol: regions shorter than this fraction of a segment are merged.
    """

    split: Literal["train", "test"] = "test"
    segments: int = 5
    plane: bool = True
    grid: int = 128
    refine: bool = True
    tol: float = 1e-9

    def __post_init__(self) -> None:
        if self.segments < 1:
            raise ValueError(f"segments must be >= 1, got {self.segments}")
        if self.grid < 2:
            raise ValueError(f"grid must be >= 2, got {self.grid}")
        if not 0 < self.tol < 1e-3:
            raise ValueError(f"tol must be in (0, 1e-3), got {self.tol}")


@dataclass(frozen=True)
class RegionsReport:
    """Regions along segments between inputs and on a plane through three of them."""

    spec: RegionsSpec
    lines: list[LineRegions]
    plane: PlaneRegions | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        counts = [line.regions for line in self.lines]
        densities = [line.density for line in self.lines]
        return jsonable(
            {
                "spec": self.spec,
                "mean_regions_per_segment": sum(counts) / len(counts),
                "mean_regions_per_unit_length": sum(densities) / len(densities),
                "line_bound": self.lines[0].bound,
                "neurons": self.lines[0].neurons,
                "widths": self.lines[0].widths,
                "lines": [line.to_dict() for line in self.lines],
                "plane": None if self.plane is None else self.plane.to_dict(),
                "evaluated_in_eval_mode": True,
                "seconds": self.seconds,
            }
        )

    def plot(self, axes=None):
        """The first segment's output with its breakpoints and the plane's regions."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(11, 4), width_ratios=[1.6, 1])
        self.lines[0].plot(ax=axes[0])
        if self.plane is not None:
            self.plane.plot(ax=axes[1])
        else:
            axes[1].axis("off")
        return axes


def regions_probe(
    subject: Subject, *, spec: RegionsSpec | None = None, **options: Any
) -> RegionsReport:
    """Count linear regions of ``subject``'s ReLU network (options: :class:`RegionsSpec`).

    Segments join consecutive pairs of the split's first inputs; their region counts are exact.
    The plane's count is a lattice lower bound (see :mod:`occamlab.probes.regions.plane`).
    """
    spec = make_spec(RegionsSpec, {**(spec.__dict__ if spec else {}), **options})
    started = time.perf_counter()
    x = subject.split(spec.split).x
    needed = max(2 * spec.segments, 3 if spec.plane else 0)
    if len(x) < needed:
        raise ValueError(
            f"the {spec.split} split has {len(x)} inputs but {needed} are needed; lower segments"
        )
    lines = [
        line_regions(subject.model, x[2 * i], x[2 * i + 1], tol=spec.tol)
        for i in range(spec.segments)
    ]
    plane = (
        plane_regions(subject.model, x[0], x[1], x[2], grid=spec.grid, refine=spec.refine)
        if spec.plane
        else None
    )
    return RegionsReport(spec, lines, plane, time.perf_counter() - started)
