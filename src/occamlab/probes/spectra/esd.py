"""Empirical spectral densities of weight matrices: which matrices, and their eigenvalues.

Every ``nn.Linear`` (weight ``out × in``) gives one matrix; every ``nn.Conv1d/2d/3d`` gives
several (see :mod:`occamlab.probes.spectra.conv_spectra`). For a matrix ``W`` with ``N = max``
and ``M = min`` of its dimensions, the ESD is the ``M`` eigenvalues of ``WᵀW`` (the smaller Gram
matrix, so ``M`` values), i.e. the squared singular values of ``W``; the correlation matrix of the
heavy-tailed self-regularization papers is ``X = WᵀW/N``, whose eigenvalues are these divided by
``N`` (the Marchenko–Pastur fit uses them).

Speed: small Gram matrices of equal size are stacked and solved in one batched ``eigvalsh``
call, in float32 by default (as fast as it gets); eigenvalues below ``M · ε · λ_max`` (ε the
unit roundoff of the precision) are at rounding level and are counted as unresolved, not fitted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from occamlab.probes.spectra.conv_spectra import (
    ConvMethod,
    check_fft_layer,
    fft_matrices,
    per_position_matrices,
)

Precision = Literal["float32", "float64"]
_BATCH_MAX = 128  # Gram matrices up to this size are batched across layers
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass(frozen=True)
class LayerMatrices:
    """The matrices whose spectrum stands for one layer.

    Attributes:
        name: the module's name in the model.
        kind: ``linear``, ``conv1d``, ``conv2d`` or ``conv3d``.
        weight_shape: shape of the module's weight.
        method: ``matrix`` (Linear), ``per_position`` or ``fft`` (convolutions).
        matrices: ``(K, rows, cols)`` stack (complex for ``fft``).
    """

    name: str
    kind: str
    weight_shape: tuple[int, ...]
    method: str
    matrices: torch.Tensor

    @property
    def n(self) -> int:
        """The larger matrix dimension N."""
        return max(self.matrices.shape[1:])

    @property
    def m(self) -> int:
        """The smaller matrix dimension M (eigenvalues per matrix)."""
        return min(self.matrices.shape[1:])

    @property
    def num_matrices(self) -> int:
        return self.matrices.shape[0]


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``Linear`` and ``Conv`` modules of ``model`` with a weight, in module order."""
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, (nn.Linear, *_CONV)) and getattr(m, "weight", None) is not None
    ]


def layer_matrices(
    name: str,
    module: nn.Module,
    *,
    conv: ConvMethod = "per_position",
    input_size: tuple[int, ...] | None = None,
    precision: Precision = "float32",
    weight: torch.Tensor | None = None,
) -> LayerMatrices:
    """The matrices of one Linear/Conv layer (weights detached; the module is not changed).

    ``weight`` replaces the module's own weight (same shape), e.g. a shuffled copy.
    """
    weight = module.weight.detach() if weight is None else weight
    weight = weight.to(torch.float32 if precision == "float32" else torch.float64)
    if isinstance(module, nn.Linear):
        return LayerMatrices(name, "linear", tuple(weight.shape), "matrix", weight[None])
    kind = f"conv{weight.dim() - 2}d"
    if conv == "per_position":
        return LayerMatrices(name, kind, tuple(weight.shape), conv, per_position_matrices(weight))
    if conv == "fft":
        check_fft_layer(name, module)
        if input_size is None:
            raise ValueError(
                f"conv='fft' needs the input size of layer {name!r}: pass a subject (its data "
                "give each layer's input size) or fft_size"
            )
        return LayerMatrices(
            name, kind, tuple(weight.shape), conv, fft_matrices(weight, input_size)
        )
    raise ValueError(f"unknown conv method {conv!r}; valid: per_position, fft")


def _gram(stack: torch.Tensor) -> torch.Tensor:
    rows, cols = stack.shape[1:]
    if rows >= cols:
        return stack.mH @ stack
    return stack @ stack.mH


def eigenvalues(
    layers: list[LayerMatrices], *, precision: Precision = "float32"
) -> list[np.ndarray]:
    """Ascending eigenvalues of ``WᵀW`` (all matrices of a layer pooled), one array per layer.

    Values are float64 arrays; negative rounding noise is clipped to 0.
    """
    real = torch.float32 if precision == "float32" else torch.float64
    complex_ = torch.complex64 if precision == "float32" else torch.complex128
    groups: dict[tuple[int, bool, int], list[int]] = defaultdict(list)
    for i, layer in enumerate(layers):
        # Small Gram matrices of one size share a batched call (per-call overhead dominates
        # them); large ones are solved one layer at a time (no copy into a batch).
        key = i if layer.m > _BATCH_MAX else -1
        groups[(layer.m, layer.matrices.is_complex(), key)].append(i)
    out: list[np.ndarray | None] = [None] * len(layers)
    for (_, is_complex, _), members in groups.items():
        dtype = complex_ if is_complex else real
        grams = [_gram(layers[i].matrices.to(dtype)) for i in members]
        values = torch.linalg.eigvalsh(grams[0] if len(grams) == 1 else torch.cat(grams))
        start = 0
        for i, gram in zip(members, grams, strict=True):
            block = values[start : start + gram.shape[0]]
            start += gram.shape[0]
            ev = np.sort(block.reshape(-1).double().numpy())
            out[i] = np.clip(ev, 0.0, None)
    return out  # type: ignore[return-value]


def resolution(values: np.ndarray, m: int, precision: Precision) -> float:
    """Eigenvalues at or below ``M · ε · λ_max`` are at rounding level of the Gram solve."""
    eps = np.finfo(np.float32 if precision == "float32" else np.float64).eps
    return float(m * eps * (values[-1] if values.size else 0.0))
