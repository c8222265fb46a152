"""Generalization bounds: "can I know a decent error bound?"

* :func:`testset_bound` — Langford's test-set bound (exact binomial-tail inversion).
* :func:`pacbayes_bound` — PAC-Bayes-kl (with McAllester and Catoni forms) for a Gaussian
  posterior, optional posterior optimization (Dziugaite & Roy 2017) and data-dependent prior,
  Monte Carlo with its own kl-inverse correction (Pérez-Ortiz et al. 2021).
* :func:`disintegrated_bound` — one deterministic network drawn once from that posterior,
  certified with its exact error (Rivasplata et al. 2020; Viallard et al. 2021).
* :func:`compression_bound` — prune, quantize (k-means levels), arithmetic-code, count every
  bit, Occam bound (after Lotfi et al. 2022).
* :func:`subspace_bound` — the architecture retrained in a random d-dimensional subspace through
  its initialization, the coordinates quantized and coded (compression) or given a Gaussian
  posterior (PAC-Bayes): data-independent bounds with d numbers to describe instead of D
  (after Lotfi et al. 2022).
* :func:`norm_bounds` — Bartlett et al. 2017 and Neyshabur et al. 2018 spectral bounds, with
  exact convolution operator norms (measures: usually vacuous).
* :func:`error_bounds` — all of them next to the test error (fast default budget).

Every result is a frozen dataclass with ``to_dict()``; each bound reports its ingredients, δ,
the number of examples it uses and the bits spent on any search.
"""

from occamlab.probes.bounds.certificate import PacBayesBound, PacBayesSpec, pacbayes_bound
from occamlab.probes.bounds.compression import CompressionBound, compression_bound
from occamlab.probes.bounds.disintegrated import DisintegratedBound, disintegrated_bound
from occamlab.probes.bounds.kl import binary_kl, kl_inverse_upper
from occamlab.probes.bounds.norms import NormBounds, norm_bounds
from occamlab.probes.bounds.subspace import SubspaceBound, SubspaceNetwork, subspace_bound
from occamlab.probes.bounds.summary import BoundsReport, BoundsSpec, error_bounds
from occamlab.probes.bounds.testset import TestSetBound, binomial_tail_inverse, testset_bound

__all__ = [
    "DisintegratedBound",
    "disintegrated_bound",
    "BoundsReport",
    "BoundsSpec",
    "CompressionBound",
    "NormBounds",
    "PacBayesBound",
    "PacBayesSpec",
    "SubspaceBound",
    "SubspaceNetwork",
    "TestSetBound",
    "binary_kl",
    "binomial_tail_inverse",
    "compression_bound",
    "error_bounds",
    "kl_inverse_upper",
    "norm_bounds",
    "pacbayes_bound",
    "subspace_bound",
    "testset_bound",
]
