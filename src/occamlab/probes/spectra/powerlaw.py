"""Power-law fit of an eigenvalue tail: Clauset–Shalizi–Newman MLE with x_min by two-sided KS.

For a continuous power law ``p(x) ∝ x^(−α)`` on ``x ≥ x_min`` the maximum-likelihood exponent of
the ``n`` values ``x_i ≥ x_min`` is (Clauset, Shalizi & Newman 2009, arXiv 0706.1062, eq. 3.1)

    α̂ = 1 + n / Σ_i ln(x_i / x_min),   standard error σ = (α̂ − 1)/√n,

and ``x_min`` is the candidate minimizing the Kolmogorov–Smirnov distance between the tail's
empirical CDF and the fitted one, ``F(x) = 1 − (x/x_min)^(1−α̂)``. The distance is two-sided:
for the k-th smallest tail value (k = 0..n−1) the empirical CDF jumps from k/n to (k+1)/n, so

    D = max_k max(F(x_k) − k/n, (k+1)/n − F(x_k)) = 1/(2n) + max_k |F(x_k) − (k + ½)/n|.

Every candidate is scored at once: suffix sums of ``ln x`` give all the α̂, and the KS distances
are one array expression over (candidate, value) blocks; the same code fits a batch of samples
(bootstrap and goodness-of-fit replicates) in one call. Nothing is capped: α > 3 is fitted as is.
α̂ is computed in float64; the KS distances in float32 (error below 1e-6, far under the
statistical resolution 1/√n of a KS distance).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

_BLOCK = 1 << 16  # elements per (candidate, value) block: stays in cache


@dataclass(frozen=True)
class PowerLawFit:
    """A power-law tail fit.

    Attributes:
        alpha: the MLE exponent α̂ (density ``∝ x^−α``).
        xmin: the lower end of the tail.
        xmax: the largest value.
        num_tail: number of values ``≥ xmin`` (the ones α̂ is fitted to).
        num_total: number of values offered to the fit.
        ks_distance: two-sided KS distance of the tail to the fitted law.
        sigma: asymptotic standard error ``(α̂ − 1)/√n``.
        candidates: how many x_min candidates were scored (``0`` when x_min was given).
    """

    alpha: float
    xmin: float
    xmax: float
    num_tail: int
    num_total: int
    ks_distance: float
    sigma: float
    candidates: int

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The Wald interval ``α̂ ± z σ`` (asymptotic; x_min held fixed)."""
        z = NormalDist().inv_cdf(0.5 + level / 2)
        return self.alpha - z * self.sigma, self.alpha + z * self.sigma

    def to_dict(self) -> dict[str, float | int]:
        return {
            "alpha": self.alpha,
            "xmin": self.xmin,
            "xmax": self.xmax,
            "num_tail": self.num_tail,
            "num_total": self.num_total,
            "ks_distance": self.ks_distance,
            "sigma": self.sigma,
            "candidates": self.candidates,
        }


def candidate_indices(n: int, *, min_tail: int, max_candidates: int | None) -> np.ndarray:
    """Positions (in ascending order) that may serve as x_min: every one leaving a tail of at
    least ``min_tail`` values, thinned to ``max_candidates`` evenly spaced ranks if given."""
    last = n - min_tail
    if last < 0:
        raise ValueError(f"a tail fit needs at least min_tail={min_tail} values, got {n}")
    idx = np.arange(last + 1)
    if max_candidates is not None and len(idx) > max_candidates:
        idx = np.unique(np.linspace(0, last, max_candidates).round().astype(np.int64))
    return idx


def _alphas(logs: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """α̂ for every row of ``logs`` (ascending ln x, shape (B, N)) and candidate position."""
    n_total = logs.shape[1]
    suffix = np.cumsum(logs[:, ::-1], axis=1)[:, ::-1]
    n = (n_total - idx).astype(np.float64)
    denom = suffix[:, idx] - n * logs[:, idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 + n / denom
    alpha[~(denom > 0)] = np.nan  # a tail of equal values has no exponent
    return alpha


def ks_distances(logs: np.ndarray, idx: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Two-sided KS distance of each candidate tail to its fitted power law, shape (B, C).

    ``logs`` holds ascending ``ln x`` per row; ``alpha`` the exponents per row and candidate
    (NaN marks an invalid candidate, whose distance is +inf).
    """
    batch, n_total = logs.shape
    out = np.full(alpha.shape, np.inf)
    rows = max(1, _BLOCK // max(1, batch * n_total))
    logs32 = logs.astype(np.float32)
    tail = n_total - idx
    for start in range(0, len(idx), rows):
        stop = min(start + rows, len(idx))
        j0 = int(idx[start])
        cols = np.arange(j0, n_total)
        slope = (1.0 - alpha[:, start:stop]).astype(np.float32)  # (B, c)
        # 1 − F(x_j) = exp((1 − α)(ln x_j − ln x_min)) for the c candidates of this block.
        diff = logs32[:, None, j0:] - logs32[:, idx[start:stop], None]  # (B, c, m)
        # Values under a candidate's x_min are clamped to x_min (diff 0, survival 1) and their
        # target to that of x_min itself, so they repeat the first tail term instead of counting.
        np.maximum(diff, 0.0, out=diff)
        np.multiply(diff, slope[:, :, None], out=diff)
        np.exp(diff, out=diff)
        # (k + ½)/n with k = j − i is 1 − (N − j − ½)/n, so |F − (k+½)/n| = |(1−F) − (N−j−½)/n|.
        n_c = tail[start:stop, None].astype(np.float64)
        target = np.minimum((n_total - cols - 0.5)[None, :] / n_c, 1.0 - 0.5 / n_c).astype(
            np.float32
        )
        np.subtract(diff, target[None], out=diff)
        np.abs(diff, out=diff)
        dist = diff.max(axis=2) + 0.5 / tail[None, start:stop]
        dist[np.isnan(slope)] = np.inf
        out[:, start:stop] = dist
    return out


def fit_sorted(
    values: np.ndarray, *, min_tail: int = 10, max_candidates: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Batched fit with x_min search: ``values`` (B, N) ascending positive rows.

    Returns ``(alpha, xmin_index, ks_distance, candidates)`` with one entry per row; rows where
    no candidate is valid get ``alpha = NaN`` and ``ks_distance = inf``.
    """
    logs = np.log(values)
    idx = candidate_indices(values.shape[1], min_tail=min_tail, max_candidates=max_candidates)
    alpha = _alphas(logs, idx)
    dist = ks_distances(logs, idx, alpha)
    best = np.argmin(dist, axis=1)
    rows = np.arange(values.shape[0])
    return alpha[rows, best], idx[best], dist[rows, best], len(idx)


def _check(values: np.ndarray) -> np.ndarray:
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("no values to fit")
    if not np.all(np.isfinite(x)) or x[0] <= 0:
        raise ValueError("a power-law fit needs finite positive values; drop zeros first")
    return x


def fit_power_law(
    values: np.ndarray,
    *,
    xmin: float | None = None,
    min_tail: int = 10,
    max_candidates: int | None = None,
) -> PowerLawFit:
    """Fit a power-law tail to positive ``values``.

    Args:
        values: positive samples (eigenvalues), any order.
        xmin: fix the lower end of the tail (every value ``≥ xmin`` is in it) instead of
            choosing it by the KS distance.
        min_tail: smallest tail a candidate x_min may leave.
        max_candidates: score at most this many x_min candidates (evenly spaced ranks); None
            scores all of them.

    Raises:
        ValueError: no values, non-positive values, fewer than ``min_tail`` values, or a tail
            whose values are all equal (no exponent exists).

    Example:
        >>> import numpy as np
        >>> x = (1 - np.random.default_rng(0).random(20000)) ** (-1 / 4.0)   # Pareto, α = 5
        >>> round(fit_power_law(x).alpha, 1)
        5.0
    """
    x = _check(values)
    if xmin is not None:
        tail = x[x >= xmin]
        n = tail.size
        total = float(np.sum(np.log(tail / xmin))) if n else 0.0
        if n < 2 or total <= 0:
            raise ValueError(f"xmin={xmin} leaves {n} values above it; the tail has no exponent")
        a = 1.0 + n / total
        dist = _ks_fixed(np.log(tail), float(np.log(xmin)), a)
        return PowerLawFit(
            a, float(xmin), float(x[-1]), n, x.size, dist, float((a - 1) / np.sqrt(n)), 0
        )
    (fit,) = fit_power_laws([x], min_tail=min_tail, max_candidates=max_candidates)
    if fit is None:
        raise ValueError("every candidate tail has equal values: the tail has no exponent")
    return fit


def fit_power_laws(
    samples: Sequence[np.ndarray], *, min_tail: int = 10, max_candidates: int | None = None
) -> list[PowerLawFit | None]:
    """:func:`fit_power_law` (x_min searched) of several samples; samples of equal size are
    fitted together in one batched call (what makes many small layers cheap). ``None`` marks a
    sample whose candidate tails all hold equal values (no exponent)."""
    xs = [_check(v) for v in samples]
    out: list[PowerLawFit | None] = [None] * len(xs)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, x in enumerate(xs):
        groups[x.size].append(i)
    for size, members in groups.items():
        rows = np.stack([xs[i] for i in members])
        alphas, starts, dists, count = fit_sorted(
            rows, min_tail=min_tail, max_candidates=max_candidates
        )
        for k, i in enumerate(members):
            a = float(alphas[k])
            if not np.isfinite(a):
                continue
            n = size - int(starts[k])
            x = rows[k]
            out[i] = PowerLawFit(
                a, float(x[starts[k]]), float(x[-1]), n, size, float(dists[k]),
                (a - 1) / float(np.sqrt(n)), count,
            )  # fmt: skip
    return out


def _ks_fixed(tail_logs: np.ndarray, log_xmin: float, alpha: float) -> float:
    """Two-sided KS distance of ascending tail values to the law with a given x_min and α."""
    n = tail_logs.size
    survival = np.exp((1.0 - alpha) * (tail_logs - log_xmin))
    target = (n - np.arange(n) - 0.5) / n
    return float(np.max(np.abs(survival - target)) + 0.5 / n)


def sample_power_law(uniforms: np.ndarray, *, alpha: float, xmin: float) -> np.ndarray:
    """Inverse-CDF samples ``x_min (1 − u)^(−1/(α−1))`` from uniforms in [0, 1)."""
    return xmin * (1.0 - uniforms) ** (-1.0 / (alpha - 1.0))
