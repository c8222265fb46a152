"""The 12-bit task of Shwartz-Ziv & Tishby (2017, arXiv 1703.00810), regenerated here.

All ``2¹² = 4096`` binary inputs; bit ``i`` marks vertex ``v_i`` of a regular icosahedron (12
points spread uniformly on the sphere, as in the paper), and the label is a spherically symmetric
function of the marked points: ``y = 1[‖Σ_i x_i v_i‖² > 2.5]``. The function is invariant under
every rotation of the icosahedron, and the threshold splits the inputs almost evenly
(``p(y = 1) = 2036/4096 ≈ 0.497``), like the paper's task (whose exact function was not
published with the text). Train and test are a random split of the 4096 inputs.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import ClassVar

import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_open_fraction
from occamlab.data.rng import torch_generator

THRESHOLD = 2.5


def icosahedron() -> torch.Tensor:
    """The 12 unit vertices of a regular icosahedron ``(12, 3)``, float64."""
    phi = (1 + 5**0.5) / 2
    vertices = []
    for a in (-1.0, 1.0):
        for b in (-1.0, 1.0):
            vertices += [(0.0, a, b * phi), (a, b * phi, 0.0), (b * phi, 0.0, a)]
    v = torch.tensor(vertices, dtype=torch.float64)
    return v / v.norm(dim=1, keepdim=True)


def twelve_bit_inputs_and_labels() -> tuple[torch.Tensor, torch.Tensor]:
    """All 4096 inputs ``(4096, 12)`` in {0, 1} (float32) and their labels (int64)."""
    x = torch.tensor(list(itertools.product((0.0, 1.0), repeat=12)), dtype=torch.float64)
    f = (x @ icosahedron()).pow(2).sum(dim=1)
    return x.float(), (f > THRESHOLD).long()


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class TwelveBitSpec(DatasetSpec):
    """Shwartz-Ziv & Tishby's 12-bit binary classification task (4096 inputs).

    Attributes:
        train_fraction: fraction of the 4096 inputs used for training (the paper: 85%).
    """

    name: ClassVar[str] = "twelve_bit"

    train_fraction: float = 0.85

    def validate(self) -> None:
        super().validate()
        check_open_fraction("train_fraction", self.train_fraction)

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """All inputs, split at random by ``seed``; ``root`` and ``cache_dir`` are unused."""
        x, y = twelve_bit_inputs_and_labels()
        order = torch.randperm(len(x), generator=torch_generator(self.seed, "split"))
        cut = round(self.train_fraction * len(x))
        train, test = order[:cut].sort().values, order[cut:].sort().values
        return Data(
            name=self.name,
            train=Split(x[train], y[train]),
            test=Split(x[test], y[test]),
            task="classification",
            num_outputs=2,
        )


__all__ = ["TwelveBitSpec", "icosahedron", "twelve_bit_inputs_and_labels"]
