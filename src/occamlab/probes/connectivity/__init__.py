"""Linear paths between solutions (:mod:`~occamlab.probes.connectivity.paths`): loss and error
along the straight line between two parameter sets, barriers, and linear mode connectivity."""

from occamlab.probes.connectivity.paths import (
    ConnectivityResult,
    PathResult,
    barrier,
    evaluate_path,
    interpolate,
    linear_mode_connectivity,
)

__all__ = [
    "ConnectivityResult",
    "PathResult",
    "barrier",
    "evaluate_path",
    "interpolate",
    "linear_mode_connectivity",
]
