"""Streaming second moments of several representations of the same examples.

Feature-space similarity measures (linear CKA, biased or unbiased; Procrustes; covariance
spectra) need only these per-pair statistics, which add up exactly over minibatches:

- ``G = Z'ᵀZ'`` with ``Z' = [X₁ − c₁, …, X_L − c_L]`` (all representations side by side, each
  shifted by a constant ``c_i``: the mean of the first batch), the column sums ``s = Σ z'``;
- per example ``r_n = (‖x'₁ₙ‖², …, ‖x'_Lₙ‖²)``, accumulated as ``R = Σ r rᵀ``, ``A = Σ r ⊗ z'``
  and ``t = Σ r`` (what the unbiased HSIC estimator adds to the Gram statistics).

Shifting by a fixed constant changes none of the measures (each is translation invariant), but it
keeps the sums free of the cancellation a large activation offset would cause. Each batch is
shifted and multiplied in ``dtype`` (float32 by default: ``x − c`` is exact when a large offset
dominates, and the products of a centred batch lose nothing that matters at the 1e-6 level) and
added into float64 accumulators; ``G`` is built from the blocks on and above its diagonal only
(symmetry), in column blocks of 512, and mirrored when read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

_BLOCK = 512


class FeatureStats:
    """Accumulate second moments of ``L`` representations over batches of examples.

    Args:
        dims: feature count of each representation.
        dtype: precision of the batch products (accumulation is always float64).

    Example:
        >>> import torch
        >>> x = torch.randn(100, 3, dtype=torch.float64)
        >>> stats = FeatureStats([3, 3])
        >>> stats.update([x[:60], 2 * x[:60]]); stats.update([x[60:], 2 * x[60:]])
        >>> stats.n
        100
    """

    def __init__(
        self, dims: Sequence[int], *, dtype: Literal["float32", "float64"] = "float32"
    ) -> None:
        if not dims or any(d < 1 for d in dims):
            raise ValueError(f"every representation needs >= 1 feature, got dims {list(dims)}")
        self.dims = list(dims)
        self.offsets = [0]
        for d in self.dims:
            self.offsets.append(self.offsets[-1] + d)
        total, count = self.offsets[-1], len(self.dims)
        f64 = torch.float64
        self.dtype = torch.float32 if dtype == "float32" else torch.float64
        self.n = 0
        self.shift: torch.Tensor | None = None
        self._upper = torch.zeros(total, total, dtype=f64)  # blocks on/above the diagonal
        self._full: torch.Tensor | None = None
        self.sums = torch.zeros(total, dtype=f64)
        self.norm_products = torch.zeros(count, count, dtype=f64)
        self.norm_weighted = torch.zeros(count, total, dtype=f64)
        self.norm_sums = torch.zeros(count, dtype=f64)

    def block(self, i: int) -> slice:
        return slice(self.offsets[i], self.offsets[i + 1])

    def update(self, features: Sequence[torch.Tensor]) -> None:
        """Add one batch: one ``(b, d_i)`` tensor per representation, same ``b`` for all."""
        if len(features) != len(self.dims):
            raise ValueError(f"expected {len(self.dims)} representations, got {len(features)}")
        rows = {f.shape[0] for f in features}
        if len(rows) != 1:
            raise ValueError(f"representations disagree on the number of examples: {rows}")
        for f, d in zip(features, self.dims, strict=True):
            if f.dim() != 2 or f.shape[1] != d:
                raise ValueError(f"expected a (batch, {d}) tensor, got {tuple(f.shape)}")
        z = torch.cat([f.detach().to(self.dtype) for f in features], dim=1)
        if z.shape[0] == 0:
            return
        if self.shift is None:
            if not torch.isfinite(z).all():
                raise ValueError("representations contain NaN or infinite values")
            self.shift = z.to(torch.float64).mean(dim=0).to(self.dtype)
        # x − c in the working precision: exact when the offset dominates (Sterbenz), and
        # otherwise as accurate as the inputs themselves.
        z = z - self.shift
        sq = torch.stack(
            [(z[:, self.block(i)] ** 2).sum(dim=1) for i in range(len(self.dims))],
            dim=1,
        ).to(torch.float64)  # torch's cascade summation: ~ε relative, whatever the width
        if not torch.isfinite(sq).all():  # NaN/inf anywhere in z shows up here, for free
            raise ValueError("representations contain NaN or infinite values (or |x| > 1e19)")
        self.n += z.shape[0]
        # Column sums of the shifted batch by a matrix-vector product (they are small: the
        # shift is close to the mean).
        self.sums += (torch.ones(1, z.shape[0], dtype=z.dtype) @ z)[0].to(torch.float64)
        self.norm_sums += sq.sum(dim=0)
        self.norm_products += sq.T @ sq
        self.norm_weighted += (sq.to(self.dtype).T @ z).to(torch.float64)
        total = z.shape[1]
        for p in range(0, total, _BLOCK):
            left = z[:, p : p + _BLOCK].T
            for q in range(p, total, _BLOCK):
                self._upper[p : p + _BLOCK, q : q + _BLOCK] += left @ z[:, q : q + _BLOCK]
        self._full = None

    @property
    def gram(self) -> torch.Tensor:
        """``Z'ᵀZ'`` (float64), mirrored from the blocks on and above the diagonal."""
        if self._full is None:
            full = self._upper.clone()
            total = full.shape[0]
            for p in range(0, total, _BLOCK):
                for q in range(p + _BLOCK, total, _BLOCK):
                    full[q : q + _BLOCK, p : p + _BLOCK] = self._upper[
                        p : p + _BLOCK, q : q + _BLOCK
                    ].T
            self._full = full
        return self._full

    def cross(self, i: int, j: int) -> torch.Tensor:
        """``X'ᵢᵀX'ⱼ`` (shifted, uncentred)."""
        return self.gram[self.block(i), self.block(j)]

    def centred_cross(self, i: int, j: int) -> torch.Tensor:
        """``(Xᵢ − x̄ᵢ)ᵀ(Xⱼ − x̄ⱼ)`` = ``X'ᵢᵀX'ⱼ − s_i s_jᵀ/n``."""
        self._check_n(2)
        si, sj = self.sums[self.block(i)], self.sums[self.block(j)]
        return self.cross(i, j) - torch.outer(si, sj) / self.n

    def second_moment(self, i: int) -> torch.Tensor:
        """Uncentred ``XᵢᵀXᵢ`` (the shift added back)."""
        self._check_n(1)
        c = self.shift[self.block(i)].to(torch.float64)
        s = self.sums[self.block(i)]
        return self.cross(i, i) + torch.outer(c, s) + torch.outer(s, c) + self.n * torch.outer(c, c)

    def _check_n(self, minimum: int) -> None:
        if self.n < minimum:
            raise ValueError(f"need at least {minimum} examples, got {self.n}")
