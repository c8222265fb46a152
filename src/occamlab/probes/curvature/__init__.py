"""Curvature of the loss at a trained subject: Hessian (or GGN/Fisher) spectrum, trace, density
and per-layer view (:mod:`~occamlab.probes.curvature.spectrum`), the λ_max monitor of training,
and the page of an ``occam probe hessian`` run (:mod:`~occamlab.probes.curvature.page`)."""

from occamlab.probes.curvature.spectrum import (
    HessianReport,
    HessianSpec,
    LayerCurvature,
    SharpnessMonitor,
    hessian_spectrum,
    layer_blocks,
)

__all__ = [
    "HessianReport",
    "HessianSpec",
    "LayerCurvature",
    "SharpnessMonitor",
    "hessian_spectrum",
    "layer_blocks",
]
