"""Plain convolutional networks: ``"cnn1d"`` for signals and ``"cnn2d"`` for images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from occamlab.models.init import InitScheme
from occamlab.models.layers import (
    ACTIVATIONS,
    Activation,
    ActivationInit,
    AddChannel,
    Network,
    make_activation,
)
from occamlab.models.registry import (
    MODELS,
    ModelSpec,
    check_fields,
    normalize_input_shape,
)


def conv_output_size(size: int, *, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Length of one spatial axis after a convolution (or pooling) layer."""
    return (size + 2 * padding - kernel_size) // stride + 1


@MODELS.register
@dataclass(frozen=True)
class CNN1DSpec(ActivationInit, ModelSpec):
    """1-D CNN for signals such as MNIST-1D: inputs ``(L,)`` or ``(C, L)``.

    ``layers`` blocks of ``Conv1d(kernel_size, stride, padding=kernel_size // 2) -> activation``
    with ``channels`` channels each, then flatten and a linear head. With the defaults and
    MNIST-1D inputs ``(40,)`` the length shrinks 40 -> 20 -> 10 -> 5 and the model has 12,106
    parameters for 10 classes.

    Attributes:
        channels: channels of every convolution.
        layers: number of convolutions.
        kernel_size: convolution width.
        stride: convolution stride (the only downsampling).
        activation: nonlinearity after each convolution.
        init: weight initialization scheme (see ``occamlab.models.init.InitScheme``).
    """

    name: ClassVar[str] = "cnn1d"

    channels: int = 32
    layers: int = 3
    kernel_size: int = 5
    stride: int = 2
    activation: Activation = "relu"
    init: InitScheme = "default"

    def __post_init__(self) -> None:
        check_fields(
            self,
            ints={"channels": (1, 32), "layers": (1, 3), "kernel_size": (1, 5), "stride": (1, 2)},
            choices={"activation": ACTIVATIONS},
        )

    def check_input_shape(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) not in (1, 2):
            raise ValueError(
                f"cnn1d needs 1-D signals of shape (L,) or (C, L), got input_shape "
                f"{tuple(input_shape)}; for images use 'cnn2d' or 'resnet', for flat vectors "
                f"of any shape 'mlp'"
            )

    def lengths(self, input_shape: Sequence[int]) -> list[int]:
        """Signal length before the first and after every convolution."""
        lengths = [int(input_shape[-1])]
        for _ in range(self.layers):
            lengths.append(
                conv_output_size(
                    lengths[-1],
                    kernel_size=self.kernel_size,
                    stride=self.stride,
                    padding=self.kernel_size // 2,
                )
            )
        return lengths

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        in_channels = 1 if len(input_shape) == 1 else input_shape[0]
        layers: list[nn.Module] = [AddChannel()] if len(input_shape) == 1 else []
        for i in range(self.layers):
            layers += [
                nn.Conv1d(
                    in_channels if i == 0 else self.channels,
                    self.channels,
                    self.kernel_size,
                    stride=self.stride,
                    padding=self.kernel_size // 2,
                ),
                make_activation(self.activation),
            ]
        layers.append(nn.Flatten(1))
        features = nn.Sequential(*layers)
        head = nn.Linear(self.channels * self.lengths(input_shape)[-1], num_outputs)
        return Network(features, head, input_shape=input_shape, num_outputs=num_outputs)

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        shape = normalize_input_shape(input_shape)
        self.check_input_shape(shape)
        c_in = 1 if len(shape) == 1 else shape[0]
        c, k = self.channels, self.kernel_size
        convs = (c_in * c * k + c) + (self.layers - 1) * (c * c * k + c)
        return convs + c * self.lengths(shape)[-1] * num_outputs + num_outputs


@MODELS.register
@dataclass(frozen=True)
class CNN2DSpec(ActivationInit, ModelSpec):
    """2-D CNN for images: inputs ``(H, W)`` or ``(C, H, W)``.

    ``layers`` blocks of ``Conv2d(kernel_size, padding=kernel_size // 2) -> [BatchNorm2d] ->
    activation -> MaxPool2d(2)`` with ``channels`` channels each, then flatten and a linear head.
    Every block halves the height and width (rounding down), so an ``8 x 8`` input allows at
    most 3 layers and ``28 x 28`` at most 4.

    Attributes:
        channels: channels of every convolution.
        layers: number of conv/pool blocks.
        kernel_size: convolution size (square).
        batchnorm: add BatchNorm after each convolution (which then has no bias).
        activation: nonlinearity after each convolution.
        init: weight initialization scheme (see ``occamlab.models.init.InitScheme``).
    """

    name: ClassVar[str] = "cnn2d"

    channels: int = 32
    layers: int = 2
    kernel_size: int = 3
    batchnorm: bool = False
    activation: Activation = "relu"
    init: InitScheme = "default"

    def __post_init__(self) -> None:
        check_fields(
            self,
            ints={"channels": (1, 32), "layers": (1, 2), "kernel_size": (1, 3)},
            bools=("batchnorm",),
            choices={"activation": ACTIVATIONS},
        )

    def sizes(self, input_shape: Sequence[int]) -> list[tuple[int, int]]:
        """Image size ``(H, W)`` before the first and after every conv/pool block."""
        sizes = [(int(input_shape[-2]), int(input_shape[-1]))]
        pad = self.kernel_size // 2
        for _ in range(self.layers):
            sizes.append(
                tuple(  # type: ignore[arg-type]
                    conv_output_size(
                        conv_output_size(s, kernel_size=self.kernel_size, padding=pad),
                        kernel_size=2,
                        stride=2,
                    )
                    for s in sizes[-1]
                )
            )
        return sizes

    def check_input_shape(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) not in (2, 3):
            raise ValueError(
                f"cnn2d needs images of shape (H, W) or (C, H, W), got input_shape "
                f"{tuple(input_shape)}; reshape flat images (e.g. digits (64,) -> (1, 8, 8)), or "
                f"use 'cnn1d'/'resnet' for 1-D signals and 'mlp' for flat vectors"
            )
        sizes = self.sizes(input_shape)
        if min(sizes[-1]) < 1:
            usable = next(i for i, s in enumerate(sizes) if min(s) < 1) - 1
            raise ValueError(
                f"cnn2d with layers={self.layers} pools a {sizes[0][0]}x{sizes[0][1]} image "
                f"down to nothing (each layer halves it); use layers<={usable} or larger images"
            )

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        in_channels = 1 if len(input_shape) == 2 else input_shape[0]
        layers: list[nn.Module] = [AddChannel()] if len(input_shape) == 2 else []
        for i in range(self.layers):
            layers.append(
                nn.Conv2d(
                    in_channels if i == 0 else self.channels,
                    self.channels,
                    self.kernel_size,
                    padding=self.kernel_size // 2,
                    bias=not self.batchnorm,
                )
            )
            if self.batchnorm:
                layers.append(nn.BatchNorm2d(self.channels))
            layers += [make_activation(self.activation), nn.MaxPool2d(2)]
        layers.append(nn.Flatten(1))
        features = nn.Sequential(*layers)
        h, w = self.sizes(input_shape)[-1]
        head = nn.Linear(self.channels * h * w, num_outputs)
        return Network(features, head, input_shape=input_shape, num_outputs=num_outputs)

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        shape = normalize_input_shape(input_shape)
        self.check_input_shape(shape)
        c_in = 1 if len(shape) == 2 else shape[0]
        c, k = self.channels, self.kernel_size
        per_layer_extra = 2 * c if self.batchnorm else c  # BN weight+bias, or the conv bias
        convs = c_in * c * k * k + (self.layers - 1) * c * c * k * k + self.layers * per_layer_extra
        h, w = self.sizes(shape)[-1]
        return convs + c * h * w * num_outputs + num_outputs


__all__ = ["CNN1DSpec", "CNN2DSpec", "conv_output_size"]
