"""MNIST-1D: reproduces the package's standard dataset, sizes, seeding, global RNG, cache."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from mnist1d.data import get_dataset_args, make_dataset

import occamlab.data.mnist1d as m1d
from occamlab.data import Mnist1DSpec, data_spec, load_data


def _global_states():
    return np.random.get_state(), random.getstate()  # noqa: NPY002


def _same_numpy_state(a, b) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])


def test_default_equals_the_standard_frozen_dataset():
    assert Mnist1DSpec().seed == get_dataset_args().seed
    before_np, before_py = _global_states()
    data = load_data(data_spec("mnist1d"))
    after_np, after_py = _global_states()
    assert _same_numpy_state(before_np, after_np), "loading changed NumPy's global RNG state"
    assert before_py == after_py, "loading changed Python's global RNG state"

    ref = make_dataset(get_dataset_args())
    assert data.name == "mnist1d" and data.task == "classification" and data.num_outputs == 10
    assert data.input_shape == (40,)
    assert data.train.x.dtype == torch.float32 and data.train.y.dtype == torch.int64
    assert len(data.train) == 4000 and len(data.test) == 1000
    assert torch.equal(data.train.x, torch.from_numpy(ref["x"]).to(torch.float32))
    assert torch.equal(data.test.x, torch.from_numpy(ref["x_test"]).to(torch.float32))
    assert torch.equal(data.train.y, torch.from_numpy(ref["y"]).to(torch.int64))
    assert torch.equal(data.test.y, torch.from_numpy(ref["y_test"]).to(torch.int64))


@pytest.mark.parametrize(("num_train", "num_test"), [(123, 45), (300, 100), (800, 200)])
def test_sizes_are_exact(num_train, num_test):
    spec = data_spec("mnist1d", num_train=num_train, num_test=num_test)
    data = load_data(spec)
    assert len(data.train) == num_train and len(data.test) == num_test
    assert sorted(torch.unique(data.train.y).tolist()) == list(range(10))
    args = spec.generation_args()
    assert args["num_samples"] % 10 == 0 and args["num_samples"] >= num_train + num_test
    if num_train == 800:  # the package's own 80/20 split is kept where it fits
        assert args["train_split"] == get_dataset_args().train_split


def test_seeded_and_deterministic():
    a = load_data(data_spec("mnist1d", num_train=200, num_test=50, seed=1))
    b = load_data(data_spec("mnist1d", num_train=200, num_test=50, seed=1))
    c = load_data(data_spec("mnist1d", num_train=200, num_test=50, seed=2))
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.x, c.train.x)


def test_large_datasets_are_cached_as_npz(tmp_path, monkeypatch):
    monkeypatch.setattr(m1d, "CACHE_MIN_SAMPLES", 100)
    spec = data_spec("mnist1d", num_train=150, num_test=50, seed=7)
    first = load_data(spec, cache_dir=tmp_path)
    files = list((tmp_path / "mnist1d").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"  # no temp files left behind
    assert files[0] == m1d.mnist1d_cache_path(spec.generation_args(), cache_dir=tmp_path)
    with np.load(files[0], allow_pickle=False) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]

    def _no_generation(args):
        raise AssertionError("the cached dataset should have been used")

    monkeypatch.setattr(m1d, "generate_mnist1d", _no_generation)
    second = load_data(spec, cache_dir=tmp_path)
    assert torch.equal(first.train.x, second.train.x) and torch.equal(first.test.y, second.test.y)
    # the key covers every generation argument
    other = data_spec("mnist1d", num_train=150, num_test=50, seed=8).generation_args()
    assert m1d.mnist1d_cache_path(other, cache_dir=tmp_path) != files[0]


def test_cache_dir_defaults_to_env_and_survives_corruption(tmp_path, monkeypatch):
    monkeypatch.setattr(m1d, "CACHE_MIN_SAMPLES", 100)
    monkeypatch.setenv("OCCAMLAB_CACHE", str(tmp_path / "env-cache"))
    spec = data_spec("mnist1d", num_train=100, num_test=20)
    path = m1d.mnist1d_cache_path(spec.generation_args())
    assert path.parent == tmp_path / "env-cache" / "mnist1d"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    data = load_data(spec)
    assert len(data.train) == 100
    with np.load(path, allow_pickle=False) as npz:
        assert npz["x_train"].shape == (100, 40)


def test_small_datasets_are_not_cached(tmp_path):
    load_data(data_spec("mnist1d", num_train=80, num_test=20), cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())
