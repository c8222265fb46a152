"""Loss landscapes and mode connectivity: honest pictures of the loss surface, and the paths
between solutions.

* :mod:`.directions` — Gaussian, filter-/layer-/model-normalized, Hessian-eigenvector and
  difference directions (Li et al. 2018, arXiv 1712.09913).
* :mod:`.surface` — lines and planes θ₀ + a·d₁ + b·d₂ of train/test loss and accuracy; the
  one-call default picture :func:`landscape_plane`.
* :mod:`.pca` — the training trajectory on its top-2 PCA plane.
* :mod:`.curves` — Bézier and polygonal-chain curves between solutions trained with the one
  training loop, and their barriers (Garipov et al. 2018, arXiv 1802.10026).
* :mod:`.convexity` — |λ_min|/|λ_max| of the Hessian over a plane.
* :mod:`.evaluate` — the engine: functional, streamed, eval-mode evaluation of many points,
  optional BatchNorm re-estimation, spread over torch.distributed ranks.
* :mod:`.plots` — contours, 3-D surfaces, trajectories, barrier plots.

Linear interpolation and linear mode connectivity (Goodfellow et al. 2015; Frankle et al. 2020)
live in :mod:`occamlab.probes.connectivity` and are re-exported here.
"""

from occamlab.probes.connectivity import (
    PathResult,
    barrier,
    interpolate,
    linear_mode_connectivity,
)
from occamlab.probes.landscape.convexity import CurvatureMap, curvature_map
from occamlab.probes.landscape.curves import (
    CurveModule,
    ModeConnectivity,
    curve_coefficients,
    mode_connectivity,
)
from occamlab.probes.landscape.directions import (
    difference_direction,
    gaussian_direction,
    hessian_directions,
    normalize_direction,
    random_directions,
)
from occamlab.probes.landscape.evaluate import PointEvaluator, reestimate_bn_buffers
from occamlab.probes.landscape.pca import TrajectoryPlane, trajectory_pca, trajectory_plane
from occamlab.probes.landscape.surface import (
    LandscapeSpec,
    Surface,
    landscape_plane,
    loss_surface,
    symmetric_grid,
)

__all__ = [
    "CurvatureMap",
    "CurveModule",
    "LandscapeSpec",
    "ModeConnectivity",
    "PathResult",
    "PointEvaluator",
    "Surface",
    "TrajectoryPlane",
    "barrier",
    "curvature_map",
    "curve_coefficients",
    "difference_direction",
    "gaussian_direction",
    "hessian_directions",
    "interpolate",
    "landscape_plane",
    "linear_mode_connectivity",
    "loss_surface",
    "mode_connectivity",
    "normalize_direction",
    "random_directions",
    "reestimate_bn_buffers",
    "symmetric_grid",
    "trajectory_pca",
    "trajectory_plane",
]
