"""Accumulated local effects (Apley & Zhu 2020, arXiv 1612.08468) of any function of a batch.

A *function* here maps a batch ``(n, d)`` to outputs ``(n, m)`` (a network's class probabilities,
logits or regression outputs); every output is a separate function, and the effects of all ``m``
outputs come from the same forward passes.

First order, feature ``j``, on the grid ``z_0 < z_1 < … < z_K`` of the feature's quantiles:

    g_j(z_k) = Σ_{k' ≤ k} (1/n_{k'}) Σ_{i ∈ bin k'} [f(z_{k'}, x_i,−j) − f(z_{k'−1}, x_i,−j)]

where bin ``k`` holds the points with ``z_{k−1} < x_ij ≤ z_k``, and ``g_j(z_0) = 0`` (``z_0``
itself falls in the first bin), then centred so that its average
over the data is zero. Conventions are those of the R package ALEPlot, PyALE and alibi: the grid
is NumPy's ``lower`` quantiles at ``k/K`` with duplicates removed (every edge is a data value, so
no bin is empty), and the centring constant is the count-weighted mean of each bin's midpoint
value ``(g(z_{k−1}) + g(z_k))/2``. Between edges the effect is linear.

Second order, features ``(j, l)``: accumulated second differences
``f(z_k, w_m) − f(z_{k−1}, w_m) − f(z_k, w_{m−1}) + f(z_{k−1}, w_{m−1})`` averaged over each cell's
points, minus what remains of the first-order effects in that surface, centred (Apley & Zhu's
eq. 13–16; empty cells contribute no local effect).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from occamlab.jsonable import jsonable

Function = Callable[[torch.Tensor], torch.Tensor]


def evaluate(fn: Function, x: torch.Tensor, *, batch_size: int = 4096) -> np.ndarray:
    """``fn`` on the rows of ``x`` in batches, no grad, as a float64 array ``(n, m)``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out = fn(x[start : start + batch_size])
            if out.ndim == 1:
                out = out[:, None]
            if out.ndim != 2 or out.shape[0] != min(batch_size, len(x) - start):
                raise ValueError(
                    "the function must map a batch (n, d) to outputs (n,) or (n, m); "
                    f"got {tuple(out.shape)} for a batch of {min(batch_size, len(x) - start)}"
                )
            parts.append(out.detach().to(torch.float64).cpu().numpy())
    values = np.concatenate(parts) if parts else np.zeros((0, 0))
    if not np.isfinite(values).all():
        raise ValueError("the function returned NaN or infinite outputs; check the model")
    return values


def check_inputs(x: torch.Tensor) -> torch.Tensor:
    """``x`` as a finite ``(n, d)`` tensor with at least two rows, or a clear error."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim != 2:
        raise ValueError(f"inputs must be (n, d); got shape {tuple(x.shape)} (flatten them first)")
    if len(x) < 2:
        raise ValueError(f"need at least 2 examples to estimate effects, got {len(x)}")
    if not torch.isfinite(x).all():
        raise ValueError("inputs contain NaN or infinite values; clean or drop those rows")
    return x


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """The grid ``z_0 < … < z_K``: the ``lower`` quantiles at ``k/bins``, duplicates removed."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1), method="lower"))


def bin_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin ``k`` (1..K) with ``z_{k−1} < x ≤ z_k`` of every value (``z_0`` is in bin 1)."""
    return np.clip(np.searchsorted(edges, values, side="left"), 1, max(len(edges) - 1, 1))


def interpolate(values: np.ndarray, edges: np.ndarray, effect: np.ndarray) -> np.ndarray:
    """The piecewise-linear effect ``(K+1, m)`` given at ``edges``, at ``values`` ``(n,)``;
    constant beyond the end edges."""
    if len(edges) == 1:
        return np.repeat(effect[:1], len(values), axis=0)
    v = np.clip(values, edges[0], edges[-1])
    k = bin_of(v, edges)
    w = ((v - edges[k - 1]) / (edges[k] - edges[k - 1]))[:, None]
    return effect[k - 1] + w * (effect[k] - effect[k - 1])


@dataclass(frozen=True)
class ALECurve:
    """The first-order ALE of one feature.

    Attributes:
        feature: the feature's index (a column of the flattened inputs).
        edges: the grid ``z_0 < … < z_K``.
        effect: the centred effect at each edge, one row per edge and one column per output.
        uncentred: ``g(z_k)`` before centring (``uncentred[0] == 0``).
        counts: the data points in each of the K bins.
    """

    feature: int
    edges: np.ndarray
    effect: np.ndarray
    uncentred: np.ndarray
    counts: np.ndarray

    def __call__(self, values: np.ndarray | torch.Tensor) -> np.ndarray:
        """The centred effect at ``values`` (linear between edges), ``(n, m)``."""
        return interpolate(np.asarray(values, dtype=np.float64), self.edges, self.effect)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))


def _centre(uncentred: np.ndarray, counts: np.ndarray) -> np.ndarray:
    if len(uncentred) == 1:
        return uncentred - uncentred
    mid = (uncentred[:-1] + uncentred[1:]) / 2
    return uncentred - (counts[:, None] * mid).sum(0) / counts.sum()


def ale_curves(
    fn: Function,
    x: torch.Tensor,
    *,
    features: list[int] | None = None,
    bins: int = 20,
    batch_size: int = 4096,
) -> list[ALECurve]:
    """First-order ALE of every output of ``fn`` for each feature (all when ``features`` is None).

    Costs ``2 n`` evaluations per feature (each point at its bin's two edges).

    Examples:
        >>> import torch
        >>> x = torch.arange(6, dtype=torch.float64).reshape(3, 2)
        >>> curve = ale_curves(lambda b: 3 * b[:, :1] + b[:, 1:] ** 2, x, bins=2)[0]
        >>> curve.edges.tolist(), curve.uncentred[:, 0].tolist()
        ([0.0, 2.0, 4.0], [0.0, 6.0, 12.0])
    """
    x = check_inputs(x)
    d = x.shape[1]
    features = list(range(d)) if features is None else list(features)
    for j in features:
        if not 0 <= j < d:
            raise ValueError(f"feature {j} is out of range for inputs with {d} features")
    data = x.detach().to(torch.float64).cpu().numpy()
    curves = []
    for j in features:
        edges = quantile_edges(data[:, j], bins)
        if len(edges) == 1:  # a constant feature: no bin, no effect
            m = evaluate(fn, x[:1], batch_size=batch_size).shape[1]
            zero = np.zeros((1, m))
            curves.append(ALECurve(j, edges, zero, zero, np.zeros(0, dtype=np.int64)))
            continue
        k = bin_of(data[:, j], edges)
        lo, hi = x.clone(), x.clone()
        lo[:, j] = torch.as_tensor(edges[k - 1], dtype=x.dtype)
        hi[:, j] = torch.as_tensor(edges[k], dtype=x.dtype)
        out = evaluate(fn, torch.cat([lo, hi]), batch_size=batch_size)
        diff = out[len(x) :] - out[: len(x)]
        counts = np.bincount(k - 1, minlength=len(edges) - 1)
        sums = np.zeros((len(edges) - 1, diff.shape[1]))
        np.add.at(sums, k - 1, diff)
        local = sums / counts[:, None]
        uncentred = np.vstack([np.zeros((1, diff.shape[1])), np.cumsum(local, axis=0)])
        curves.append(ALECurve(j, edges, _centre(uncentred, counts), uncentred, counts))
    return curves


def main_effects(curves: list[ALECurve], x: torch.Tensor) -> np.ndarray:
    """Each curve's effect at the data, centred to mean zero over ``x``: ``(n, features, m)``.

    These are the main-effect terms ``f_j(x_j)`` of the functional decomposition
    ``f(x) ≈ f_0 + Σ_j f_j(x_j)`` (with ``f_0`` the mean prediction): the ALE curve shifted by a
    constant so that each term averages exactly zero over the same data as ``f_0``.
    """
    data = x.detach().to(torch.float64).cpu().numpy()
    terms = np.stack([c(data[:, c.feature]) for c in curves], axis=1)
    return terms - terms.mean(axis=0, keepdims=True)


@dataclass(frozen=True)
class ALESurface:
    """The second-order ALE of a pair of features (the pure interaction, first-order removed).

    Attributes:
        features: the pair ``(j, l)``.
        edges: the two grids.
        effect: the centred second-order effect at each grid node, ``(K_j+1, K_l+1, m)``.
        counts: data points in each cell, ``(K_j, K_l)``.
    """

    features: tuple[int, int]
    edges: tuple[np.ndarray, np.ndarray]
    effect: np.ndarray
    counts: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))


def ale_surface(
    fn: Function,
    x: torch.Tensor,
    pair: tuple[int, int],
    *,
    bins: int = 10,
    batch_size: int = 4096,
) -> ALESurface:
    """Second-order ALE of ``fn`` for the features ``pair`` (Apley & Zhu, eq. 13–16).

    The accumulated second differences ``h(z_k, w_m)`` are stripped of their first-order
    content (for each ``k``, the count-weighted mean over ``m`` of the increment
    ``h(z_k, ·) − h(z_{k−1}, ·)`` accumulated, and likewise along ``m``) and centred by the
    count-weighted mean over cells of each cell's four corners. Cells without data contribute a
    zero local effect. Costs ``4 n`` evaluations.
    """
    x = check_inputs(x)
    j, k = pair
    d = x.shape[1]
    if j == k or not (0 <= j < d and 0 <= k < d):
        raise ValueError(f"pair must be two different features in 0..{d - 1}, got {pair}")
    data = x.detach().to(torch.float64).cpu().numpy()
    ez, ew = quantile_edges(data[:, j], bins), quantile_edges(data[:, k], bins)
    if len(ez) == 1 or len(ew) == 1:
        raise ValueError(f"feature {j if len(ez) == 1 else k} is constant: no second-order effect")
    kz, kw = bin_of(data[:, j], ez), bin_of(data[:, k], ew)
    corners = []
    for az, aw in ((kz, kw), (kz - 1, kw), (kz, kw - 1), (kz - 1, kw - 1)):
        c = x.clone()
        c[:, j] = torch.as_tensor(ez[az], dtype=x.dtype)
        c[:, k] = torch.as_tensor(ew[aw], dtype=x.dtype)
        corners.append(c)
    out = evaluate(fn, torch.cat(corners), batch_size=batch_size).reshape(4, len(x), -1)
    delta = out[0] - out[1] - out[2] + out[3]
    m = delta.shape[1]
    shape = (len(ez) - 1, len(ew) - 1)
    counts = np.zeros(shape, dtype=np.int64)
    np.add.at(counts, (kz - 1, kw - 1), 1)
    sums = np.zeros((*shape, m))
    np.add.at(sums, (kz - 1, kw - 1), delta)
    local = np.where(counts[..., None] > 0, sums / np.maximum(counts, 1)[..., None], 0.0)
    h = np.zeros((len(ez), len(ew), m))
    h[1:, 1:] = np.cumsum(np.cumsum(local, axis=0), axis=1)
    # Remove the first-order content along each axis (eq. 14–15).
    nz, nw = counts.sum(1), counts.sum(0)
    dz = ((h[1:, 1:] - h[:-1, 1:] + h[1:, :-1] - h[:-1, :-1]) / 2 * counts[..., None]).sum(1)
    dz = dz / np.maximum(nz, 1)[:, None]
    dw = ((h[1:, 1:] - h[1:, :-1] + h[:-1, 1:] - h[:-1, :-1]) / 2 * counts[..., None]).sum(0)
    dw = dw / np.maximum(nw, 1)[:, None]
    fz = np.vstack([np.zeros((1, m)), np.cumsum(dz, axis=0)])
    fw = np.vstack([np.zeros((1, m)), np.cumsum(dw, axis=0)])
    g = h - fz[:, None, :] - fw[None, :, :]
    # Centre: count-weighted mean of each cell's corner average (eq. 16).
    cell = (g[1:, 1:] + g[:-1, 1:] + g[1:, :-1] + g[:-1, :-1]) / 4
    g = g - (cell * counts[..., None]).sum((0, 1)) / counts.sum()
    return ALESurface((j, k), (ez, ew), g, counts)


__all__ = [
    "ALECurve",
    "ALESurface",
    "ale_curves",
    "ale_surface",
    "bin_of",
    "check_inputs",
    "evaluate",
    "interpolate",
    "main_effects",
    "quantile_edges",
]
