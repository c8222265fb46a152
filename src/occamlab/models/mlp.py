"""Fully connected networks: ``"mlp"`` (any width/depth/activation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from occamlab.models.init import InitScheme
from occamlab.models.layers import (
    ACTIVATIONS,
    Activation,
    ActivationInit,
    FlattenInput,
    Network,
    SeededDropout,
    make_activation,
)
from occamlab.models.registry import (
    MODELS,
    ModelSpec,
    check_bool,
    check_choice,
    check_init,
    check_int,
    flat_size,
)


def fully_connected(
    in_features: int,
    hidden: Sequence[int],
    num_outputs: int,
    *,
    activation: Activation = "relu",
    bias: bool = True,
    dropout: float = 0.0,
    input_shape: tuple[int, ...],
) -> Network:
    """Flatten, then ``Linear -> activation [-> dropout]`` for each hidden width, then a head.

    Args:
        in_features: number of input features after flattening.
        hidden: hidden layer widths, in order (empty for a linear model).
        num_outputs: width of the linear head.
        activation: activation after every hidden layer.
        bias: whether every Linear layer (head included) has a bias.
        dropout: drop probability after every hidden activation (0: no dropout layers).
        input_shape: recorded on the returned :class:`Network`.
    """
    layers: list[nn.Module] = [FlattenInput()]
    previous = in_features
    for width in hidden:
        layers += [nn.Linear(previous, width, bias=bias), make_activation(activation)]
        if dropout > 0:
            layers.append(SeededDropout(dropout))
        previous = width
    features = nn.Sequential(*layers)
    head = nn.Linear(previous, num_outputs, bias=bias)
    return Network(features, head, input_shape=input_shape, num_outputs=num_outputs)


def fully_connected_num_parameters(
    in_features: int, hidden: Sequence[int], num_outputs: int, *, bias: bool = True
) -> int:
    """Closed-form parameter count of :func:`fully_connected`."""
    widths = [in_features, *hidden, num_outputs]
    return sum(a * b + (b if bias else 0) for a, b in zip(widths[:-1], widths[1:], strict=True))


def fully_connected_width(parameters: int, in_features: int, depth: int, num_outputs: int) -> int:
    """The width w (at least 1) whose :func:`fully_connected` net with ``depth`` hidden layers of
    w units has the parameter count closest to ``parameters`` (the narrower width on a tie).

    >>> fully_connected_width(100, 1, 1, 1)  # 3w + 1
    33
    """
    best, gap, width = 1, None, 1
    while True:
        count = fully_connected_num_parameters(in_features, (width,) * depth, num_outputs)
        if gap is None or abs(count - parameters) < gap:
            best, gap = width, abs(count - parameters)
        if count > parameters:  # counts grow with the width: every wider one is farther
            return best
        width += 1


@MODELS.register
@dataclass(frozen=True)
class MLPSpec(ActivationInit, ModelSpec):
    """Multilayer perceptron on flattened inputs (any input shape).

    Attributes:
        width: units in every hidden layer.
        depth: number of hidden layers; ``0`` gives a linear model.
        activation: nonlinearity after each hidden layer.
        bias: whether every layer (head included) has a bias.
        init_scale: factor multiplying every initial weight matrix (not the biases); below 1
            pushes training toward the rich/feature-learning regime, above 1 toward lazy.
        init: weight initialization scheme (see ``occamlab.models.init.InitScheme``).
        dropout: drop probability after every hidden activation (0: none). Dropout masks come
            from a generator seeded by the model's initialization seed (never the global RNG).
    """

    name: ClassVar[str] = "mlp"

    width: int = 256
    depth: int = 2
    activation: Activation = "relu"
    bias: bool = True
    init_scale: float = 1.0
    init: InitScheme = "default"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_int(self.name, "width", self.width, minimum=1, example=100)
        check_int(self.name, "depth", self.depth, minimum=0, example=2)
        check_choice(self.name, "activation", self.activation, ACTIVATIONS)
        check_bool(self.name, "bias", self.bias)
        scale = self.init_scale
        if (
            isinstance(scale, bool)
            or not isinstance(scale, int | float)
            or not math.isfinite(scale)
            or scale <= 0
        ):
            raise ValueError(
                f"mlp: init_scale must be a positive finite number (1.0 = PyTorch's scale), "
                f"got {scale!r}"
            )
        check_init(self.name, self.init)
        if isinstance(self.dropout, bool) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"mlp: dropout must lie in [0, 1), got {self.dropout!r}")

    @property
    def hidden(self) -> tuple[int, ...]:
        """Hidden layer widths."""
        return (self.width,) * self.depth

    @property
    def weight_scale(self) -> float:
        return float(self.init_scale)

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        return fully_connected(
            flat_size(input_shape),
            self.hidden,
            num_outputs,
            activation=self.activation,
            bias=self.bias,
            dropout=self.dropout,
            input_shape=input_shape,
        )

    def build(self, *, input_shape, num_outputs: int, generator: torch.Generator) -> nn.Module:
        """As :meth:`ModelSpec.build`; then every dropout layer gets a seed drawn from
        ``generator`` (after the initialization, which is therefore unchanged by dropout)."""
        module = super().build(
            input_shape=input_shape, num_outputs=num_outputs, generator=generator
        )
        for layer in module.modules():
            if isinstance(layer, SeededDropout):
                layer.seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        return module

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        """``d*w + (depth-1)*w*w + w*k`` weights plus ``depth*w + k`` biases (``d*k + k`` if
        ``depth == 0``), with ``d`` the flattened input size and ``k`` the number of outputs."""
        return fully_connected_num_parameters(
            flat_size(input_shape), self.hidden, num_outputs, bias=self.bias
        )


__all__ = ["MLPSpec", "fully_connected", "fully_connected_num_parameters"]
