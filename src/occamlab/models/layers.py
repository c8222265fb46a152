"""Small building blocks shared by the model families."""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

from occamlab.models.init import Nonlinearity

Activation = Literal["relu", "tanh", "gelu", "sigmoid", "erf", "identity"]
ACTIVATIONS: tuple[str, ...] = get_args(Activation)

# Gain used by the "kaiming_normal" scheme for each activation. GELU behaves like ReLU at scale;
# erf and identity use gain 1.
_NONLINEARITY: dict[str, Nonlinearity] = {
    "relu": "relu",
    "gelu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "erf": "linear",
    "identity": "linear",
}


class Erf(nn.Module):
    """Elementwise error function, ``torch.erf``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.erf(x)


def make_activation(name: Activation) -> nn.Module:
    """A fresh activation module for one of :data:`ACTIVATIONS`."""
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "gelu":
        return nn.GELU()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "erf":
        return Erf()
    if name == "identity":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}; use one of {list(ACTIVATIONS)}")


def nonlinearity_of(name: Activation) -> Nonlinearity:
    """The ``torch.nn.init`` nonlinearity whose gain matches activation ``name``."""
    return _NONLINEARITY[name]


class ActivationInit:
    """Mixin of model specs with an ``activation`` field: weights initialized for it."""

    activation: Activation

    @property
    def init_nonlinearity(self) -> Nonlinearity:
        return nonlinearity_of(self.activation)


class SeededDropout(nn.Dropout):
    """Dropout whose masks come from its own generator, never from PyTorch's global RNG.

    In train mode each entry is zeroed with probability ``p`` and the rest scaled by 1/(1 − p);
    in eval mode it is the identity. The generator is created at the first training forward pass
    from ``seed`` (set by the model's builder from its initialization generator), so training a
    freshly built model is reproducible without seeding anything global.
    """

    def __init__(self, p: float = 0.5, *, seed: int = 0) -> None:
        super().__init__(p)
        self.seed = seed
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * self.keep_mask(x.shape, x.dtype) / (1.0 - self.p)

    def keep_mask(self, shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
        """The next mask from this layer's generator (1 where an entry is kept, 0 where it is
        dropped), as a training forward pass draws it."""
        if self.generator is None:
            self.generator = torch.Generator().manual_seed(self.seed)
        return (torch.rand(shape, generator=self.generator, dtype=dtype) >= self.p).to(dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}, seed={self.seed}"


class FlattenInput(nn.Module):
    """``(batch, *shape) -> (batch, prod(shape))``; also turns ``(batch,)`` into ``(batch, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class AddChannel(nn.Module):
    """``(batch, *spatial) -> (batch, 1, *spatial)``: a single-channel view of the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1)


class GlobalAvgPool(nn.Module):
    """``(batch, channels, *spatial) -> (batch, channels)`` by averaging over spatial positions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(dim=2)


class Network(nn.Module):
    """Every model built here: a feature extractor followed by a linear read-out.

    ``forward(x) == head(features(x))``. ``features`` maps ``(batch, *input_shape)`` inputs to
    ``(batch, head.in_features)`` penultimate representations, handy for probes.

    Attributes:
        features: input to penultimate representation (includes any input reshaping).
        head: the final ``nn.Linear`` producing ``num_outputs`` logits.
        input_shape: shape of one input example the model was built for.
        num_outputs: number of outputs (logits) per example.
    """

    def __init__(
        self,
        features: nn.Module,
        head: nn.Linear,
        *,
        input_shape: tuple[int, ...],
        num_outputs: int,
    ) -> None:
        super().__init__()
        self.features = features
        self.head = head
        self.input_shape = tuple(input_shape)
        self.num_outputs = num_outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, num_outputs={self.num_outputs}"


__all__ = [
    "ACTIVATIONS",
    "Activation",
    "AddChannel",
    "Erf",
    "FlattenInput",
    "GlobalAvgPool",
    "Network",
    "SeededDropout",
    "make_activation",
    "nonlinearity_of",
]
