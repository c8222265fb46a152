"""Generated datasets: shapes, determinism and the invariants that define them."""

from __future__ import annotations

import math

import pytest
import torch

from occamlab.data import (
    data_spec,
    load_data,
    parity_support,
    teacher_forward,
    teacher_weights,
)
from occamlab.data.mixture import mixture_means
from occamlab.data.modular import modular_table

# name, overrides, input shape, task, num_outputs, (num_train, num_test)
CASES = [
    ("digits", {}, (64,), "classification", 10, (1438, 359)),
    ("digits", {"flatten": False}, (1, 8, 8), "classification", 10, (1438, 359)),
    ("teacher", {}, (20,), "regression", 1, (1000, 1000)),
    ("teacher", {"num_outputs": 3, "input_dim": 5}, (5,), "regression", 3, (1000, 1000)),
    ("parity", {}, (30,), "classification", 2, (2000, 1000)),
    ("product", {}, (8,), "regression", 1, (1000, 1000)),
    ("modular", {"p": 11}, (22,), "classification", 11, (36, 85)),
    ("gaussian_mixture", {}, (10,), "classification", 4, (1000, 1000)),
]


@pytest.mark.parametrize(("name", "overrides", "shape", "task", "outputs", "sizes"), CASES)
def test_shapes_and_dtypes(name, overrides, shape, task, outputs, sizes):
    data = load_data(data_spec(name, **overrides))
    assert data.name == name and data.task == task and data.num_outputs == outputs
    assert data.input_shape == shape
    assert (len(data.train), len(data.test)) == sizes
    for split in (data.train, data.test):
        assert split.x.dtype == torch.float32 and split.x.is_contiguous()
        if task == "classification":
            assert split.y.dtype == torch.int64 and split.y.shape == (len(split),)
            assert int(split.y.min()) >= 0 and int(split.y.max()) < outputs
        else:
            assert split.y.dtype == torch.float32 and split.y.shape == (len(split), outputs)


SEEDED = ["digits", "teacher", "parity", "product", "modular", "gaussian_mixture"]


@pytest.mark.parametrize("name", SEEDED)
def test_same_spec_same_tensors_and_seed_matters(name):
    small = {"modular": {"p": 13}}.get(name, {})
    a = load_data(data_spec(name, seed=11, **small))
    b = load_data(data_spec(name, seed=11, **small))
    c = load_data(data_spec(name, seed=12, **small))
    for t1, t2 in [
        (a.train.x, b.train.x),
        (a.train.y, b.train.y),
        (a.test.x, b.test.x),
        (a.test.y, b.test.y),
    ]:
        assert torch.equal(t1, t2)
    assert not (torch.equal(a.train.x, c.train.x) and torch.equal(a.train.y, c.train.y))


def test_digits_split_is_stratified_and_covers_everything():
    from sklearn.datasets import load_digits

    data = load_data(data_spec("digits", seed=3))
    full = torch.from_numpy(load_digits().data).to(torch.float32) / 16
    assert float(data.train.x.min()) == 0.0 and float(data.train.x.max()) == 1.0
    both = torch.cat([data.train.x, data.test.x])
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, full.tolist()))
    labels = torch.cat([data.train.y, data.test.y])
    overall = torch.bincount(labels, minlength=10).double()
    test_counts = torch.bincount(data.test.y, minlength=10).double()
    assert ((test_counts - 0.2 * overall).abs() <= 1.0).all()
    assert len(data.test) == round(0.2 * 1797)
    images = load_data(data_spec("digits", seed=3, flatten=False))
    assert torch.equal(images.train.x.reshape(-1, 64), data.train.x)


def test_teacher_targets_are_teacher_outputs():
    spec = data_spec("teacher", input_dim=7, teacher_width=16, teacher_depth=2, num_outputs=2)
    data = load_data(spec)
    weights = teacher_weights(spec)
    assert [tuple(w.shape) for w in weights] == [(16, 7), (16, 16), (2, 16)]
    for split in (data.train, data.test):
        assert torch.equal(split.y, teacher_forward(weights, split.x, activation="tanh"))
    by_hand = weights[2] @ torch.tanh(weights[1] @ torch.tanh(weights[0] @ data.train.x[0]))
    assert torch.allclose(by_hand, data.train.y[0], atol=1e-5)
    # weights ~ N(0, 1/fan_in)
    big = teacher_weights(data_spec("teacher", input_dim=400, teacher_width=400))
    assert abs(float(big[0].var()) * 400 - 1) < 0.05


def test_teacher_relu_linear_and_noise():
    linear = data_spec("teacher", teacher_depth=0, activation="relu", input_dim=4)
    data = load_data(linear)
    (w,) = teacher_weights(linear)
    assert torch.allclose(data.train.y, data.train.x @ w.T)
    relu = data_spec("teacher", activation="relu")
    assert torch.equal(
        load_data(relu).train.y,
        teacher_forward(teacher_weights(relu), load_data(relu).train.x, activation="relu"),
    )
    clean = load_data(data_spec("teacher", num_train=5000))
    noisy = load_data(data_spec("teacher", num_train=5000, noise=0.5))
    assert torch.equal(clean.train.x, noisy.train.x)
    assert torch.equal(clean.test.y, noisy.test.y)  # test targets stay clean
    residual = noisy.train.y - clean.train.y
    assert abs(float(residual.std()) - 0.5) < 0.03
    # more training data leaves the teacher and the test set unchanged
    assert torch.equal(load_data(data_spec("teacher", num_train=10)).test.x, clean.test.x)


def test_parity_labels_are_the_product_over_the_support():
    spec = data_spec("parity", n=20, k=4, seed=5)
    data = load_data(spec)
    support = parity_support(spec)
    assert len(support) == 4 and len(set(support)) == 4 and all(0 <= i < 20 for i in support)
    assert list(support) == sorted(support)
    for split in (data.train, data.test):
        assert set(split.x.unique().tolist()) == {-1.0, 1.0}
        expected = ((split.x[:, list(support)].prod(dim=1) + 1) / 2).long()
        assert torch.equal(split.y, expected)
    assert abs(float(data.train.y.double().mean()) - 0.5) < 0.06
    supports = {parity_support(data_spec("parity", seed=s)) for s in range(5)}
    assert len(supports) > 1
    full = data_spec("parity", n=6, k=6)
    assert parity_support(full) == tuple(range(6))


def test_product_targets_are_products_with_unit_variance():
    spec = data_spec("product", input_dim=6, degree=3, num_train=20000, num_test=10)
    data = load_data(spec)
    assert float(data.train.x.abs().max()) <= math.sqrt(3)
    assert torch.allclose(data.train.y[:, 0], data.train.x[:, :3].prod(dim=1))
    assert torch.allclose(data.test.y[:, 0], data.test.x[:, :3].prod(dim=1))
    assert abs(float(data.train.x.var(dim=0).mean()) - 1) < 0.03
    assert abs(float(data.train.y.var()) - 1) < 0.1
    assert abs(float(data.train.y.mean())) < 0.05


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_modular_labels_and_exact_partition(op):
    p = 13
    data = load_data(data_spec("modular", p=p, op=op, train_fraction=0.4, seed=2))
    pairs = []
    for split in (data.train, data.test):
        onehots = split.x.reshape(len(split), 2, p)
        assert torch.equal(onehots.sum(dim=2), torch.ones(len(split), 2))
        a, b = onehots[:, 0].argmax(dim=1), onehots[:, 1].argmax(dim=1)
        for ai, bi, ci in zip(a.tolist(), b.tolist(), split.y.tolist(), strict=True):
            if op == "add":
                expected = (ai + bi) % p
            elif op == "sub":
                expected = (ai - bi) % p
            elif op == "mul":
                expected = (ai * bi) % p
            else:
                assert bi != 0
                expected = (ai * pow(bi, p - 2, p)) % p
                assert (ci * bi) % p == ai
            assert ci == expected
        pairs.append({(ai, bi) for ai, bi in zip(a.tolist(), b.tolist(), strict=True)})
    train_pairs, test_pairs = pairs
    total = p * p if op != "div" else p * (p - 1)
    assert len(train_pairs) == len(data.train) and len(test_pairs) == len(data.test)
    assert not train_pairs & test_pairs
    all_pairs = {(a, b) for a in range(p) for b in range(p) if op != "div" or b != 0}
    assert train_pairs | test_pairs == all_pairs and len(all_pairs) == total
    assert len(data.train) == round(0.4 * total)


def test_modular_table_matches_python():
    a, b, c = modular_table(7, "div")
    assert all((int(ci) * int(bi)) % 7 == int(ai) for ai, bi, ci in zip(a, b, c, strict=True))


def test_gaussian_mixture_means_balance_and_separability():
    spec = data_spec("gaussian_mixture", num_classes=5, dim=30, separation=8.0, num_train=1000)
    data = load_data(spec)
    means = mixture_means(spec)
    assert means.shape == (5, 30)
    assert torch.allclose(means.norm(dim=1), torch.full((5,), 8.0))
    assert torch.equal(torch.bincount(data.train.y), torch.full((5,), 200))
    nearest = torch.cdist(data.test.x, means).argmin(dim=1)
    assert float((nearest == data.test.y).double().mean()) > 0.95
    noise = data.train.x - means[data.train.y]
    assert abs(float(noise.var()) - 1) < 0.05
