"""Quantization of weights to k shared levels by one-dimensional k-means (Lloyd's algorithm).

Given values v_1..v_n and k, Lloyd's algorithm alternates assigning each value to its nearest
level and moving each level to the mean of its values, which never increases the squared error
Σ_i (v_i − c_{a(i)})². In one dimension the nearest-level assignment is a search in the sorted
levels (boundaries at the midpoints), so each iteration costs O(n log k). Levels start at the
quantiles (j + ½)/k of the values, which makes the result a deterministic function of the values
(no random restarts); an empty cluster keeps its previous level. Iteration stops when no
assignment changes or after ``iterations`` rounds.

Lotfi et al. (2022, arXiv 2211.13609) quantize with learned levels in the same way before
arithmetic coding.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call


@dataclass(frozen=True, eq=False)
class Quantized:
    """Levels (sorted, float32) and the level index of every value."""

    levels: torch.Tensor
    index: torch.Tensor
    squared_error: float
    iterations: int

    def values(self) -> torch.Tensor:
        """The quantized values ``levels[index]``."""
        return self.levels[self.index]


def kmeans_levels(values: torch.Tensor, k: int, *, iterations: int = 50) -> Quantized:
    """Quantize a 1-D tensor to ``k`` levels (fewer if it has fewer distinct values).

    >>> q = kmeans_levels(torch.tensor([0.0, 0.1, 1.0, 1.2, 5.0]), 3)
    >>> q.levels.tolist(), q.index.tolist()
    ([0.05000000074505806, 1.100000023841858, 5.0], [0, 0, 1, 1, 2])
    """
    if values.ndim != 1 or values.numel() == 0:
        raise ValueError("kmeans_levels needs a non-empty 1-D tensor")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    v = values.detach().double()
    if not bool(torch.isfinite(v).all()):
        raise ValueError("values must be finite")
    distinct = torch.unique(v)
    k = min(int(k), distinct.numel())
    if k == distinct.numel():
        levels = distinct
        index = torch.searchsorted(levels, v)
        return Quantized(levels.float(), index, 0.0, 0)
    sorted_v, _ = torch.sort(v)
    positions = ((torch.arange(k, dtype=torch.float64) + 0.5) / k * (v.numel() - 1)).round()
    levels = sorted_v[positions.long()].clone()
    index = torch.zeros(v.numel(), dtype=torch.int64)
    done = 0
    for done in range(1, iterations + 1):
        levels, _ = torch.sort(levels)
        boundaries = 0.5 * (levels[1:] + levels[:-1])
        new_index = torch.searchsorted(boundaries, v)
        sums = torch.zeros(k, dtype=torch.float64).index_add_(0, new_index, v)
        counts = torch.bincount(new_index, minlength=k).double()
        levels = torch.where(counts > 0, sums / counts.clamp(min=1.0), levels)
        if done > 1 and torch.equal(new_index, index):
            index = new_index
            break
        index = new_index
    levels32 = levels.float()
    # assignments and error for the float32 levels actually used by the network
    boundaries = 0.5 * (levels32[1:].double() + levels32[:-1].double())
    index = torch.searchsorted(boundaries, v)
    error = float((v - levels32.double()[index]).pow(2).sum())
    return Quantized(levels32, index, error, done)


class QuantizedNetwork(nn.Module):
    """A network whose parameters are shared levels: w = mask ⊙ levels[nearest(latent)].

    Quantization-aware fine-tuning (as in Lotfi et al. 2022, and the weight-sharing fine-tuning
    of Han et al. 2016): the forward pass uses the quantized, masked parameters; the backward
    pass sends each parameter's gradient straight through to its latent value and sums it into
    the level it uses, so :func:`occamlab.train.fit` trains latent weights and levels together.
    Pruned entries (mask False) are exactly zero and get no gradient. The underlying network is
    a frozen private copy kept in eval mode (its buffers, e.g. BatchNorm statistics, stay as
    they were and are coded verbatim).

    Args:
        base: the network (copied).
        latent: initial latent values of every trainable parameter, by name.
        masks: keep-masks by name (names without a mask are never pruned).
        levels: initial levels (1-D).
    """

    def __init__(
        self,
        base: nn.Module,
        *,
        latent: Mapping[str, torch.Tensor],
        masks: Mapping[str, torch.Tensor],
        levels: torch.Tensor,
    ) -> None:
        super().__init__()
        self.names = [k for k, p in base.named_parameters() if p.requires_grad]
        if set(self.names) != set(latent):
            raise ValueError("latent must name every trainable parameter of the network")
        self.base = copy.deepcopy(base).requires_grad_(False).eval()
        self.latent = nn.ParameterList(
            [nn.Parameter(latent[k].detach().clone()) for k in self.names]
        )
        self.levels = nn.Parameter(levels.detach().clone().to(self.latent[0].dtype))
        for i, k in enumerate(self.names):
            mask = masks.get(k, torch.ones_like(latent[k], dtype=torch.bool))
            self.register_buffer(f"mask_{i}", mask.detach().to(torch.bool).clone())
        self.buffers_of_base = dict(self.base.named_buffers())

    def train(self, mode: bool = True) -> QuantizedNetwork:
        super().train(mode)
        self.base.eval()
        return self

    def _masks(self) -> list[torch.Tensor]:
        return [getattr(self, f"mask_{i}") for i in range(len(self.names))]

    def assignments(self) -> list[torch.Tensor]:
        """The index of the nearest level of every latent value."""
        levels = self.levels.detach()
        return [(v.detach().unsqueeze(-1) - levels).abs().argmin(dim=-1) for v in self.latent]

    def quantized(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, v, idx, mask in zip(
            self.names, self.latent, self.assignments(), self._masks(), strict=True
        ):
            q = self.levels[idx] + (v - v.detach())  # value: the level; gradient: straight through
            out[name] = torch.where(mask, q, torch.zeros_like(q))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, (self.quantized(), self.buffers_of_base), (x,))

    def symbols(self) -> torch.Tensor:
        """Flat symbols in parameter order: 0 for pruned, 1 + level index otherwise."""
        parts = [
            torch.where(mask, idx + 1, torch.zeros_like(idx)).reshape(-1)
            for idx, mask in zip(self.assignments(), self._masks(), strict=True)
        ]
        return torch.cat(parts)


__all__ = ["QuantizedNetwork", "Quantized", "kmeans_levels"]
