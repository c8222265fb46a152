"""A module seen as a pure function ``f(params, x)`` for kernel computations.

Kernels are computed on a snapshot of the parameters (optionally cast, e.g. to float64 for a
reference), in eval mode (BatchNorm uses running statistics, dropout is off; each submodule's own
mode is restored afterwards), through :func:`torch.func.functional_call`. The user's module is
never modified.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Every submodule in eval mode, each one's own mode restored on exit."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


@dataclass(frozen=True)
class FunctionalModel:
    """``module`` with a fixed snapshot of parameters and buffers, called functionally.

    Attributes:
        module: the network (only its structure is used; its tensors are not touched).
        params: the parameters the kernel differentiates, by name.
        buffers: buffers plus any parameters held fixed.
        dtype: the floating dtype of ``params`` (inputs are cast to it).
    """

    module: nn.Module
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]
    dtype: torch.dtype

    @classmethod
    def of(
        cls,
        module: nn.Module,
        params: Mapping[str, torch.Tensor] | None = None,
        *,
        dtype: torch.dtype | None = None,
    ) -> FunctionalModel:
        """Snapshot ``module``'s trainable parameters (or ``params``, a subset of its names)."""
        own = dict(module.named_parameters())
        if params is None:
            params = {k: p for k, p in own.items() if p.requires_grad}
        unknown = sorted(set(params) - set(own))
        if unknown:
            raise ValueError(f"unknown parameter names {unknown}; valid: {sorted(own)}")
        if not params:
            raise ValueError("the model has no trainable parameters; the NTK would be zero")
        first = next(iter(params.values()))
        dtype = dtype or first.dtype
        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating dtype, got {dtype}")

        def cast(t: torch.Tensor) -> torch.Tensor:
            t = t.detach()
            return t.to(dtype) if t.is_floating_point() else t

        fixed = {k: cast(p) for k, p in own.items() if k not in params}
        fixed.update({k: cast(b) for k, b in module.named_buffers()})
        return cls(module, {k: cast(v) for k, v in params.items()}, fixed, dtype)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.params.values())

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype) if x.is_floating_point() else x

    def __call__(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(n, k)`` for inputs ``x`` (``(n, *input_shape)``) at ``params``."""
        return functional_call(self.module, ({**self.buffers, **params},), (x,))

    def single(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(k,)`` for one input (no batch dimension), for ``vmap``."""
        return self(params, x.unsqueeze(0)).squeeze(0)
