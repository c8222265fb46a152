"""Expressivity of ReLU networks: linear regions along lines (exact) and on planes."""

from occamlab.probes.regions.lines import LineRegions, line_bound, line_regions
from occamlab.probes.regions.plane import PlaneRegions, plane_bound, plane_regions

__all__ = [
    "LineRegions",
    "PlaneRegions",
    "line_bound",
    "line_regions",
    "plane_bound",
    "plane_regions",
]
