"""Topology of decision regions: Betti numbers of a network's positive region on a grid
(cubical homology through gudhi), after Bianchini & Scarselli 2014."""

from occamlab.probes.topology.betti import betti_numbers
from occamlab.probes.topology.bounds import relu_betti_bound, relu_region_bound
from occamlab.probes.topology.region import PositiveRegion, positive_region

__all__ = [
    "PositiveRegion",
    "betti_numbers",
    "positive_region",
    "relu_betti_bound",
    "relu_region_bound",
]
