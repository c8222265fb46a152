"""The distribution of Tsipras et al. 2019 ("Robustness may be at odds with accuracy", §2.1):
one robust feature that agrees with the label with probability p, and d weak Gaussian ones."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import ClassVar

import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_positive
from occamlab.data.rng import torch_generator


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class TsiprasSpec(DatasetSpec):
    """``y`` uniform on ±1, ``x₁ = y`` with probability ``p`` (else ``−y``), and
    ``x₂ … x_{d+1} ~ N(η y, 1)`` independently, with ``η = eta_scale / √d``.

    The label is stored as a class index: class 1 is ``y = +1``, class 0 is ``y = −1``. The
    averaging classifier ``sign(mean(x₂ … x_{d+1}))`` has accuracy ``Φ(η √d) = Φ(eta_scale)``
    (above 99% for ``eta_scale ≥ 3``), yet an ℓ∞ adversary with ``ε = 2η`` flips every Gaussian
    feature's mean; only ``x₁`` is robust (closed forms in
    :mod:`occamlab.probes.robustness.tsipras`).

    Attributes:
        p: probability that the robust feature ``x₁`` agrees with the label (in (0.5, 1)).
        dim: number d of weakly correlated Gaussian features.
        eta_scale: ``η √d``, the Gaussian features' total signal.
        num_train: number of training examples.
        num_test: number of test examples.
    """

    name: ClassVar[str] = "tsipras"

    p: float = 0.95
    dim: int = 100
    eta_scale: float = 3.0
    num_train: int = 2000
    num_test: int = 10000

    @property
    def eta(self) -> float:
        """The mean ``η = eta_scale / √d`` of a Gaussian feature given ``y = +1``."""
        return self.eta_scale / math.sqrt(self.dim)

    def validate(self) -> None:
        super().validate()
        if not 0.5 < self.p < 1.0:
            raise ValueError(f"p must lie in (0.5, 1) (x₁ agrees with y w.p. p), got {self.p}")
        if not self.eta_scale > 0:
            raise ValueError(f"eta_scale must be positive, got {self.eta_scale}")
        for field in ("dim", "num_train", "num_test"):
            check_positive(field, getattr(self, field))

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Sample both splits; ``root`` and ``cache_dir`` are unused."""
        splits = [
            tsipras_sample(
                size, p=self.p, dim=self.dim, eta=self.eta, generator=torch_generator(self.seed, s)
            )
            for s, size in (("train", self.num_train), ("test", self.num_test))
        ]
        return Data(
            name=self.name, train=splits[0], test=splits[1], task="classification", num_outputs=2
        )


def tsipras_sample(n: int, *, p: float, dim: int, eta: float, generator: torch.Generator) -> Split:
    """``n`` examples of the distribution (class index 1 for ``y = +1``), in float32."""
    y = torch.randint(0, 2, (n,), generator=generator)
    sign = (2 * y - 1).to(torch.float32)
    agree = torch.rand(n, generator=generator) < p
    robust = torch.where(agree, sign, -sign)
    weak = eta * sign[:, None] + torch.randn(n, dim, generator=generator)
    return Split(torch.cat([robust[:, None], weak], dim=1), y)


__all__ = ["TsiprasSpec", "tsipras_sample"]
