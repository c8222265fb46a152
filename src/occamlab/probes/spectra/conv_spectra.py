"""Matrices of a convolution: per kernel position, or the exact operator spectrum by FFT.

A convolution weight ``K`` of shape ``(c_out, c_in, k₁[, k₂])`` is read two ways:

- ``per_position`` (the default; data-free, WeightWatcher's reading): one ``c_out × c_in``
  matrix ``K[:, :, a, b]`` per kernel position, ``k₁k₂`` matrices in all, each with
  ``min(c_out, c_in)`` eigenvalues.
- ``fft``: the singular values of the convolution as a linear operator on ``n₁ × n₂`` inputs with
  circular padding (Sedghi, Gupta & Long 2019, arXiv 1805.10408, Theorem 6): the operator is
  block-diagonalized by the 2-D DFT, and its singular values are those of the ``n₁n₂`` complex
  matrices ``P(u, v) = Σ_{a,b} K[:, :, a, b] e^{−2πi(au/n₁ + bv/n₂)}``. Exact for circular padding,
  stride 1, no dilation, one group; for zero padding it describes the circular operator of the
  same kernel. PyTorch's cross-correlation only conjugates ``P``, which leaves singular values
  unchanged.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

ConvMethod = Literal["per_position", "fft"]


def per_position_matrices(weight: torch.Tensor) -> torch.Tensor:
    """``(k₁k₂…, c_out, c_in)``: one matrix per kernel position."""
    if weight.dim() < 3:
        raise ValueError(
            f"a convolution weight has >= 3 dimensions, got shape {tuple(weight.shape)}"
        )
    c_out, c_in = weight.shape[:2]
    return weight.reshape(c_out, c_in, -1).permute(2, 0, 1)


def fft_matrices(weight: torch.Tensor, input_size: tuple[int, ...]) -> torch.Tensor:
    """``(n₁n₂…, c_out, c_in)`` complex matrices whose singular values are the circular
    convolution operator's (Sedghi et al. 2019)."""
    spatial = weight.dim() - 2
    if len(input_size) != spatial:
        raise ValueError(
            f"a {spatial}-d convolution needs {spatial} input sizes, got {tuple(input_size)}"
        )
    for k, n in zip(weight.shape[2:], input_size, strict=True):
        if k > n:
            raise ValueError(f"kernel size {k} exceeds the input size {n}; pass a larger size")
    dims = tuple(range(2, 2 + spatial))
    transfer = torch.fft.fftn(weight, s=tuple(input_size), dim=dims)
    c_out, c_in = weight.shape[:2]
    return transfer.reshape(c_out, c_in, -1).permute(2, 0, 1)


def check_fft_layer(name: str, module: nn.Module) -> None:
    """Refuse layers whose operator the FFT formula does not describe."""
    if module.stride != (1,) * len(module.stride) or module.dilation != (1,) * len(module.dilation):
        raise ValueError(
            f"layer {name!r} has stride {module.stride} and dilation {module.dilation}; the FFT "
            "spectrum is exact for stride 1 and no dilation only: use conv='per_position'"
        )
    if module.groups != 1:
        raise ValueError(
            f"layer {name!r} has groups={module.groups}; the FFT spectrum needs groups=1: use "
            "conv='per_position'"
        )
