"""Datasets as typed specs: ``load_data(data_spec("mnist1d", label_noise=0.2))``.

Every dataset is a frozen spec dataclass registered in :data:`DATASETS`. Its ``load`` method
returns the clean :class:`Data`; :func:`load_data` then applies the corruptions shared by all
specs (label noise, shuffled/random/Gaussian inputs; Zhang et al. 2017).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from occamlab.data.base import Data, Split, Task
from occamlab.data.cifar import Cifar10Spec
from occamlab.data.colored import ColoredDigitsSpec as ColoredDigitsSpec
from occamlab.data.corruptions import apply_corruptions
from occamlab.data.digits import DigitsSpec
from occamlab.data.holdout import split_train
from occamlab.data.idx import MnistIdxSpec
from occamlab.data.ising import sample_ising
from occamlab.data.mixture import GaussianMixtureSpec
from occamlab.data.mnist1d import Mnist1DSpec
from occamlab.data.modular import ModularSpec
from occamlab.data.npzfile import NpzSpec
from occamlab.data.parity import ParitySpec, parity_support
from occamlab.data.product import ProductSpec
from occamlab.data.registry import DATASETS, DatasetSpec
from occamlab.data.teacher import TeacherSpec, teacher_forward, teacher_weights
from occamlab.data.tsipras import TsiprasSpec
from occamlab.data.twelve_bit import TwelveBitSpec
from occamlab.data.univariate import UnivariateSpec


def data_spec(name: str, **overrides: Any) -> DatasetSpec:
    """The spec registered as ``name`` with ``overrides`` coerced and validated.

    Unknown names raise ``ValueError`` listing the valid ones; unknown options list the
    dataset's valid options.
    """
    return DATASETS.spec(name, **overrides)


def sized_data_spec(name: str, sizes: Mapping[str, float], **overrides: Any) -> DatasetSpec:
    """``data_spec(name, **overrides)`` with those of ``sizes`` (``num_train``, ``num_test``,
    ``test_fraction``) that the data set takes: a generated set (MNIST-1D) draws that many
    examples, a fixed one (digits) keeps its own split or holds out its own fraction."""
    taken = DATASETS.get(name).__dataclass_fields__
    return data_spec(name, **{k: v for k, v in sizes.items() if k in taken}, **overrides)


def load_data(
    spec: DatasetSpec | str,
    *,
    root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Data:
    """Load the dataset described by ``spec`` and apply its corruptions.

    Args:
        spec: a dataset spec, or a registry name (then with default options).
        root: folder (or file, for ``"npz"``) holding the files of file-based datasets.
        cache_dir: where generated datasets may be cached (default ``$OCCAMLAB_CACHE`` or
            ``~/.cache/occamlab``).

    Returns:
        The :class:`Data`; the same spec always gives bitwise identical tensors.
    """
    if isinstance(spec, str):
        spec = data_spec(spec)
    if not isinstance(spec, DatasetSpec):
        raise TypeError(
            "load_data expects a dataset spec (see data_spec / DATASETS), "
            f"got {type(spec).__name__}"
        )
    data = spec.load(root=root, cache_dir=cache_dir)
    return apply_corruptions(
        data,
        label_noise=spec.label_noise,
        inputs=spec.inputs,
        corruption_seed=spec.corruption_seed,
    )


__all__ = [
    "DATASETS",
    "Cifar10Spec",
    "Data",
    "DatasetSpec",
    "DigitsSpec",
    "GaussianMixtureSpec",
    "Mnist1DSpec",
    "MnistIdxSpec",
    "ModularSpec",
    "NpzSpec",
    "ParitySpec",
    "ProductSpec",
    "Split",
    "Task",
    "TeacherSpec",
    "TsiprasSpec",
    "TwelveBitSpec",
    "UnivariateSpec",
    "data_spec",
    "sized_data_spec",
    "load_data",
    "parity_support",
    "sample_ising",
    "split_train",
    "teacher_forward",
    "teacher_weights",
]
