"""The complexity measures of Molnar, Casalicchio & Bischl (2019, arXiv 1904.03867) and
Friedman's H statistic, for any function of a batch (see :mod:`~occamlab.probes.complexity.ale`).

- **NF**, number of features used: feature ``j`` is used when replacing it by a permutation of
  its own values changes some prediction by more than ``tolerance``.
- **IAS**, interaction strength: the share of the prediction's variance the first-order ALE
  decomposition leaves unexplained,
  ``IAS = Σ_i (f(x_i) − f_0 − Σ_j f_j(x_ij))² / Σ_i (f(x_i) − f_0)²`` with ``f_0`` the mean
  prediction (``1 − R²``; 0 for an additive function).
- **MEC**, main-effect complexity: each main effect ``f_j`` (at the data points) is approximated by
  a piecewise-linear function with the fewest segments ``K`` (up to ``max_segments``) whose
  ``R² = 1 − SSE/Σ_i f_j(x_ij)²`` reaches ``1 − ε``; slopes are then set to zero greedily while
  ``R²`` stays there, and ``MEC_j = K + #(non-zero slopes) − 1``. ``MEC`` averages ``MEC_j`` with
  weights ``V_j = (1/n) Σ_i f_j(x_ij)²`` (a linear function has MEC = 1).
- **H²** (Friedman & Popescu 2008): with partial dependences centred over the sample,
  ``H²_jk = Σ_i (PD_jk(x_ij, x_ik) − PD_j(x_ij) − PD_k(x_ik))² / Σ_i PD_jk(x_ij, x_ik)²``.

Segments are found exactly (dynamic programming over breakpoints at the ALE grid's edges, each
segment its own least-squares line) where the paper searched breakpoints by simulated annealing;
on the grid this is the best segmentation with K pieces.

Several outputs are pooled: sums of squares add over outputs (IAS, H²), MEC averages over
features and outputs with the weights ``V_jc``, and a feature is used when it changes any output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from occamlab.probes.complexity.ale import ALECurve, Function, bin_of, check_inputs, evaluate


def features_used(
    fn: Function,
    x: torch.Tensor,
    *,
    reference: np.ndarray | None = None,
    tolerance: float = 0.0,
    generator: torch.Generator | None = None,
    batch_size: int = 4096,
) -> np.ndarray:
    """Which features change a prediction when permuted over ``x`` (a boolean array ``(d,)``).

    ``reference`` is ``fn(x)`` when already computed. One permutation per feature: a feature
    whose permuted values leave every output within ``tolerance`` counts as unused.
    """
    x = check_inputs(x)
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    base = evaluate(fn, x, batch_size=batch_size) if reference is None else reference
    n, d = x.shape
    used = np.zeros(d, dtype=bool)
    per_batch = max(1, batch_size // n)
    for start in range(0, d, per_batch):
        block = range(start, min(d, start + per_batch))
        copies = []
        for j in block:
            c = x.clone()
            c[:, j] = x[torch.randperm(n, generator=generator), j]
            copies.append(c)
        out = evaluate(fn, torch.cat(copies), batch_size=batch_size).reshape(len(block), n, -1)
        used[list(block)] = (np.abs(out - base[None]) > tolerance).any(axis=(1, 2))
    return used


def interaction_strength(
    prediction: np.ndarray, terms: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """IAS pooled over outputs, with each output's residual and total sums of squares.

    Args:
        prediction: ``f(x)`` at the data, ``(n, m)``.
        terms: the centred main effects at the data, ``(n, features, m)``
            (:func:`~occamlab.probes.complexity.ale.main_effects`).
    """
    f0 = prediction.mean(axis=0)
    sse = ((prediction - f0 - terms.sum(axis=1)) ** 2).sum(axis=0)
    sst = ((prediction - f0) ** 2).sum(axis=0)
    total = float(sst.sum())
    return (float(sse.sum()) / total if total > 0 else 0.0), sse, sst


@dataclass(frozen=True)
class Segmentation:
    """A piecewise-linear approximation of one main effect.

    Attributes:
        complexity: ``MEC_j = K + #(non-zero slopes) − 1`` (0 for a zero effect).
        segments: K.
        slopes: the slope of each segment (0 where it was set to zero).
        breaks: the inner breakpoints (grid edges).
        r2: the approximation's R².
        capped: True when ``max_segments`` pieces did not reach ``1 − ε``.
    """

    complexity: int
    segments: int
    slopes: list[float]
    breaks: list[float]
    r2: float
    capped: bool


def _segment_stats(values: np.ndarray, effect: np.ndarray, k: np.ndarray, bins: int):
    """Per-bin sufficient statistics (n, Σx, Σy, Σx², Σxy, Σy²) as prefix sums over bins."""
    x = values - values.mean()
    stats = np.zeros((6, bins))
    for row, v in enumerate((np.ones_like(x), x, effect, x * x, x * effect, effect * effect)):
        np.add.at(stats[row], k - 1, v)
    return np.concatenate([np.zeros((6, 1)), np.cumsum(stats, axis=1)], axis=1)


def _fit(prefix: np.ndarray, a: int, b: int) -> tuple[float, float, float]:
    """(SSE of the line, slope, SSE increase if the slope is set to 0) on bins a+1..b."""
    n, sx, sy, sxx, sxy, syy = prefix[:, b] - prefix[:, a]
    if n == 0:
        return 0.0, 0.0, 0.0
    cxx = sxx - sx * sx / n
    cyy = max(syy - sy * sy / n, 0.0)
    if cxx <= 1e-12 * max(sxx, 1e-300):  # one distinct x: a constant fits exactly
        return cyy, 0.0, 0.0
    cxy = sxy - sx * sy / n
    gain = min(cxy * cxy / cxx, cyy)
    return cyy - gain, cxy / cxx, gain


def segment_effect(
    values: np.ndarray,
    effect: np.ndarray,
    edges: np.ndarray,
    *,
    epsilon: float = 0.05,
    max_segments: int = 5,
) -> Segmentation:
    """The paper's MEC_j of one main effect: ``effect`` (centred) at the feature's ``values``.

    Breakpoints are chosen among the grid's ``edges`` by dynamic programming (the least total
    squared error with K segments, for K = 1, 2, …), each segment fitted by its own line.
    """
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon}")
    if max_segments < 1:
        raise ValueError(f"max_segments must be >= 1, got {max_segments}")
    sst = float((effect**2).sum())
    bins = len(edges) - 1
    if sst <= 0 or bins < 1:
        return Segmentation(0, 1, [0.0], [], 1.0, False)
    k = bin_of(values, edges)
    prefix = _segment_stats(values, effect, k, bins)
    cost = np.full((bins + 1, bins + 1), np.inf)
    for a in range(bins):
        for b in range(a + 1, bins + 1):
            cost[a, b] = _fit(prefix, a, b)[0]
    best = cost[0].copy()  # best[b]: least SSE of bins 1..b in K segments
    back: list[np.ndarray] = []
    segments = 1
    while best[bins] / sst > epsilon and segments < min(max_segments, bins):
        total = best[:, None] + cost  # total[a, b]: K segments up to a, one more a..b
        back.append(np.argmin(total, axis=0))
        best = np.min(total, axis=0)
        segments += 1
    # Recover the breakpoints of the best segmentation with `segments` pieces.
    cuts, b = [bins], bins
    for arg in reversed(back):
        b = int(arg[b])
        cuts.append(b)
    cuts = [0, *reversed(cuts)]
    pieces = [_fit(prefix, a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    sse = sum(p[0] for p in pieces)
    capped = sse / sst > epsilon
    slopes = [p[1] for p in pieces]
    # Greedily flatten the segments whose slope costs least, while R² stays >= 1 − ε.
    for i in sorted(range(len(pieces)), key=lambda i: pieces[i][2]):
        if slopes[i] != 0.0 and (sse + pieces[i][2]) / sst <= epsilon:
            sse += pieces[i][2]
            slopes[i] = 0.0
    nonzero = sum(s != 0.0 for s in slopes)
    slopes = [float(s) for s in slopes]
    return Segmentation(
        complexity=int(len(pieces) + nonzero - 1),
        segments=len(pieces),
        slopes=slopes,
        breaks=[float(edges[c]) for c in cuts[1:-1]],
        r2=float(1.0 - sse / sst),
        capped=bool(capped),
    )


def main_effect_complexity(
    curves: list[ALECurve],
    terms: np.ndarray,
    x: torch.Tensor,
    *,
    epsilon: float = 0.05,
    max_segments: int = 5,
) -> tuple[float, np.ndarray, np.ndarray, list[list[Segmentation]]]:
    """MEC pooled over outputs: ``Σ_jc V_jc MEC_jc / Σ_jc V_jc``.

    Returns MEC, the ``MEC_jc`` ``(features, m)``, the weights ``V_jc`` ``(features, m)`` and
    each segmentation.
    """
    data = x.detach().to(torch.float64).cpu().numpy()
    weights = (terms**2).mean(axis=0)
    complexity = np.zeros_like(weights)
    fits = []
    for f, curve in enumerate(curves):
        row = []
        for c in range(terms.shape[2]):
            s = segment_effect(
                data[:, curve.feature],
                terms[:, f, c],
                curve.edges,
                epsilon=epsilon,
                max_segments=max_segments,
            )
            complexity[f, c] = s.complexity
            row.append(s)
        fits.append(row)
    total = float(weights.sum())
    mec = float((weights * complexity).sum()) / total if total > 0 else 0.0
    return mec, complexity, weights, fits


def h_statistic(
    fn: Function, x: torch.Tensor, features: list[int], *, batch_size: int = 4096
) -> np.ndarray:
    """Friedman's H² for every pair of ``features`` (pooled over outputs), ``(p, p)`` with NaN
    on the diagonal. Costs ``n²`` evaluations per feature and per pair."""
    x = check_inputs(x)
    n, d = x.shape
    for j in features:
        if not 0 <= j < d:
            raise ValueError(f"feature {j} is out of range for inputs with {d} features")

    rows = max(1, batch_size // n)  # values of i per forward pass: memory stays bounded

    def pd(columns: list[int]) -> np.ndarray:
        parts = []
        for start in range(0, n, rows):
            block = range(start, min(n, start + rows))
            # Row (i, l): example l with the columns set to example i's values.
            grid = x.repeat(len(block), 1)
            for j in columns:
                grid[:, j] = x[list(block), j].repeat_interleave(n)
            out = evaluate(fn, grid, batch_size=batch_size)
            parts.append(out.reshape(len(block), n, -1).mean(axis=1))
        out = np.concatenate(parts)
        return out - out.mean(axis=0)

    single = {j: pd([j]) for j in features}
    p = len(features)
    h2 = np.full((p, p), np.nan)
    for a in range(p):
        for b in range(a + 1, p):
            joint = pd([features[a], features[b]])
            num = float(((joint - single[features[a]] - single[features[b]]) ** 2).sum())
            den = float((joint**2).sum())
            h2[a, b] = h2[b, a] = num / den if den > 0 else 0.0
    return h2


__all__ = [
    "Segmentation",
    "features_used",
    "h_statistic",
    "interaction_strength",
    "main_effect_complexity",
    "segment_effect",
]
