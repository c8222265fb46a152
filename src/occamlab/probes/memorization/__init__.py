"""Memorization probes: the critical sample ratio, how many inputs lie close to the decision
boundary (:mod:`~occamlab.probes.memorization.critical_samples`), and the 2n + d network that
fits any sample exactly (:mod:`~occamlab.probes.memorization.interpolation`)."""

from occamlab.probes.memorization.critical_samples import CriticalSamples, critical_sample_ratio
from occamlab.probes.memorization.interpolation import (
    Interpolant,
    InterpolationCheck,
    check_interpolant,
    interpolant,
    interpolate_sample,
)

__all__ = [
    "CriticalSamples",
    "Interpolant",
    "InterpolationCheck",
    "check_interpolant",
    "critical_sample_ratio",
    "interpolant",
    "interpolate_sample",
]
