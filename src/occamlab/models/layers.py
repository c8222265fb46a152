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
    "make_activation",
    "nonlinearity_of",
]
