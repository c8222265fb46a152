"""Small CIFAR-style residual networks, for images or 1-D signals: ``"resnet"``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from occamlab.models.init import InitScheme
from occamlab.models.layers import AddChannel, GlobalAvgPool, Network
from occamlab.models.registry import (
    MODELS,
    ModelSpec,
    check_fields,
    normalize_input_shape,
)

Dims = Literal["auto", "1d", "2d"]
DIMS: tuple[str, ...] = ("auto", "1d", "2d")

_CONV: dict[int, type[nn.Module]] = {1: nn.Conv1d, 2: nn.Conv2d}
_NORM: dict[int, type[nn.Module]] = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}


def _norm(dims: int, channels: int, batchnorm: bool) -> nn.Module:
    return _NORM[dims](channels) if batchnorm else nn.Identity()


class BasicBlock(nn.Module):
    """Two 3-wide convolutions with an optional shortcut (He et al., 2016).

    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``, where the shortcut is the identity
    when shapes match and a strided 1-wide convolution (+ BatchNorm) otherwise. With
    ``skip=False`` there is no shortcut at all (``self.shortcut is None``) and the block is a
    plain two-layer conv stack.

    Attributes:
        conv1, bn1, conv2, bn2: the residual branch (``bn*`` are ``nn.Identity`` without
            BatchNorm).
        shortcut: ``nn.Identity``, a projection ``nn.Sequential``, or ``None`` when skip=False.
    """

    shortcut: nn.Module | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        dims: int = 2,
        skip: bool = True,
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        conv = _CONV[dims]
        self.conv1 = conv(
            in_channels, out_channels, 3, stride=stride, padding=1, bias=not batchnorm
        )
        self.bn1 = _norm(dims, out_channels, batchnorm)
        self.conv2 = conv(out_channels, out_channels, 3, padding=1, bias=not batchnorm)
        self.bn2 = _norm(dims, out_channels, batchnorm)
        if not skip:
            self.shortcut = None
        elif stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                conv(in_channels, out_channels, 1, stride=stride, bias=not batchnorm),
                _norm(dims, out_channels, batchnorm),
            )

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch alone (before adding the shortcut and the final ReLU)."""
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return torch.relu(out)


@MODELS.register
@dataclass(frozen=True)
class ResNetSpec(ModelSpec):
    """A small ResNet: stem conv, ``stages`` stages of ``blocks`` basic blocks, pool, linear head.

    Stage ``i`` has ``width * 2**i`` channels; every stage after the first starts with a
    stride-2 block. All convolutions are 3 wide (1 wide on projection shortcuts). Inputs
    ``(C, H, W)`` and ``(H, W)`` use 2-D convolutions, ``(L,)`` uses 1-D ones; a two-axis input
    is ambiguous, so set ``dims="1d"`` for ``(C, L)`` multi-channel signals.

    Attributes:
        width: channels of the stem and the first stage.
        stages: number of stages.
        blocks: basic blocks per stage.
        skip: keep the shortcuts; ``False`` removes them all (a plain network of the same
            depth, for with/without-skip loss-landscape comparisons).
        batchnorm: BatchNorm after every convolution (which then has no bias). BatchNorm models
            work under ``torch.func`` transforms in eval mode.
        dims: ``"auto"`` (infer from the input shape), ``"1d"`` or ``"2d"``.
        init: weight initialization scheme (see ``occamlab.models.init.InitScheme``).
    """

    name: ClassVar[str] = "resnet"

    width: int = 16
    stages: int = 3
    blocks: int = 1
    skip: bool = True
    batchnorm: bool = True
    dims: Dims = "auto"
    init: InitScheme = "default"

    def __post_init__(self) -> None:
        check_fields(
            self,
            ints={"width": (1, 16), "stages": (1, 3), "blocks": (1, 1)},
            bools=("skip", "batchnorm"),
            choices={"dims": DIMS},
        )

    def geometry(self, input_shape: Sequence[int]) -> tuple[int, int, bool]:
        """``(dims, in_channels, add_channel)`` for ``input_shape``, or a ``ValueError``."""
        n = len(input_shape)
        if self.dims == "1d" and n in (1, 2):
            return 1, (1 if n == 1 else int(input_shape[0])), n == 1
        if self.dims == "2d" and n in (2, 3):
            return 2, (1 if n == 2 else int(input_shape[0])), n == 2
        if self.dims == "auto" and n in (1, 2, 3):
            return (1 if n == 1 else 2), (int(input_shape[0]) if n == 3 else 1), n < 3
        needs = {
            "auto": "(L,), (H, W) or (C, H, W)",
            "1d": "(L,) or (C, L) with dims='1d'",
            "2d": "(H, W) or (C, H, W) with dims='2d'",
        }[self.dims]
        raise ValueError(
            f"resnet needs inputs of shape {needs}, got input_shape {tuple(input_shape)}; "
            f"use dims='auto' (signals (L,), images (H, W)/(C, H, W)), dims='1d' for (C, L) "
            f"signals, or 'mlp' for other shapes"
        )

    def check_input_shape(self, input_shape: tuple[int, ...]) -> None:
        self.geometry(input_shape)

    def stage_widths(self) -> list[int]:
        """Channels of each stage."""
        return [self.width * 2**i for i in range(self.stages)]

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        dims, in_channels, add_channel = self.geometry(input_shape)
        bn = self.batchnorm
        parts: OrderedDict[str, nn.Module] = OrderedDict()
        parts["prepare"] = AddChannel() if add_channel else nn.Identity()
        parts["stem"] = nn.Sequential(
            _CONV[dims](in_channels, self.width, 3, padding=1, bias=not bn),
            _norm(dims, self.width, bn),
            nn.ReLU(),
        )
        previous = self.width
        for i, channels in enumerate(self.stage_widths()):
            blocks = []
            for j in range(self.blocks):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(
                    BasicBlock(
                        previous, channels, stride=stride, dims=dims, skip=self.skip, batchnorm=bn
                    )
                )
                previous = channels
            parts[f"stage{i + 1}"] = nn.Sequential(*blocks)
        parts["pool"] = GlobalAvgPool()
        features = nn.Sequential(parts)
        head = nn.Linear(previous, num_outputs)
        return Network(features, head, input_shape=input_shape, num_outputs=num_outputs)

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        """Independent of the spatial size: convs, BatchNorm affine terms and the head."""
        shape = normalize_input_shape(input_shape)
        dims, in_channels, _ = self.geometry(shape)

        def conv(c_in: int, c_out: int, k: int) -> int:
            extra = 2 * c_out if self.batchnorm else c_out  # BN weight+bias, or conv bias
            return c_in * c_out * k**dims + extra

        total = conv(in_channels, self.width, 3)
        previous = self.width
        for i, channels in enumerate(self.stage_widths()):
            for j in range(self.blocks):
                stride = 2 if i > 0 and j == 0 else 1
                total += conv(previous, channels, 3) + conv(channels, channels, 3)
                if self.skip and (stride != 1 or previous != channels):
                    total += conv(previous, channels, 1)
                previous = channels
        return total + previous * num_outputs + num_outputs


__all__ = ["DIMS", "BasicBlock", "Dims", "ResNetSpec"]
