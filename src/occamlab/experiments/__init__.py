"""Reproduced experiments: typed specs, a run function, and machine-checked claims."""

from occamlab.specs import Registry

EXPERIMENTS: Registry = Registry("experiment")

__all__ = ["EXPERIMENTS"]
