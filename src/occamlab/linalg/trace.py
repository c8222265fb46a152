"""Randomized trace estimators: Hutchinson, adaptive Hutchinson, Hutch++, XTrace, ‖A‖_F².

All of them see the operator only through matvecs and report how many they used.

Hutchinson (1989; Girard 1989): for random z with E[z zᵀ] = I, E[zᵀ A z] = tr(A), so::

    tr̂(A) = (1/m) Σ_i z_iᵀ A z_i,   SE = s / √m,   s² = (1/(m−1)) Σ_i (z_iᵀ A z_i − tr̂)²,

with Var(zᵀAz) = 2(‖A‖_F² − Σ_i A_ii²) for Rademacher z and 2‖A‖_F² for Gaussian z. The error
falls like 1/√m. The confidence interval is tr̂ ± t_{m−1} · SE (Student t).

Hutch++ (Meyer, Musco, Musco & Woodruff 2021) spends m/3 matvecs on a sketch Y = A S, takes an
orthonormal basis Q of its range, computes tr(Qᵀ A Q) exactly (m/3 more) and runs Hutchinson on
the deflated remainder (I − QQᵀ) A (I − QQᵀ) with the last m/3::

    tr̂ = tr(QᵀAQ) + (1/l) Σ_i g_iᵀ (I − QQᵀ) A (I − QQᵀ) g_i.

Given Q the second term is an unbiased Hutchinson estimate of tr(A) − tr(QᵀAQ), so the whole
estimate is unbiased; its error falls like 1/m on a matrix whose eigenvalues decay (the sketch
captures the top of the spectrum). The reported standard error is that of the stochastic part.

XTrace (Epperly, Tropp & Webber 2024) uses each of s = m/2 random vectors ω_i both for the
sketch and as a Hutchinson probe, in an exchangeable way: with Q_(i) an orthonormal basis of
A[ω_1 … ω_s] without column i,

    tr̂ = (1/s) Σ_i [ tr(Q_(i)ᵀ A Q_(i)) + ω_iᵀ (I − Q_(i)Q_(i)ᵀ) A (I − Q_(i)Q_(i)ᵀ) ω_i ],

computed from the QR factorization of A Ω and A Q (2s matvecs) by rank-one downdating. Each
term is unbiased; the reported standard error is the authors' estimate std(T_i)/√s.

References:
    M. F. Hutchinson (1989), A stochastic estimator of the trace of the influence matrix for
    Laplacian smoothing splines. Commun. Stat. Simul. Comput. 18.
    H. Avron & S. Toledo (2011), Randomized algorithms for estimating the trace of an implicit
    symmetric positive semi-definite matrix. J. ACM 58.
    R. A. Meyer, C. Musco, C. Musco & D. P. Woodruff (2021), Hutch++: Optimal stochastic trace
    estimation. SOSA 2021.
    E. N. Epperly, J. A. Tropp & R. J. Webber (2024), XTrace: Making the most of every sample in
    stochastic trace estimation. SIAM J. Matrix Anal. Appl. 45.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.stats
import torch

from occamlab.linalg.operator import Operator
from occamlab.notebook import HtmlRepr

Distribution = Literal["rademacher", "gaussian"]
_DISTRIBUTIONS = ("rademacher", "gaussian")


def _float_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class TraceResult(HtmlRepr):
    """A randomized estimate with its uncertainty.

    Attributes:
        estimate: the estimate (of tr(A), or of ‖A‖_F² for :func:`frobenius_norm_squared`).
        standard_error: standard error of the stochastic part (0 if it was computed exactly;
            NaN with fewer than two samples).
        ci_low, ci_high: the ``confidence`` interval estimate ± t_{df} · standard_error.
        num_matvecs: operator applications used.
        num_samples: number of random samples behind ``standard_error``.
        method: ``"hutchinson"``, ``"hutchpp"``, ``"xtrace"``, ``"frobenius"`` or ``"exact"``.
        distribution: the probe distribution.
        confidence: the confidence level of the interval.
        converged: with ``rtol``: whether standard_error ≤ rtol · |estimate| was reached; else None.
        rtol: the requested relative standard error (adaptive mode), else None.
        deterministic_part: the exactly computed part (tr(QᵀAQ) for Hutch++), else None.
    """

    estimate: float
    standard_error: float
    ci_low: float
    ci_high: float
    num_matvecs: int
    num_samples: int
    method: str
    distribution: str
    confidence: float = 0.95
    converged: bool | None = None
    rtol: float | None = None
    deterministic_part: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (non-finite numbers become None)."""
        return {
            "estimate": _float_or_none(self.estimate),
            "standard_error": _float_or_none(self.standard_error),
            "ci_low": _float_or_none(self.ci_low),
            "ci_high": _float_or_none(self.ci_high),
            "num_matvecs": self.num_matvecs,
            "num_samples": self.num_samples,
            "method": self.method,
            "distribution": self.distribution,
            "confidence": self.confidence,
            "converged": self.converged,
            "rtol": self.rtol,
            "deterministic_part": _float_or_none(self.deterministic_part),
        }


def _generator(generator: torch.Generator | None) -> torch.Generator:
    return generator if generator is not None else torch.Generator().manual_seed(0)


def _probes(
    n: int, b: int, distribution: str, gen: torch.Generator, dtype: torch.dtype
) -> torch.Tensor:
    """b random probes (columns) with E[z zᵀ] = I, drawn in float64 and cast to ``dtype``."""
    if distribution == "rademacher":
        z = torch.randint(0, 2, (n, b), generator=gen, dtype=torch.int64).to(torch.float64)
        z = 2.0 * z - 1.0
    elif distribution == "gaussian":
        z = torch.randn(n, b, generator=gen, dtype=torch.float64)
    else:
        raise ValueError(f"distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}")
    return z.to(dtype)


def _check_distribution(distribution: str) -> None:
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}")


def _summary(samples: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """Mean, standard error and Student-t interval of i.i.d. samples (no warnings for m < 2)."""
    m = len(samples)
    mean = float(np.mean(samples)) if m else math.nan
    if m < 2:
        return mean, math.nan, math.nan, math.nan
    var = float(np.sum((samples - mean) ** 2) / (m - 1))
    se = math.sqrt(var / m)
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, m - 1)) * se
    return mean, se, mean - half, mean + half


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _sampled(
    op: Operator,
    sample: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    method: str,
    num_matvecs: int = 100,
    distribution: str = "rademacher",
    generator: torch.Generator | None = None,
    rtol: float | None = None,
    max_matvecs: int | None = None,
    min_samples: int = 10,
    batch_size: int = 16,
    confidence: float = 0.95,
) -> TraceResult:
    """Shared driver: i.i.d. samples ``sample(z, A z)``, fixed count or adaptive stopping (the
    options and defaults of :func:`hutchinson`)."""
    _check_distribution(distribution)
    _check_confidence(confidence)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if rtol is None:
        budget = int(num_matvecs)
        if max_matvecs is not None:
            raise ValueError(
                "max_matvecs is the budget of adaptive mode; set rtol or use num_matvecs"
            )
    else:
        if not rtol > 0:
            raise ValueError(f"rtol must be positive, got {rtol}")
        budget = int(num_matvecs if max_matvecs is None else max_matvecs)
        if min_samples < 2:
            raise ValueError(f"min_samples must be at least 2, got {min_samples}")
    if budget < 1:
        raise ValueError(f"the number of matvecs must be positive, got {budget}")
    gen = _generator(generator)
    chunks: list[np.ndarray] = []
    used = 0
    converged: bool | None = None if rtol is None else False
    while used < budget:
        b = min(batch_size, budget - used)
        if rtol is not None and used < min_samples:
            b = min(b, min_samples - used)  # check first right at min_samples
        z = _probes(op.n, b, distribution, gen, op.dtype)
        az = op.matmat(z)
        chunks.append(sample(z.to(torch.float64), az.to(torch.float64)).numpy())
        used += b
        if rtol is not None and used >= min_samples:
            mean, se, _, _ = _summary(np.concatenate(chunks), confidence)
            if se <= rtol * abs(mean):
                converged = True
                break
    samples = np.concatenate(chunks)
    mean, se, lo, hi = _summary(samples, confidence)
    return TraceResult(
        estimate=mean,
        standard_error=se,
        ci_low=lo,
        ci_high=hi,
        num_matvecs=used,
        num_samples=len(samples),
        method=method,
        distribution=distribution,
        confidence=confidence,
        converged=converged,
        rtol=None if rtol is None else float(rtol),
    )


def hutchinson(
    op: Operator,
    *,
    num_matvecs: int = 100,
    distribution: Distribution = "rademacher",
    generator: torch.Generator | None = None,
    rtol: float | None = None,
    max_matvecs: int | None = None,
    min_samples: int = 10,
    batch_size: int = 16,
    confidence: float = 0.95,
) -> TraceResult:
    """Hutchinson's estimate of tr(A), fixed-size or adaptive.

    tr̂ = (1/m) Σ_i z_iᵀ A z_i with i.i.d. probes z_i (E[z zᵀ] = I); standard error from the
    sample variance, interval tr̂ ± t_{m−1}·SE.

    Args:
        op: a square operator (symmetry not required).
        num_matvecs: number of probes m (one matvec each) when ``rtol`` is None; the budget when
            ``rtol`` is set and ``max_matvecs`` is not.
        distribution: ``"rademacher"`` (±1 entries; lower variance) or ``"gaussian"``.
        generator: source of the probes; None means a fresh generator seeded with 0.
        rtol: adaptive mode: draw probes (in batches of ``batch_size``) until the standard error
            is at most ``rtol · |estimate|`` (checked once at least ``min_samples`` are in) or
            the budget is spent; ``converged`` tells which.
        max_matvecs: budget of adaptive mode (default ``num_matvecs``).
        min_samples: minimum number of probes before adaptive mode may stop (≥ 2).
        batch_size: probes applied per ``op.matmat`` call.
        confidence: level of the reported interval.

    Returns:
        A :class:`TraceResult`.
    """

    def quad(z: torch.Tensor, az: torch.Tensor) -> torch.Tensor:
        return (z * az).sum(dim=0)

    return _sampled(
        op,
        quad,
        method="hutchinson",
        num_matvecs=num_matvecs,
        distribution=distribution,
        generator=generator,
        rtol=rtol,
        max_matvecs=max_matvecs,
        min_samples=min_samples,
        batch_size=batch_size,
        confidence=confidence,
    )


def frobenius_norm_squared(op: Operator, **options: Any) -> TraceResult:
    """Estimate ‖A‖_F² = tr(AᵀA) (= tr(A²) for symmetric A) as the mean of ‖A z_i‖².

    E‖A z‖² = tr(Aᵀ A E[z zᵀ]) = ‖A‖_F². Options (keyword-only, same defaults) as in
    :func:`hutchinson`.
    """

    def sq(z: torch.Tensor, az: torch.Tensor) -> torch.Tensor:
        return (az * az).sum(dim=0)

    return _sampled(op, sq, method="frobenius", **options)


def _exact_result(
    value: float, *, num_matvecs: int, method: str, distribution: str, confidence: float
) -> TraceResult:
    """A trace computed exactly: no samples, a zero-width interval."""
    return TraceResult(
        estimate=value,
        standard_error=0.0,
        ci_low=value,
        ci_high=value,
        num_matvecs=num_matvecs,
        num_samples=0,
        method=method,
        distribution=distribution,
        confidence=confidence,
        deterministic_part=value,
    )


def _exact_trace(op: Operator, distribution: str, confidence: float) -> TraceResult:
    """tr(A) = Σ_i e_iᵀ A e_i with n matvecs (used when a sketch would span the whole space)."""
    total = 0.0
    eye = torch.eye(op.n, dtype=torch.float64)
    for start in range(0, op.n, 64):
        cols = eye[:, start : start + 64]
        total += float((cols * op.matmat(cols.to(op.dtype)).to(torch.float64)).sum())
    return _exact_result(
        total, num_matvecs=op.n, method="exact", distribution=distribution, confidence=confidence
    )


def _sketch_size(
    name: str, num_matvecs: int, *, minimum: int, parts: int, distribution: str, confidence: float
) -> int:
    """Check a sketching estimator's options; its number of sketch vectors, m // parts
    (Hutch++: a third of the budget, XTrace: half)."""
    _check_distribution(distribution)
    _check_confidence(confidence)
    if num_matvecs < minimum:
        raise ValueError(f"{name} needs at least {minimum} matvecs, got {num_matvecs}")
    return num_matvecs // parts


def hutchpp(
    op: Operator,
    *,
    num_matvecs: int = 100,
    distribution: Distribution = "rademacher",
    generator: torch.Generator | None = None,
    confidence: float = 0.95,
) -> TraceResult:
    """Hutch++ estimate of tr(A) (Meyer, Musco, Musco & Woodruff 2021).

    With s = ⌊m/3⌋ and l = m − 2s: sketch Y = A S (S: n × s random), Q = orth(Y),
    tr̂ = tr(QᵀAQ) + (1/l) Σ_{i≤l} g_iᵀ (I − QQᵀ) A (I − QQᵀ) g_i. Unbiased; the error decays
    like 1/m when the spectrum decays. If s ≥ n the trace is computed exactly with n matvecs.

    Args:
        op: a symmetric operator.
        num_matvecs: total budget m (≥ 3).
        distribution: distribution of the sketch and probe vectors.
        generator: source of randomness; None means a fresh generator seeded with 0.
        confidence: level of the interval, built from the Hutchinson part's standard error.

    Returns:
        A :class:`TraceResult` whose ``deterministic_part`` is tr(QᵀAQ).
    """
    n = op.n
    s = _sketch_size(
        "hutchpp", num_matvecs, minimum=3, parts=3, distribution=distribution, confidence=confidence
    )
    if s >= n:
        return _exact_trace(op, distribution, confidence)
    l_ = num_matvecs - 2 * s
    gen = _generator(generator)
    sketch = _probes(n, s, distribution, gen, op.dtype)
    y = op.matmat(sketch).to(torch.float64)
    q, _ = torch.linalg.qr(y)
    aq = op.matmat(q.to(op.dtype)).to(torch.float64)
    exact = float((q * aq).sum())
    g = _probes(n, l_, distribution, gen, op.dtype).to(torch.float64)
    pg = g - q @ (q.T @ g)
    apg = op.matmat(pg.to(op.dtype)).to(torch.float64)
    samples = (pg * apg).sum(dim=0).numpy()
    mean, se, lo, hi = _summary(samples, confidence)
    return TraceResult(
        estimate=exact + mean,
        standard_error=se,
        ci_low=exact + lo,
        ci_high=exact + hi,
        num_matvecs=2 * s + l_,
        num_samples=l_,
        method="hutchpp",
        distribution=distribution,
        confidence=confidence,
        deterministic_part=exact,
    )


def xtrace(
    op: Operator,
    *,
    num_matvecs: int = 100,
    distribution: Distribution = "rademacher",
    generator: torch.Generator | None = None,
    confidence: float = 0.95,
) -> TraceResult:
    """XTrace estimate of tr(A) (Epperly, Tropp & Webber 2024).

    With s = ⌊m/2⌋ random vectors Ω, Y = AΩ = QR and Z = AQ (2s matvecs), the i-th leave-one-out
    basis is range(Q) minus the direction q̃_i = Q r_i, r_i = R⁻ᵀe_i / ‖R⁻ᵀe_i‖ (orthogonal to
    every other column of R), and each

        T_i = tr(QᵀAQ) − r_iᵀ(QᵀAQ) r_i + ω_iᵀ P_i A P_i ω_i,   P_i = I − QQᵀ + q̃_i q̃_iᵀ,

    is evaluated from Ω, Y, Q, Z without further matvecs. tr̂ = mean_i T_i, with standard error
    std(T_i)/√s (the authors' estimate; the T_i are exchangeable, not independent). If Y is
    numerically rank deficient, range(Y) contains range(A) (up to rounding) and tr(QᵀAQ) on that
    range is returned as exact; if s ≥ n the trace is computed exactly with n matvecs.

    Args:
        op: a symmetric operator.
        num_matvecs: total budget m (≥ 4).
        distribution: distribution of the random vectors.
        generator: source of randomness; None means a fresh generator seeded with 0.
        confidence: level of the interval.

    Returns:
        A :class:`TraceResult`.
    """
    n = op.n
    s = _sketch_size(
        "xtrace", num_matvecs, minimum=4, parts=2, distribution=distribution, confidence=confidence
    )
    if s >= n:
        return _exact_trace(op, distribution, confidence)
    gen = _generator(generator)
    omega = _probes(n, s, distribution, gen, op.dtype)
    y = op.matmat(omega).to(torch.float64)
    omega = omega.to(torch.float64)
    u, sv, vh = torch.linalg.svd(y, full_matrices=False)
    rank = int((sv > sv[0] * n * torch.finfo(op.dtype).eps).sum()) if sv[0] > 0 else 0
    if rank < s:
        # A Ω has rank < s: range(A) ⊆ range(Y) generically, so the sketch holds the trace.
        q = u[:, :rank]
        exact = float((q * op.matmat(q.to(op.dtype)).to(torch.float64)).sum()) if rank else 0.0
        return _exact_result(
            exact,
            num_matvecs=s + rank,
            method="xtrace",
            distribution=distribution,
            confidence=confidence,
        )
    q = u
    r = sv[:, None] * vh  # Y = Q R with R = Σ Vᵀ (square, invertible)
    z = op.matmat(q.to(op.dtype)).to(torch.float64)
    h = q.T @ z
    rinv_t = torch.linalg.inv(r).T
    w = rinv_t / torch.linalg.vector_norm(rinv_t, dim=0, keepdim=True)  # columns r_i
    c = q.T @ omega
    a = (w * c).sum(dim=0)
    d = c - w * a
    tr_h = torch.trace(h)
    sketch_terms = tr_h - (w * (h @ w)).sum(dim=0)
    quad = (
        (omega * y).sum(dim=0)
        - ((omega.T @ z) * d.T).sum(dim=1)
        - (d * (q.T @ y)).sum(dim=0)
        + (d * (h @ d)).sum(dim=0)
    )
    terms = (sketch_terms + quad).numpy()
    mean, se, lo, hi = _summary(terms, confidence)
    return TraceResult(
        estimate=mean,
        standard_error=se,
        ci_low=lo,
        ci_high=hi,
        num_matvecs=2 * s,
        num_samples=s,
        method="xtrace",
        distribution=distribution,
        confidence=confidence,
        deterministic_part=float(tr_h),
    )
