"""Isotropic Gaussian mixture classification with class means on a sphere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_positive
from occamlab.data.rng import torch_generator


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class GaussianMixtureSpec(DatasetSpec):
    """``x = mu_y + eps`` with ``eps ~ N(0, I_dim)`` and class means on a sphere.

    Each mean is ``mu_c = separation * g_c / ||g_c||`` with ``g_c ~ N(0, I_dim)``, i.e. drawn
    uniformly on the sphere of radius ``separation`` (so ``||mu_c|| = separation``; in high
    dimension two means are ``~ sqrt(2) separation`` apart). Labels are balanced: example ``i``
    of a split (before a seeded shuffle) has class ``i mod num_classes``.

    Attributes:
        num_classes: number of classes (``>= 2``).
        dim: input dimension.
        separation: radius of the sphere holding the means (``>= 0``).
        num_train: number of training examples.
        num_test: number of test examples.
    """

    name: ClassVar[str] = "gaussian_mixture"

    num_classes: int = 4
    dim: int = 10
    separation: float = 3.0
    num_train: int = 1000
    num_test: int = 1000

    def validate(self) -> None:
        super().validate()
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {self.num_classes}")
        for field in ("dim", "num_train", "num_test"):
            check_positive(field, getattr(self, field))
        if self.separation < 0:
            raise ValueError(f"separation is a radius and must be >= 0, got {self.separation}")

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Sample the means and both splits; ``root`` and ``cache_dir`` are unused."""
        means = mixture_means(self)
        splits = []
        for split, size in (("train", self.num_train), ("test", self.num_test)):
            gen = torch_generator(self.seed, f"{split}_samples")
            y = torch.arange(size, dtype=torch.int64) % self.num_classes
            y = y[torch.randperm(size, generator=gen)]
            x = means[y] + torch.randn(size, self.dim, generator=gen)
            splits.append(Split(x, y))
        return Data(
            name=self.name,
            train=splits[0],
            test=splits[1],
            task="classification",
            num_outputs=self.num_classes,
        )


def mixture_means(spec: GaussianMixtureSpec) -> torch.Tensor:
    """Class means of shape ``(num_classes, dim)``, each of norm ``separation``."""
    g = torch.randn(spec.num_classes, spec.dim, generator=torch_generator(spec.seed, "means"))
    return spec.separation * g / g.norm(dim=1, keepdim=True)


__all__ = ["GaussianMixtureSpec", "mixture_means"]
