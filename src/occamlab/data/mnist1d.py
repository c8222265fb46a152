"""MNIST-1D (Greydanus 2020): 40-dimensional 1-D "digit" signals in 10 classes.

Generated with the ``mnist1d`` package (``mnist1d.data.make_dataset``); the default spec
reproduces the package's standard frozen dataset ``make_dataset(get_dataset_args())``
(4,000 train + 1,000 test examples, seed 42).
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from occamlab.data.arrays import float_tensor, long_tensor
from occamlab.data.base import Data, Split
from occamlab.data.cache import load_arrays, resolve_cache_dir, save_arrays
from occamlab.data.registry import DATASETS, DatasetSpec, check_positive
from occamlab.specs import spec_hash

#: ``get_dataset_args().seed`` of the mnist1d package (checked by the tests).
MNIST1D_DEFAULT_SEED = 42
#: Datasets with more samples than this are cached on disk (generation runs ~0.15 ms/sample, so
#: the standard 5,000 samples take ~0.8 s; sweeps load the same dataset for every member).
CACHE_MIN_SAMPLES = 1_000
_ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
_NUM_CLASSES = 10


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class Mnist1DSpec(DatasetSpec):
    """MNIST-1D with ``num_train`` + ``num_test`` examples.

    The package draws ``N / 10`` examples per class (``N`` = ``num_samples``), shuffles them
    and splits at ``int(N * train_split)``. We set ``N = 10 ceil((num_train + num_test) / 10)``
    and keep the package's ``train_split = 0.8`` whenever it gives exactly ``num_train``
    training examples (the default 4000/1000 case); otherwise ``train_split`` is set so the
    split index is ``num_train``. Surplus examples (at most 9, when the total is not a multiple
    of 10) are dropped from the end of the test split. Inputs are standardized by the package
    (global mean 0, std 1 over all ``N`` examples).

    Attributes:
        seed: the package's ``args.seed`` (default 42, the standard dataset).
        num_train: number of training examples.
        num_test: number of test examples.
    """

    name: ClassVar[str] = "mnist1d"

    seed: int = MNIST1D_DEFAULT_SEED
    num_train: int = 4000
    num_test: int = 1000

    def validate(self) -> None:
        super().validate()
        check_positive("num_train", self.num_train)
        check_positive("num_test", self.num_test)

    def generation_args(self) -> dict[str, Any]:
        """The full ``mnist1d`` argument dict used to generate this dataset (without ``url``)."""
        from mnist1d.data import get_dataset_args

        args = dict(get_dataset_args(as_dict=True))
        args.pop("url", None)
        total = self.num_train + self.num_test
        num_samples = _NUM_CLASSES * math.ceil(total / _NUM_CLASSES)
        args["num_samples"] = num_samples
        args["seed"] = self.seed
        if int(num_samples * args["train_split"]) != self.num_train:
            args["train_split"] = (self.num_train + 0.5) / num_samples
        if int(num_samples * args["train_split"]) != self.num_train:  # pragma: no cover
            raise AssertionError("could not choose a train_split giving num_train examples")
        return args

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Generate (or read from the cache) the clean dataset; ``root`` is unused.

        Datasets with more than ``CACHE_MIN_SAMPLES`` samples are cached in
        ``cache_dir/mnist1d/<hash>.npz`` (``cache_dir`` defaults to ``$OCCAMLAB_CACHE`` or
        ``~/.cache/occamlab``), keyed by a hash of all generation arguments.
        """
        args = self.generation_args()
        if args["num_samples"] > CACHE_MIN_SAMPLES:
            path = mnist1d_cache_path(args, cache_dir=cache_dir)
            arrays = load_arrays(path, _ARRAY_KEYS)
            if arrays is None or not self._consistent(arrays):
                arrays = self._generate(args)
                save_arrays(path, arrays)
        else:
            arrays = self._generate(args)
        return Data(
            name=self.name,
            train=Split(float_tensor(arrays["x_train"]), long_tensor(arrays["y_train"])),
            test=Split(float_tensor(arrays["x_test"]), long_tensor(arrays["y_test"])),
            task="classification",
            num_outputs=_NUM_CLASSES,
        )

    def _consistent(self, arrays: dict[str, np.ndarray]) -> bool:
        return (
            arrays["x_train"].shape[0] == arrays["y_train"].shape[0] == self.num_train
            and arrays["x_test"].shape[0] == arrays["y_test"].shape[0] == self.num_test
        )

    def _generate(self, args: dict[str, Any]) -> dict[str, np.ndarray]:
        dataset = generate_mnist1d(args)
        return {
            "x_train": dataset["x"],
            "y_train": dataset["y"],
            "x_test": dataset["x_test"][: self.num_test],
            "y_test": dataset["y_test"][: self.num_test],
        }


def generate_mnist1d(args: dict[str, Any]) -> dict[str, Any]:
    """Call ``mnist1d.data.make_dataset`` without leaking its global seeding.

    ``make_dataset`` seeds (and draws from) NumPy's and Python's global RNGs; their states are
    saved before and restored after, so callers' random streams are unaffected. (Not
    thread-safe with other users of the global RNGs.)
    """
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    # Saving/restoring the legacy global state is the point here, not a use of it.
    numpy_state = np.random.get_state()  # noqa: NPY002
    python_state = random.getstate()
    try:
        return make_dataset(ObjectView(dict(args)))
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        random.setstate(python_state)


def mnist1d_cache_path(
    args: dict[str, Any], *, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Cache file for the generation arguments ``args`` (hash includes the package version)."""
    try:
        version = importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        version = "unknown"
    key = spec_hash({"dataset": "mnist1d", "format": 1, "mnist1d": version, "args": args})
    return resolve_cache_dir(cache_dir) / "mnist1d" / f"{key}.npz"


__all__ = [
    "CACHE_MIN_SAMPLES",
    "MNIST1D_DEFAULT_SEED",
    "Mnist1DSpec",
    "generate_mnist1d",
    "mnist1d_cache_path",
]
