"""The binary KL divergence and its inversions: how every kl-form bound turns into a number.

For q, p ∈ [0, 1] the KL divergence between Bernoulli(q) and Bernoulli(p) is

    kl(q‖p) = q ln(q/p) + (1 − q) ln((1 − q)/(1 − p))      (0 ln 0 = 0).

It is convex in p, zero at p = q and increasing on [q, 1]. A kl-form bound states
kl(ê‖e) ≤ c for an observed ê and a complexity c ≥ 0; the largest e it allows is the upper
inverse

    kl⁻¹(ê, c) = sup{p ∈ [ê, 1] : kl(ê‖p) ≤ c},

found here by bisection on [ê, 1] to an absolute width of 1e-15 (the inverse is returned as
the upper end of the final bracket, so it never undershoots). Pinsker's inequality
kl(q‖p) ≥ 2(p − q)² gives the cheaper but looser ê + √(c/2) (the McAllester form).

References:
    J. Langford (2005), Tutorial on practical prediction theory for classification. JMLR 6.
    A. Maurer (2004), A note on the PAC Bayesian theorem. arXiv cs/0411099.
"""

from __future__ import annotations

import math

_WIDTH = 1e-15


def _check_probability(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return value


def binary_kl(q: float, p: float) -> float:
    """kl(q‖p) for Bernoulli means q and p (inf where p ∉ (0, 1) cannot explain q).

    >>> round(binary_kl(0.1, 0.2), 6)
    0.03669
    >>> binary_kl(0.3, 0.3)
    0.0
    """
    q = _check_probability("q", q)
    p = _check_probability("p", p)
    total = 0.0
    if q > 0.0:
        if p == 0.0:
            return math.inf
        total += q * math.log(q / p)
    if q < 1.0:
        if p == 1.0:
            return math.inf
        total += (1.0 - q) * math.log((1.0 - q) / (1.0 - p))
    return max(total, 0.0)


def kl_inverse_upper(q: float, c: float) -> float:
    """kl⁻¹(q, c): the largest p ≥ q with kl(q‖p) ≤ c (bisection to width 1e-15).

    Args:
        q: the observed mean (empirical risk), in [0, 1].
        c: the complexity, ≥ 0 (inf gives 1).

    >>> round(kl_inverse_upper(0.0, math.log(20) / 100), 6)  # 1 - 0.05 ** (1 / 100)
    0.029513
    """
    q = _check_probability("q", q)
    c = float(c)
    if math.isnan(c) or c < 0.0:
        raise ValueError(f"c must be >= 0, got {c!r}")
    if c == 0.0 or q == 1.0:
        return q
    if math.isinf(c) or binary_kl(q, 1.0 - _WIDTH) <= c:
        return 1.0
    lo, hi = q, 1.0
    while hi - lo > _WIDTH:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if binary_kl(q, mid) <= c:
            lo = mid
        else:
            hi = mid
    return hi


def kl_inverse_lower(q: float, c: float) -> float:
    """The smallest p ≤ q with kl(q‖p) ≤ c (the lower inverse, for lower confidence bounds)."""
    return 1.0 - kl_inverse_upper(1.0 - _check_probability("q", q), c)


__all__ = ["binary_kl", "kl_inverse_lower", "kl_inverse_upper"]
