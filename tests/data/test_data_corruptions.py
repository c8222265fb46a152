"""Randomization tests of Zhang et al. (2017): label noise and input corruptions."""

from __future__ import annotations

import math

import pytest
import torch

from occamlab.data import Data, Split, data_spec, load_data
from occamlab.data.corruptions import (
    apply_corruptions,
    feature_permutation,
    noisy_labels,
    random_pixels,
    shuffle_pixels,
)


def _recover_permutations(clean: torch.Tensor, corrupted: torch.Tensor) -> torch.Tensor:
    """Per-example permutations ``pi_i`` with ``corrupted[i] = clean[i][pi_i]`` (unique values)."""
    clean, corrupted = clean.reshape(clean.shape[0], -1), corrupted.reshape(clean.shape[0], -1)
    assert torch.equal(clean.sort(dim=1).values, corrupted.sort(dim=1).values)  # same multiset
    sc, sd = clean.argsort(dim=1), corrupted.argsort(dim=1)
    perms = torch.empty_like(sc)
    perms.scatter_(1, sd, sc)
    assert torch.equal(torch.gather(clean, 1, perms), corrupted)
    return perms


def _unique_image_data(n_train: int = 50, n_test: int = 20) -> Data:
    gen = torch.Generator().manual_seed(0)
    x = torch.randperm((n_train + n_test) * 60, generator=gen).to(torch.float32)
    x = x.reshape(n_train + n_test, 3, 4, 5)
    y = torch.arange(n_train + n_test) % 3
    return Data(
        name="toy",
        train=Split(x[:n_train], y[:n_train]),
        test=Split(x[n_train:], y[n_train:]),
        task="classification",
        num_outputs=3,
    )


@pytest.mark.parametrize("p", [0.2, 0.5, 1.0])
def test_label_noise_rate_matches_binomial(p):
    spec = data_spec("gaussian_mixture", num_train=20000, num_test=500, num_classes=4)
    clean = load_data(spec)
    noisy = load_data(data_spec("gaussian_mixture", num_train=20000, num_test=500, label_noise=p))
    assert torch.equal(noisy.train.x, clean.train.x)
    assert torch.equal(noisy.test.x, clean.test.x)
    assert torch.equal(noisy.test.y, clean.test.y)  # test labels untouched
    n, c = len(clean.train), clean.num_outputs
    rate = (noisy.train.y != clean.train.y).double().mean().item()
    expected = p * (1 - 1 / c)
    tolerance = 5 * math.sqrt(expected * (1 - expected) / n)
    assert abs(rate - expected) < tolerance
    assert noisy.train.y.dtype == torch.int64
    assert int(noisy.train.y.min()) >= 0 and int(noisy.train.y.max()) < c
    if p == 1.0:  # fully random labels are uniform over the classes
        counts = torch.bincount(noisy.train.y, minlength=c).double() / n
        assert torch.allclose(counts, torch.full((c,), 1 / c, dtype=torch.float64), atol=0.02)


def test_label_noise_is_seeded():
    a = load_data(data_spec("gaussian_mixture", label_noise=0.3, corruption_seed=1))
    b = load_data(data_spec("gaussian_mixture", label_noise=0.3, corruption_seed=1))
    c = load_data(data_spec("gaussian_mixture", label_noise=0.3, corruption_seed=2))
    assert torch.equal(a.train.y, b.train.y)
    assert not torch.equal(a.train.y, c.train.y)


def test_noisy_labels_function_validates():
    gen = torch.Generator().manual_seed(0)
    y = torch.zeros(10, dtype=torch.int64)
    assert torch.equal(noisy_labels(y, num_classes=3, p=0.0, generator=gen), y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        noisy_labels(y, num_classes=3, p=2.0, generator=gen)


def test_shuffled_pixels_is_one_permutation_for_all_examples():
    data = _unique_image_data()
    out = apply_corruptions(data, inputs="shuffled_pixels", corruption_seed=3)
    assert out.input_shape == (3, 4, 5)
    assert torch.equal(out.train.y, data.train.y) and torch.equal(out.test.y, data.test.y)
    perms = torch.cat(
        [
            _recover_permutations(data.train.x, out.train.x),
            _recover_permutations(data.test.x, out.test.x),
        ]
    )
    assert (perms == perms[0]).all()  # the same permutation for train and test examples
    assert not torch.equal(perms[0], torch.arange(60))
    gen = torch.Generator().manual_seed(0)
    perm = feature_permutation(60, generator=gen)
    assert torch.equal(
        shuffle_pixels(data.train.x, perm).reshape(50, -1)[:, 7],
        data.train.x.reshape(50, -1)[:, perm[7]],
    )
    with pytest.raises(ValueError, match="features"):
        shuffle_pixels(data.train.x, torch.arange(5))


def test_shuffled_pixels_through_load_data():
    clean = load_data(data_spec("gaussian_mixture", num_train=200, num_test=50))
    out = load_data(
        data_spec("gaussian_mixture", num_train=200, num_test=50, inputs="shuffled_pixels")
    )
    perms = _recover_permutations(
        torch.cat([clean.train.x, clean.test.x]), torch.cat([out.train.x, out.test.x])
    )
    assert (perms == perms[0]).all()
    other = load_data(
        data_spec(
            "gaussian_mixture",
            num_train=200,
            num_test=50,
            inputs="shuffled_pixels",
            corruption_seed=1,
        )
    )
    assert not torch.equal(other.train.x, out.train.x)


def test_random_pixels_uses_a_permutation_per_example():
    data = _unique_image_data(n_train=200, n_test=100)
    out = apply_corruptions(data, inputs="random_pixels", corruption_seed=0)
    assert out.input_shape == data.input_shape
    perms = torch.cat(
        [
            _recover_permutations(data.train.x, out.train.x),
            _recover_permutations(data.test.x, out.test.x),
        ]
    )
    assert torch.unique(perms, dim=0).shape[0] == perms.shape[0]  # all different
    again = apply_corruptions(data, inputs="random_pixels", corruption_seed=0)
    assert torch.equal(again.train.x, out.train.x) and torch.equal(again.test.x, out.test.x)
    gen = torch.Generator().manual_seed(1)
    assert random_pixels(data.train.x, generator=gen).shape == data.train.x.shape


def test_gaussian_inputs_match_train_moments():
    clean = load_data(data_spec("gaussian_mixture", num_train=20000, num_test=20000, dim=6))
    out = load_data(
        data_spec("gaussian_mixture", num_train=20000, num_test=20000, dim=6, inputs="gaussian")
    )
    assert torch.equal(out.train.y, clean.train.y)
    mean, std = clean.train.x.mean(0), clean.train.x.std(0)
    for split in (out.train, out.test):
        x = split.x
        assert x.dtype == torch.float32 and x.shape == (20000, 6)
        assert torch.allclose(x.mean(0), mean, atol=float(5 * std.max() / math.sqrt(20000)))
        assert torch.allclose(x.std(0), std, rtol=0.03)
        assert not torch.allclose(x, clean.train.x)
    corr = torch.corrcoef(out.train.x.T) - torch.eye(6)
    assert corr.abs().max() < 0.05  # independent features


def test_gaussian_inputs_keep_image_shape():
    data = _unique_image_data()
    out = apply_corruptions(data, inputs="gaussian", corruption_seed=0)
    assert out.train.x.shape == data.train.x.shape and out.test.x.shape == data.test.x.shape


def test_clean_corruption_returns_data_unchanged():
    data = _unique_image_data()
    assert apply_corruptions(data) is data
    with pytest.raises(ValueError, match="must be one of"):
        apply_corruptions(data, inputs="blurred")


def test_label_noise_refused_for_regression_data():
    data = load_data("product")
    with pytest.raises(ValueError, match="classification only"):
        apply_corruptions(data, label_noise=0.1)
