"""Mutual-information estimators for the information plane, in bits.

A layer's representation ``T = h(X)`` of a deterministic network is a function of the input, so
``I(X; T) = H(T)`` is infinite for continuous ``T``: every estimator adds a coarse-graining
(Saxe et al. 2018, arXiv 1804.08274, discuss how much the results depend on it). With ``X``
uniform over the ``n`` samples:

* **binning** (Shwartz-Ziv & Tishby 2017, arXiv 1703.00810): each unit's activation is cut into
  ``bins`` equal-width bins; ``I(X; T) = H(T_bin)`` and ``I(T; Y) = H(T_bin) − Σ_y p(y)
  H(T_bin | Y = y)``, plug-in entropies of the binned patterns. :func:`binned_mutual_information`
  is the same plug-in estimate for two continuous variables.
* **kernel density / pairwise distances** (Kolchinsky & Tracey 2017, arXiv 1706.02419; used by
  Saxe et al. 2018): ``T = h(X) + N(0, σ² I)`` is a mixture of ``n`` Gaussians and
  ``−(1/n) Σ_i log₂ (1/n) Σ_j exp(−D_ij)`` bounds ``I(X; T)`` from above with
  ``D_ij = ‖h_i − h_j‖²/(2σ²)`` (KL divergence) and from below with ``‖h_i − h_j‖²/(8σ²)``
  (Bhattacharyya); ``I(T; Y)`` is the same quantity minus its average within classes.
* **HSIC** (Gretton et al. 2005; the HSIC bottleneck of Ma et al. 2019, arXiv 1908.01580): a
  kernel dependence measure, not mutual information: ``HSIC = (1/n²) tr(K H L H)`` with Gaussian
  kernels, and the normalized ``nHSIC = HSIC(A,B)/√(HSIC(A,A) HSIC(B,B))`` in ``[0, 1]``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

LOG2 = math.log(2.0)


def _codes(
    t: np.ndarray, bins: int, low: float | None, high: float | None, width: float | None = None
) -> np.ndarray:
    """Bin index of every unit of every example, ``(n, d)`` int: ``bins`` equal bins over
    ``[low, high]``, or bins of a fixed ``width`` (edges at multiples of it) when given."""
    if width is not None:
        return np.floor(t / width).astype(np.int64)
    lo = float(t.min()) if low is None else low
    hi = float(t.max()) if high is None else high
    if hi <= lo:
        return np.zeros(t.shape, dtype=np.int64)
    edges = np.linspace(lo, hi, bins + 1)[1:-1]
    return np.digitize(t, edges)


def _entropy_of_rows(codes: np.ndarray) -> float:
    """Plug-in entropy (bits) of the empirical distribution of the rows of ``codes``."""
    if codes.shape[0] == 0:
        raise ValueError("cannot estimate an entropy from zero samples")
    if codes.ndim == 1:
        codes = codes[:, None]
    # Each row as one opaque byte string: a 1-D unique, much faster than unique(axis=0).
    rows = np.ascontiguousarray(codes.astype(np.int32))
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, counts = np.unique(keys, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _as_numpy(t: torch.Tensor | np.ndarray) -> np.ndarray:
    a = t.detach().double().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, float)
    if a.ndim == 1:
        a = a[:, None]
    a = a.reshape(a.shape[0], -1)
    if not np.isfinite(a).all():
        raise ValueError("the representation contains NaN or infinite values")
    return a


def binning_information(
    t: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    bins: int = 30,
    low: float | None = None,
    high: float | None = None,
    width: float | None = None,
) -> tuple[float, float]:
    """``(I(X; T), I(T; Y))`` in bits by binning (Shwartz-Ziv & Tishby 2017).

    Args:
        t: representations ``(n, d)`` of the ``n`` inputs.
        y: class labels ``(n,)``.
        bins: equal-width bins per unit.
        low: lower end of the binned range (default: the min of ``t``); Shwartz-Ziv & Tishby
            bin tanh units over ``[-1, 1]``.
        high: upper end of the binned range (default: the max of ``t``).
        width: instead of ``bins`` over a range, bins of this fixed width (unbounded units;
            Saxe et al. 2018 bin ReLU layers with the width tanh layers get).
    """
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    if width is not None and width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    codes = _codes(_as_numpy(t), bins, low, high, width)
    labels = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y).reshape(-1)
    if labels.shape[0] != codes.shape[0]:
        raise ValueError(f"{codes.shape[0]} representations but {labels.shape[0]} labels")
    h_t = _entropy_of_rows(codes)
    h_t_given_y = 0.0
    for value in np.unique(labels):
        mask = labels == value
        h_t_given_y += mask.mean() * _entropy_of_rows(codes[mask])
    return h_t, float(h_t - h_t_given_y)


def binned_mutual_information(
    a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, *, bins: int = 30
) -> float:
    """Plug-in ``I(A; B)`` in bits of two continuous variables, each unit binned over its range:
    ``H(A_bin) + H(B_bin) − H(A_bin, B_bin)``."""
    ca = _codes(_as_numpy(a), bins, None, None)
    cb = _codes(_as_numpy(b), bins, None, None)
    if ca.shape[0] != cb.shape[0]:
        raise ValueError(f"{ca.shape[0]} and {cb.shape[0]} samples")
    joint = np.concatenate([ca, cb], axis=1)
    return _entropy_of_rows(ca) + _entropy_of_rows(cb) - _entropy_of_rows(joint)


def _pairwise_term(h: torch.Tensor, scale: float) -> float:
    """``−(1/n) Σ_i log (1/n) Σ_j exp(−‖h_i − h_j‖² · scale)`` in nats."""
    n = h.shape[0]
    d2 = torch.cdist(h, h).pow(2)
    return float(-(torch.logsumexp(-d2 * scale, dim=1) - math.log(n)).mean())


def kde_information(
    t: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    noise_var: float = 0.1,
    bound: str = "upper",
) -> tuple[float, float]:
    """``(I(X; T), I(T; Y))`` in bits of ``T = h(X) + N(0, noise_var · I)`` by the pairwise-distance
    bounds of Kolchinsky & Tracey (2017): ``bound="upper"`` (KL) or ``"lower"`` (Bhattacharyya).
    """
    if noise_var <= 0:
        raise ValueError(f"noise_var must be positive, got {noise_var}")
    if bound not in ("upper", "lower"):
        raise ValueError(f"bound must be 'upper' or 'lower', got {bound!r}")
    h = torch.as_tensor(_as_numpy(t))
    labels = torch.as_tensor(np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)).reshape(-1)
    scale = 1.0 / (2 * noise_var) if bound == "upper" else 1.0 / (8 * noise_var)
    i_xt = _pairwise_term(h, scale)
    within = 0.0
    for value in labels.unique():
        mask = labels == value
        within += float(mask.double().mean()) * _pairwise_term(h[mask], scale)
    return i_xt / LOG2, (i_xt - within) / LOG2


def _gram(a: torch.Tensor, sigma: float | None) -> torch.Tensor:
    """Gaussian Gram matrix ``exp(−‖u − u'‖²/(2σ²))`` of the rows of ``a``, differentiable in ``a``
    (``σ`` by the median heuristic when None, computed from detached distances)."""
    sq = a.pow(2).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2 * a @ a.T).clamp_min(0.0)
    # exact zeros on the diagonal (the expansion leaves rounding there; the median ignores 0s)
    d2 = torch.where(torch.eye(len(a), dtype=torch.bool, device=a.device), 0.0, d2)
    if sigma is None:  # median heuristic
        positive = d2.detach()[d2.detach() > 0]
        sigma2 = float(positive.median()) / 2 if positive.numel() else 1.0
    else:
        sigma2 = sigma**2
    return torch.exp(-d2 / (2 * sigma2))


def hsic_tensor(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    sigma_a: float | None = None,
    sigma_b: float | None = None,
    normalized: bool = False,
) -> torch.Tensor:
    """:func:`hsic` as a differentiable 0-dim tensor of two ``(n, …)`` tensors (flattened per
    example): the HSIC bottleneck's training objective (Ma et al. 2019) is built from it.

    >>> a = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    >>> value = hsic_tensor(a, a.detach() ** 2, sigma_a=1.0, sigma_b=1.0)
    >>> value.backward()
    >>> round(float(value.detach()), 6), a.grad.shape
    (0.164742, torch.Size([3, 1]))
    """
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{a.shape[0]} and {b.shape[0]} samples")
    if a.shape[0] < 2:
        raise ValueError(f"HSIC needs at least 2 samples, got {a.shape[0]}")
    n = a.shape[0]
    k, l_ = _gram(a.reshape(n, -1), sigma_a), _gram(b.reshape(n, -1), sigma_b)
    kc = k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()
    lc = l_ - l_.mean(0, keepdim=True) - l_.mean(1, keepdim=True) + l_.mean()
    value = (kc * lc).sum() / n**2
    if not normalized:
        return value
    norm = torch.sqrt((kc * kc).sum() * (lc * lc).sum()) / n**2
    return value / norm if float(norm.detach()) > 0 else torch.zeros_like(value)


def hsic(
    a: torch.Tensor | np.ndarray,
    b: torch.Tensor | np.ndarray,
    *,
    sigma_a: float | None = None,
    sigma_b: float | None = None,
    normalized: bool = False,
) -> float:
    """The biased HSIC estimate ``(1/n²) tr(K H L H)`` with Gaussian kernels
    ``exp(−‖u − u'‖²/(2σ²))`` (``σ`` by the median heuristic when None), or the normalized
    ``nHSIC`` (Ma et al. 2019); :func:`hsic_tensor` on float64 copies, as a float."""
    x, z = torch.as_tensor(_as_numpy(a)), torch.as_tensor(_as_numpy(b))
    return float(
        hsic_tensor(x, z, sigma_a=sigma_a, sigma_b=sigma_b, normalized=normalized).detach()
    )
