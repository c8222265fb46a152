"""Coloured digits (Arjovsky et al. 2019): the construction's probabilities, counted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from occamlab.data import data_spec, load_data
from occamlab.data.colored import colorize, environments


def _within(count: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    """The count of a Binomial(n, p) lies within ``sigmas`` standard deviations of n p."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_colorize_rates_by_counting():
    n = 200_000
    rng = np.random.default_rng(3)
    digits = rng.integers(0, 10, n)
    images = rng.random((n, 5))
    e = np.where(np.arange(n) % 2 == 0, 0.2, 0.1)
    x, y, color = colorize(
        images, digits, color_flip=e, label_flip=0.25, rng=np.random.default_rng(0)
    )
    shape = (digits < 5).astype(np.int64)
    even, odd = np.arange(n) % 2 == 0, np.arange(n) % 2 == 1
    # label noise 0.25; colour agrees with the noisy label 1 − e in each environment
    assert _within(int((y != shape).sum()), n, 0.25)
    assert _within(int((color == y)[even].sum()), n // 2, 0.8)
    assert _within(int((color == y)[odd].sum()), n // 2, 0.9)
    # with the clean label: 0.75 (1 − e) + 0.25 e
    assert _within(int((color == shape)[odd].sum()), n // 2, 0.75 * 0.9 + 0.25 * 0.1)
    # the colour flips are drawn independently of the label flips
    both = int(((y != shape) & (color != y))[odd].sum())
    assert _within(both, n // 2, 0.25 * 0.1)
    # the digit sits in channel `color`, the other channel is dark
    assert np.array_equal(x[np.arange(n), color], images)
    assert not x[np.arange(n), 1 - color].any()


def test_colorize_without_flips_and_with_certain_flips_is_exact():
    digits = np.arange(10)
    images = np.ones((10, 3))
    _, y, color = colorize(
        images, digits, color_flip=0.0, label_flip=0.0, rng=np.random.default_rng(0)
    )
    assert y.tolist() == [1] * 5 + [0] * 5 and color.tolist() == y.tolist()
    _, y, color = colorize(
        images, digits, color_flip=1.0, label_flip=1.0, rng=np.random.default_rng(0)
    )
    assert y.tolist() == [0] * 5 + [1] * 5 and color.tolist() == [1] * 5 + [0] * 5
    grey, _, _ = colorize(
        images, digits, color_flip=0.5, label_flip=0.5, rng=np.random.default_rng(0), grayscale=True
    )
    assert grey.shape == (10, 1, 3) and np.array_equal(grey[:, 0], images)


def test_colored_digits_counts_at_a_fixed_seed():
    data = load_data(data_spec("colored_digits", repeats=8, color_seed=0))
    clean = load_data(data_spec("colored_digits", repeats=8, color_seed=0, label_flip=0.0))
    assert data.input_shape == (128,) and data.num_outputs == 2
    assert (len(data.train), len(data.test)) == (8 * 1438, 359)
    env = environments(len(data.train))
    color = data.train.x.reshape(-1, 2, 64).sum(dim=2).argmax(dim=1)
    test_color = data.test.x.reshape(-1, 2, 64).sum(dim=2).argmax(dim=1)
    n = len(data.train) // 2
    agree = color == data.train.y
    assert _within(int(agree[env == 0].sum()), n, 0.8)
    assert _within(int(agree[env == 1].sum()), n, 0.9)
    assert _within(int((test_color == data.test.y).sum()), len(data.test), 0.1)
    assert _within(int((data.train.y != clean.train.y).sum()), 2 * n, 0.25)
    assert _within(int((data.test.y != clean.test.y).sum()), len(data.test), 0.25)
    # each digit drawn 8 times: the same image in consecutive examples, 4 in each environment
    images = data.train.x.reshape(-1, 2, 64).sum(dim=1)
    assert torch.equal(images[0::8], images[7::8])
    assert environments(8).tolist() == [0, 1] * 4


def test_grayscale_is_the_same_draw_without_the_colour():
    coloured = load_data(data_spec("colored_digits", color_seed=4))
    grey = load_data(data_spec("colored_digits", color_seed=4, grayscale=True))
    assert grey.input_shape == (64,)
    assert torch.equal(grey.train.y, coloured.train.y)
    assert torch.equal(grey.train.x, coloured.train.x.reshape(-1, 2, 64).sum(dim=1))
    assert torch.equal(grey.test.x, coloured.test.x.reshape(-1, 2, 64).sum(dim=1))


def test_colored_mnist1d_intensities_and_determinism():
    a = load_data(data_spec("colored_mnist1d", num_train=200, num_test=100, color_seed=1))
    b = load_data(data_spec("colored_mnist1d", num_train=200, num_test=100, color_seed=1))
    c = load_data(data_spec("colored_mnist1d", num_train=200, num_test=100, color_seed=2))
    assert a.input_shape == (80,) and torch.equal(a.train.x, b.train.x)
    assert not torch.equal(a.train.y, c.train.y)
    lo = min(float(a.train.x.min()), float(a.test.x.min()))
    hi = max(float(a.train.x.max()), float(a.test.x.max()))
    assert lo == 0.0 and hi == 1.0


def test_validation_messages():
    with pytest.raises(ValueError, match="color_flip_test"):
        data_spec("colored_digits", color_flip_test=1.5)
    with pytest.raises(ValueError, match="repeats"):
        data_spec("colored_digits", repeats=0)
