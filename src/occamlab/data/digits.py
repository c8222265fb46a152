"""scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes; no download)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from occamlab.data.arrays import float_tensor, long_tensor
from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_open_fraction
from occamlab.data.rng import numpy_generator
from occamlab.data.splits import stratified_split


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class DigitsSpec(DatasetSpec):
    """``sklearn.datasets.load_digits`` with pixels scaled to ``[0, 1]`` (``x = v / 16``).

    The train/test split is stratified by class and seeded by ``seed``
    (see :func:`occamlab.data.splits.stratified_split`).

    Attributes:
        test_fraction: fraction of the 1,797 images held out (rounded to the nearest integer).
        flatten: inputs of shape ``(64,)`` if true, else ``(1, 8, 8)``.
    """

    name: ClassVar[str] = "digits"

    test_fraction: float = 0.2
    flatten: bool = True

    def validate(self) -> None:
        super().validate()
        check_open_fraction("test_fraction", self.test_fraction)

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Read the bundled digits and split them; ``root`` and ``cache_dir`` are unused."""
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images = np.asarray(bunch.data, dtype=np.float64) / 16.0
        labels = np.asarray(bunch.target, dtype=np.int64)
        images = images if self.flatten else images.reshape(-1, 1, 8, 8)
        train, test = stratified_split(
            labels, test_fraction=self.test_fraction, rng=numpy_generator(self.seed, "split")
        )
        return Data(
            name=self.name,
            train=Split(float_tensor(images[train]), long_tensor(labels[train])),
            test=Split(float_tensor(images[test]), long_tensor(labels[test])),
            task="classification",
            num_outputs=10,
        )


__all__ = ["DigitsSpec"]
