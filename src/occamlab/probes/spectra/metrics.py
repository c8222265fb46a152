"""Scalar summaries of a layer's ESD (eigenvalues ``λ`` of ``WᵀW``), as WeightWatcher reports them.

- ``log_norm = log₁₀ Σλ = log₁₀ ‖W‖²_F``; ``log_spectral_norm = log₁₀ λ_max = log₁₀ ‖W‖²₂``;
- ``stable_rank = Σλ / λ_max = ‖W‖²_F / ‖W‖²₂``;
- ``alpha_weighted`` α̂ = α · log₁₀ λ_max (Martin, Peng & Mahoney 2021, Nature Communications
  12:4122); its sign is that of ``log λ_max``, so it is negative when λ_max < 1 — reported as is
  and flagged, since a larger α then lowers it;
- ``log_alpha_norm = log₁₀ Σ λ^α`` (the Schatten α-norm, computed in log space);
- ``entropy``: normalized spectral entropy ``−Σ p ln p / ln r`` with ``p = λ/Σλ`` over the ``r``
  resolved eigenvalues (1 for a flat spectrum, → 0 for rank one);
- ``rand_distance``: Jensen–Shannon distance (base 2, in [0, 1]) between the histograms of
  ``log₁₀ λ`` of ``W`` and of ``W`` with its entries randomly permuted (a random matrix with the
  same element distribution): 0 when training left no structure a permutation destroys.
  (WeightWatcher's ``rand_distance`` treats the two sorted eigenvalue vectors as probability
  vectors; this compares the distributions.)
"""

from __future__ import annotations

import numpy as np

_LN10 = np.log(10.0)


def norm_metrics(values: np.ndarray, resolved: np.ndarray) -> dict[str, float]:
    """Norm-based metrics of ascending eigenvalues ``values`` (``resolved`` is the part above the
    rounding level)."""
    lam_max = float(values[-1])
    total = float(values.sum())
    p = resolved / resolved.sum()
    r = resolved.size
    entropy = float(-(p * np.log(p)).sum() / np.log(r)) if r > 1 else 0.0
    return {
        "lambda_max": lam_max,
        "log_norm": float(np.log10(total)),
        "log_spectral_norm": float(np.log10(lam_max)),
        "stable_rank": total / lam_max,
        "entropy": entropy,
        "num_resolved": r,
    }


def log_alpha_norm(resolved: np.ndarray, alpha: float) -> float:
    """``log₁₀ Σ λ^α`` without overflow (log-sum-exp)."""
    terms = alpha * np.log(resolved)
    top = float(terms.max())
    return (top + float(np.log(np.exp(terms - top).sum()))) / _LN10


def js_distance(a: np.ndarray, b: np.ndarray, *, bins: int = 100) -> float:
    """Jensen–Shannon distance (base 2) between histograms of ``log₁₀`` of positive ``a``, ``b``
    on shared bins."""
    la, lb = np.log10(a[a > 0]), np.log10(b[b > 0])
    if la.size == 0 or lb.size == 0:
        raise ValueError("rand_distance needs positive eigenvalues in both spectra")
    lo, hi = min(la.min(), lb.min()), max(la.max(), lb.max())
    if hi <= lo:
        return 0.0
    edges = np.linspace(lo, hi, bins + 1)
    p = np.histogram(la, edges)[0] / la.size
    q = np.histogram(lb, edges)[0] / lb.size
    mix = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / mix), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / mix), 0.0).sum()
    return float(np.sqrt(max((kl_p + kl_q) / 2, 0.0)))
