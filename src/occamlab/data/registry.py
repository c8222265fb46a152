"""The dataset registry and the base spec every dataset shares (seed plus corruption options)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar, Literal

from occamlab.data.base import Data
from occamlab.specs import Registry

InputCorruption = Literal["clean", "shuffled_pixels", "random_pixels", "gaussian"]
INPUT_CORRUPTIONS: tuple[str, ...] = ("clean", "shuffled_pixels", "random_pixels", "gaussian")


@dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """Fields shared by all datasets: the data seed and the corruptions of Zhang et al. (2017).

    Subclasses add their own fields (all with defaults), set ``name``, implement :meth:`load`
    and extend :meth:`validate`. Corruptions are applied by :func:`occamlab.data.load_data`,
    not by :meth:`load`, which returns the clean dataset.

    Attributes:
        seed: seed of the data generation and/or train/test split.
        label_noise: probability ``p`` that a training label is replaced by a class drawn
            uniformly from all ``C`` classes, so a fraction ``p (1 - 1/C)`` of training labels
            end up wrong in expectation (Zhang et al. 2017, arXiv:1611.03530). Test labels stay
            clean. Classification only.
        inputs: ``"clean"``; ``"shuffled_pixels"`` (one fixed permutation of the flattened input
            features applied to every train and test example); ``"random_pixels"`` (an
            independent permutation per example); or ``"gaussian"`` (inputs replaced by
            ``N(mu_j, sigma_j^2)`` noise, with ``mu_j, sigma_j`` the per-feature mean and std of
            the clean training inputs). Applied to both splits.
        corruption_seed: seed of the label noise and input corruption.
    """

    name: ClassVar[str]

    seed: int = 0
    label_noise: float = 0.0
    inputs: InputCorruption = "clean"
    corruption_seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def is_regression(self) -> bool:
        """Whether targets are real vectors (regression) rather than class indices."""
        return False

    def validate(self) -> None:
        """Raise ``ValueError`` with a fix-it message if the options are inconsistent."""
        check_seed("seed", self.seed)
        check_seed("corruption_seed", self.corruption_seed)
        if not 0.0 <= self.label_noise <= 1.0:
            raise ValueError(
                f"label_noise is a probability and must lie in [0, 1], got {self.label_noise}"
            )
        if self.label_noise > 0 and self.is_regression():
            raise ValueError(
                f"label_noise applies to classification only, but {self.name!r} is a regression "
                "dataset; set label_noise=0 (for noisy regression targets use the dataset's own "
                "target-noise option if it has one)"
            )
        if self.inputs not in INPUT_CORRUPTIONS:
            raise ValueError(
                f"inputs must be one of {list(INPUT_CORRUPTIONS)}, got {self.inputs!r}"
            )

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Build or read the clean dataset (no corruptions)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement load()")


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def check_seed(field: str, value: int) -> None:
    """Seeds must be non-negative integers."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be a non-negative integer, got {value!r}")


def check_positive(field: str, value: int | float) -> None:
    """Sizes and dimensions must be ``> 0``."""
    if not value > 0:
        raise ValueError(f"{field} must be positive, got {value!r}")


def check_open_fraction(field: str, value: float) -> None:
    """Split fractions must lie strictly between 0 and 1."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"{field} must lie strictly between 0 and 1, got {value!r}")


__all__ = [
    "DATASETS",
    "INPUT_CORRUPTIONS",
    "DatasetSpec",
    "InputCorruption",
    "check_open_fraction",
    "check_positive",
    "check_seed",
]
