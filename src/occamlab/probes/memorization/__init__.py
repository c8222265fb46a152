"""Memorization probes: the critical sample ratio, how many inputs lie close to the decision
boundary (:mod:`~occamlab.probes.memorization.critical_samples`)."""

from occamlab.probes.memorization.critical_samples import CriticalSamples, critical_sample_ratio

__all__ = ["CriticalSamples", "critical_sample_ratio"]
