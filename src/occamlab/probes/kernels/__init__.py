"""Neural tangent kernels: empirical (any model), analytic (infinite-width MLPs), kernel
regression, and how far the kernel moves in training (lazy vs rich)."""

from occamlab.probes.kernels.cost import METHODS, NTKPlan
from occamlab.probes.kernels.empirical import MODES, empirical_ntk, plan_ntk

__all__ = ["METHODS", "MODES", "NTKPlan", "empirical_ntk", "plan_ntk"]
