"""Size measures (Jiang et al. 2019, §C.1): how big the model class is, ignoring the data.

* ``num_parameters``: ω, the number of trainable parameters (Jiang et al.'s "#params").
* ``vc_dimension``: ω · d · log₂ ω with d the number of weight layers: the order of the
  VC-dimension bound of piecewise-linear networks, O(ω d log ω) (Bartlett, Harvey, Liaw &
  Mehrabian 2019, Theorem 6, constants dropped). It is a capacity proxy for ranking, not the
  VC-dimension itself.
"""

from __future__ import annotations

import math

from occamlab.probes.measures.layers import weight_layers
from occamlab.subject import Subject


def size_measures(subject: Subject) -> dict[str, float]:
    """``num_parameters`` and the ``vc_dimension`` proxy."""
    omega = sum(v.numel() for v in subject.params().values())
    depth = len(weight_layers(subject))
    return {
        "num_parameters": float(omega),
        "vc_dimension": float(omega * depth * math.log2(max(omega, 2))),
    }


__all__ = ["size_measures"]
