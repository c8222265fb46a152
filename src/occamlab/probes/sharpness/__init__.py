"""Sharpness measures: how much the full-data loss rises when the parameters are perturbed.

* :func:`keskar_sharpness` — Keskar et al. (2017) φ_ε: L-BFGS-B maximization in a box of
  relative size ε, in the full space or a random subspace.
* :func:`adaptive_sharpness` — Kwon et al. (2021) / Andriushchenko et al. (2023): worst case in
  the ball ‖T_w⁻¹δ‖_p ≤ ρ, T_w = diag(|w| + η), by projected gradient ascent.
* :func:`filter_normalized_sharpness` — worst case with each filter moving by at most ρ times its
  norm (Li et al. 2018 normalization).
* :func:`pacbayes_sigma` — Jiang et al. (2019) PAC-Bayes flatness σ by log-space bisection with
  common random numbers.
* :func:`worst_case_alpha` — Jiang et al. (2019) worst-case sharpness α (plain or
  magnitude-aware box), by log-space bisection over projected gradient ascent.

Every probe takes a :class:`~occamlab.subject.Subject` and keyword-only options, evaluates the
exact mean loss of a split (``split="train"``, ``limit=`` for its first examples) in eval mode,
never modifies the module's parameters, draws randomness only from its ``seed``, and returns a
frozen dataclass with ``to_dict()``. The implementations live in ``keskar``, ``ascent``,
``pacbayes`` and ``worstcase`` (their shared objective and checks in ``common``); see their
docstrings for the exact definitions. ``summary`` runs them all on one subject (``occam probe
sharpness``) and ``page`` draws that run's report page.
"""

from occamlab.probes.sharpness.ascent import (
    AdaptiveSharpness,
    AscentSharpness,
    FilterNormalizedSharpness,
    adaptive_sharpness,
    filter_normalized_sharpness,
)
from occamlab.probes.sharpness.common import SharpnessResult
from occamlab.probes.sharpness.keskar import KeskarSharpness, keskar_sharpness
from occamlab.probes.sharpness.pacbayes import PacBayesSigma, pacbayes_sigma
from occamlab.probes.sharpness.worstcase import WorstCaseAlpha, worst_case_alpha

__all__ = [
    "AdaptiveSharpness",
    "AscentSharpness",
    "FilterNormalizedSharpness",
    "KeskarSharpness",
    "PacBayesSigma",
    "SharpnessResult",
    "WorstCaseAlpha",
    "adaptive_sharpness",
    "filter_normalized_sharpness",
    "keskar_sharpness",
    "pacbayes_sigma",
    "worst_case_alpha",
]
