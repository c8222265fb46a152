"""Pruning masks over a parameter dict (:mod:`~occamlab.probes.pruning.masks`): magnitude
(global or per layer) and random, applied without touching a module."""

from occamlab.probes.pruning.masks import (
    Masks,
    Scope,
    apply_masks,
    magnitude_masks,
    prunable_names,
    random_masks,
    sparsity,
)

__all__ = [
    "Masks",
    "Scope",
    "apply_masks",
    "magnitude_masks",
    "prunable_names",
    "random_masks",
    "sparsity",
]
