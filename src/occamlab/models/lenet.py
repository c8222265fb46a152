"""LeNet-300-100 (LeCun et al., 1998): ``"lenet300"``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from occamlab.models.init import InitScheme
from occamlab.models.mlp import fully_connected, fully_connected_num_parameters
from occamlab.models.registry import MODELS, ModelSpec, check_init, flat_size

LENET300_HIDDEN: tuple[int, int] = (300, 100)


@MODELS.register
@dataclass(frozen=True)
class LeNet300Spec(ModelSpec):
    """LeNet-300-100: flatten, ``Linear(d, 300)``, ReLU, ``Linear(300, 100)``, ReLU, head.

    The original is 784-300-100-10 on MNIST (266,610 parameters); here the input is any shape
    (flattened to ``d`` features) and the head has ``num_outputs`` units.

    Attributes:
        init: weight initialization scheme (see ``occamlab.models.init.InitScheme``).
    """

    name: ClassVar[str] = "lenet300"

    init: InitScheme = "default"

    def __post_init__(self) -> None:
        check_init(self.name, self.init)

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        return fully_connected(
            flat_size(input_shape), LENET300_HIDDEN, num_outputs, input_shape=input_shape
        )

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        """``d*300 + 300 + 300*100 + 100 + 100*k + k``."""
        return fully_connected_num_parameters(flat_size(input_shape), LENET300_HIDDEN, num_outputs)


__all__ = ["LENET300_HIDDEN", "LeNet300Spec"]
