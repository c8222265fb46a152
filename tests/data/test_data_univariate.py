"""The univariate data set: the sawtooth, sine and square on [0, 1]."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from occamlab.data import data_spec, load_data
from occamlab.data.univariate import sawtooth, tent, univariate


def test_tent_and_sawtooth_on_dyadic_points():
    x = np.arange(17) / 16
    assert np.array_equal(tent(x), 1 - np.abs(2 * x - 1))
    # g_k is 0 at even and 1 at odd multiples of 2^-k, linear in between
    for k in range(1, 5):
        grid = np.arange(2**k + 1) / 2**k
        assert np.array_equal(sawtooth(grid, k), np.arange(2**k + 1) % 2)
        fine = np.arange(2 ** (k + 3) + 1) / 2 ** (k + 3)
        assert np.allclose(sawtooth(fine, k), np.interp(fine, grid, np.arange(2**k + 1) % 2))
    assert np.array_equal(sawtooth(x, 0), x)
    with pytest.raises(ValueError, match="k >= 0"):
        sawtooth(x, -1)


def test_torch_and_numpy_agree():
    x = np.random.default_rng(0).uniform(size=50)
    for function, order in (("sawtooth", 3), ("sine", 2), ("square", 1)):
        a = univariate(x, function, order)
        b = univariate(torch.from_numpy(x), function, order).numpy()
        assert np.allclose(a, b, atol=1e-15)
    assert np.allclose(univariate(x, "sine", 1), np.sin(np.pi * x))


def test_splits_shapes_targets_and_seeds():
    spec = data_spec("univariate", function="sawtooth", order=3, num_train=40, num_test=30)
    data = load_data(spec)
    assert data.task == "regression" and data.num_outputs == 1 and data.input_shape == (1,)
    assert (len(data.train), len(data.test)) == (40, 30)
    for split in (data.train, data.test):
        assert split.x.dtype == torch.float32 and split.y.shape == (len(split), 1)
        assert float(split.x.min()) >= 0 and float(split.x.max()) <= 1
        expected = sawtooth(split.x.double(), 3).float()
        assert torch.allclose(split.y, expected, atol=1e-6)
    same = load_data(spec)
    assert torch.equal(same.train.x, data.train.x) and torch.equal(same.test.y, data.test.y)
    other = load_data(data_spec("univariate", seed=1, num_train=40, num_test=30))
    assert not torch.equal(other.train.x, data.train.x)
    # the target changes the labels only: the inputs are shared (ensembles need that)
    sine = load_data(data_spec("univariate", function="sine", num_train=40, num_test=30))
    assert torch.equal(sine.train.x, data.train.x)


def test_validation_messages():
    with pytest.raises(ValueError, match="'function' must be one of"):
        data_spec("univariate", function="cosine")
    with pytest.raises(ValueError, match="order must be an integer >= 0"):
        data_spec("univariate", order=-1)
