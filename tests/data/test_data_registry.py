"""Registry, spec conventions and option validation of occamlab.data."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Literal, get_args, get_origin

import pytest
import torch

import occamlab.data as D
from occamlab.data import DATASETS, Data, DatasetSpec, Split, data_spec, load_data
from occamlab.specs import field_types, spec_hash, spec_to_dict

EXPECTED_NAMES = [
    "cifar10",
    "colored_digits",
    "colored_mnist1d",
    "digits",
    "gaussian_mixture",
    "mnist1d",
    "mnist_idx",
    "modular",
    "npz",
    "parity",
    "product",
    "teacher",
    "tsipras",
    "twelve_bit",
    "univariate",
]
CORRUPTION_FIELDS = ["seed", "label_noise", "inputs", "corruption_seed"]


def _is_flat_scalar(tp: object) -> bool:
    if tp in (int, float, str, bool):
        return True
    origin = get_origin(tp)
    if origin is Literal:
        return all(isinstance(a, int | float | str | bool) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return len(args) == 1 and len(get_args(tp)) == 2 and _is_flat_scalar(args[0])
    return False


def test_registry_lists_all_datasets():
    assert DATASETS.kind == "dataset"
    assert DATASETS.names() == EXPECTED_NAMES
    for name in EXPECTED_NAMES:
        assert name in DATASETS
        assert DATASETS.get(name).name == name


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_spec_conventions(name):
    cls = DATASETS.get(name)
    assert issubclass(cls, DatasetSpec)
    assert dataclasses.is_dataclass(cls)
    spec = cls()  # every field has a default
    hints = field_types(cls)
    assert list(hints)[:4] == CORRUPTION_FIELDS
    for field, tp in hints.items():
        assert _is_flat_scalar(tp), f"{name}.{field} has non-flat type {tp!r}"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        cls(0)  # options are keyword-only
    assert hash(spec) == hash(cls())
    assert spec_to_dict(spec)["name"] == name
    assert spec_hash(spec) == spec_hash(data_spec(name))
    assert spec.label_noise == 0.0 and spec.inputs == "clean" and spec.corruption_seed == 0


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match="unknown dataset 'mnist2d'") as info:
        data_spec("mnist2d")
    for name in EXPECTED_NAMES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="valid datasets"):
        load_data("nope")


def test_unknown_option_lists_valid_options():
    with pytest.raises(ValueError, match="has no option 'width'") as info:
        data_spec("parity", width=3)
    assert "num_train" in str(info.value) and "label_noise" in str(info.value)


def test_cli_style_strings_are_coerced():
    spec = data_spec("parity", n="12", k="2", label_noise="0.25", inputs="shuffled_pixels")
    assert spec == D.ParitySpec(n=12, k=2, label_noise=0.25, inputs="shuffled_pixels")
    assert data_spec("digits", flatten="false").flatten is False
    assert data_spec("npz", num_classes="none").num_classes is None
    with pytest.raises(ValueError, match="must be one of"):
        data_spec("digits", inputs="upside_down")


def test_load_data_accepts_name_and_rejects_other_objects():
    data = load_data("gaussian_mixture")
    assert isinstance(data, Data) and isinstance(data.train, Split)
    with pytest.raises(TypeError, match="dataset spec"):
        load_data(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("parity", {"label_noise": 1.5}, r"label_noise .* \[0, 1\]"),
        ("parity", {"label_noise": -0.1}, r"label_noise .* \[0, 1\]"),
        ("parity", {"k": 31}, "k=31 exceeds the number of bits n=30"),
        ("parity", {"num_train": 0}, "num_train must be positive"),
        ("parity", {"seed": -1}, "non-negative"),
        ("parity", {"corruption_seed": -3}, "non-negative"),
        ("teacher", {"label_noise": 0.1}, "classification only"),
        ("product", {"label_noise": 0.1}, "classification only"),
        ("npz", {"task": "regression", "label_noise": 0.1}, "classification only"),
        ("teacher", {"noise": -1.0}, "noise"),
        ("teacher", {"teacher_depth": -1}, "teacher_depth"),
        ("teacher", {"input_dim": 0}, "input_dim must be positive"),
        ("product", {"degree": 9}, "degree=9 exceeds input_dim=8"),
        ("product", {"degree": 0}, "degree must be positive"),
        ("modular", {"p": 1}, "at least 2"),
        ("modular", {"op": "div", "p": 12}, "12 is not prime"),
        ("modular", {"train_fraction": 1.0}, "strictly between 0 and 1"),
        ("gaussian_mixture", {"num_classes": 1}, "at least 2"),
        ("gaussian_mixture", {"separation": -1.0}, "separation"),
        ("gaussian_mixture", {"num_test": -5}, "num_test must be positive"),
        ("digits", {"test_fraction": 0.0}, "strictly between 0 and 1"),
        ("mnist1d", {"num_test": 0}, "num_test must be positive"),
        ("npz", {"task": "regression", "num_classes": 3}, "classification only"),
    ],
)
def test_invalid_options_are_explained(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        data_spec(name, **overrides)


def test_split_and_data_contract():
    with pytest.raises(ValueError, match="disagree"):
        Split(torch.zeros(3, 2), torch.zeros(2, dtype=torch.int64))


def test_sized_data_spec_passes_only_the_sizes_a_data_set_takes():
    from occamlab.data import data_spec, sized_data_spec

    sizes = {"num_train": 300, "num_test": 200}
    assert sized_data_spec("mnist1d", sizes, label_noise=0.2) == data_spec(
        "mnist1d", num_train=300, num_test=200, label_noise=0.2
    )
    assert sized_data_spec("digits", sizes, label_noise=0.2) == data_spec("digits", label_noise=0.2)
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        sized_data_spec("nope", sizes)
    with pytest.raises(ValueError, match="no option 'width'"):
        sized_data_spec("digits", sizes, width=3)
