import numpy as np
import pytest
import torch

from occamlab.probes.representations import (
    StreamingCKA,
    linear_cka,
    procrustes_distance,
    rbf_cka,
)


def data(n=200, d1=12, d2=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d1, generator=g, dtype=torch.float64)
    y = x @ torch.randn(d1, d2, generator=g, dtype=torch.float64) + torch.randn(
        n, d2, generator=g, dtype=torch.float64
    )
    return x, y


def gram_cka(x, y, estimator):
    """Independent float64 oracle: the n×n Gram form (O(n² d), elementwise traces)."""
    x, y = x.double(), y.double()
    n = x.shape[0]
    if estimator == "biased":
        x, y = x - x.mean(0), y - y.mean(0)
    k, lk = x @ x.T, y @ y.T

    def hsic(k, lk):
        if estimator == "biased":
            return (k * lk).sum() / (n - 1) ** 2
        k, lk = k.clone().fill_diagonal_(0), lk.clone().fill_diagonal_(0)
        kr, lr = k.sum(1), lk.sum(1)
        return (
            (k * lk).sum() + kr.sum() * lr.sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * (kr @ lr)
        ) / (n * (n - 3))

    return float(hsic(k, lk) / torch.sqrt(hsic(k, k) * hsic(lk, lk)))


@pytest.mark.parametrize("estimator", ["unbiased", "biased"])
def test_linear_cka_equals_the_gram_form_in_float64(estimator):
    x, y = data()
    value = linear_cka(x, y, estimator=estimator, dtype="float64", chunk=64)
    assert value == pytest.approx(gram_cka(x, y, estimator), abs=1e-12)


@pytest.mark.parametrize("estimator", ["unbiased", "biased"])
def test_invariances_and_identity(estimator):
    x, y = data(seed=1)
    base = linear_cka(x, y, estimator=estimator, dtype="float64")
    q, _ = torch.linalg.qr(
        torch.randn(12, 12, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    )
    assert linear_cka(x @ q, y, estimator=estimator, dtype="float64") == pytest.approx(
        base, abs=1e-12
    )
    assert linear_cka(7.5 * x, y, estimator=estimator, dtype="float64") == pytest.approx(
        base, abs=1e-12
    )
    assert linear_cka(x + 3.0, y - 100.0, estimator=estimator, dtype="float64") == pytest.approx(
        base, abs=1e-10
    )
    assert linear_cka(x, x, estimator=estimator) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("offset", [0.0, 10.0, 1e4])
def test_float32_default_is_within_1e_6_of_float64_at_any_offset(offset):
    x, y = data(n=2000, d1=64, d2=48, seed=3)
    x32, y32 = (x + offset).float(), (y - offset).float()
    # The oracle sees the same float32 values, centred in float64 (CKA ignores offsets; the
    # n×n Gram form itself breaks down at large offsets, which is why it is centred first).
    x64, y64 = x32.double(), y32.double()
    ref = gram_cka(x64 - x64.mean(0), y64 - y64.mean(0), "unbiased")
    assert linear_cka(x32, y32) == pytest.approx(ref, abs=1e-6)


def test_unbiased_cka_of_independent_data_is_near_zero_and_biased_is_not():
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(500, 200, generator=g), torch.randn(500, 200, generator=g)
    assert abs(linear_cka(x, y)) < 0.02
    assert linear_cka(x, y, estimator="biased") > 0.2


@pytest.mark.parametrize("estimator", ["unbiased", "biased"])
def test_streaming_minibatches_equal_the_full_batch(estimator):
    x, y = data(n=1000, seed=5)
    x, y = (x + 50).float(), y.float()
    stream = StreamingCKA(estimator=estimator)
    for start in range(0, 1000, 96):
        stream.update(x[start : start + 96], y[start : start + 96])
    full = gram_cka(x.double() - 50, y.double(), estimator)
    assert stream.compute() == pytest.approx(full, abs=1e-6)


@pytest.mark.parametrize("estimator", ["unbiased", "biased"])
def test_rbf_cka_matches_an_explicit_kernel_computation(estimator):
    x, y = data(n=120, seed=6)
    value = rbf_cka(x, y, factor=0.8, estimator=estimator, dtype="float64")

    def kernel(z):
        d = torch.cdist(z, z) ** 2
        off = d[~torch.eye(len(z), dtype=torch.bool)].sqrt()
        sigma = 0.8 * off.sort().values[(off.numel() + 1) // 2 - 1]
        return torch.exp(-d / (2 * sigma**2))

    k, lk = kernel(x), kernel(y)
    n = 120

    def hsic(k, lk):
        if estimator == "biased":
            h = torch.eye(n, dtype=torch.float64) - 1.0 / n
            return torch.trace(k @ h @ lk @ h) / (n - 1) ** 2
        k, lk = k.clone().fill_diagonal_(0), lk.clone().fill_diagonal_(0)
        one = torch.ones(n, dtype=torch.float64)
        return (
            torch.trace(k @ lk)
            + (one @ k @ one) * (one @ lk @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * (one @ k @ lk @ one)
        ) / (n * (n - 3))

    assert value == pytest.approx(
        float(hsic(k, lk) / torch.sqrt(hsic(k, k) * hsic(lk, lk))), abs=1e-9
    )
    assert rbf_cka(x, x, estimator=estimator) == pytest.approx(1.0, abs=1e-6)


def test_procrustes_distance_is_zero_up_to_rotation_scale_offset_and_matches_scipy():
    from scipy.linalg import orthogonal_procrustes

    x, y = data(n=300, d1=10, d2=10, seed=7)
    q, _ = torch.linalg.qr(torch.randn(10, 10, dtype=torch.float64))
    assert procrustes_distance(x, 3 * x @ q + 1, dtype="float64") == pytest.approx(0, abs=1e-10)
    xc, yc = (x - x.mean(0)).numpy(), (y - y.mean(0)).numpy()
    xc, yc = xc / np.linalg.norm(xc), yc / np.linalg.norm(yc)
    r, _ = orthogonal_procrustes(yc, xc)
    expected = np.linalg.norm(xc - yc @ r) ** 2
    assert procrustes_distance(x, y, dtype="float64") == pytest.approx(expected, abs=1e-10)


def test_bad_inputs_are_refused():
    x, y = data()
    with pytest.raises(ValueError, match="same examples"):
        linear_cka(x, y[:-1])
    with pytest.raises(ValueError, match="constant"):
        linear_cka(torch.ones(50, 3), y[:50])
    with pytest.raises(ValueError, match="NaN"):
        linear_cka(x * float("nan"), y)
