import math

import numpy as np
import pytest
import torch

from occamlab.experiments.rff import (
    RandomFourierFeatures,
    gaussian_kernel,
    min_norm_least_squares,
)


def matrix(n, m, seed, rank=None):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, m))
    if rank is not None:  # exactly rank-deficient: a product of thin factors
        a = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, m))
    return a


@pytest.mark.parametrize(
    ("n", "m", "rank"),
    [(30, 10, None), (10, 30, None), (20, 20, None), (25, 40, 7), (40, 25, 7)],
)
def test_min_norm_least_squares_matches_numpy(n, m, rank):
    a = matrix(n, m, seed=n + m, rank=rank)
    b = np.random.default_rng(1).standard_normal((n, 3))
    theta = min_norm_least_squares(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    reference = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(theta, reference, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(theta, np.linalg.pinv(a) @ b, rtol=1e-7, atol=1e-9)


def test_min_norm_solution_interpolates_and_has_the_smallest_norm():
    a = matrix(10, 30, seed=0)
    b = np.random.default_rng(2).standard_normal(10)
    theta = min_norm_least_squares(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert theta.shape == (30,)
    np.testing.assert_allclose(a @ theta, b, atol=1e-10)  # N > n: interpolates
    null = np.linalg.svd(a)[2][10:].T  # any other interpolant adds a null-space component
    other = theta + null @ np.random.default_rng(3).standard_normal(20)
    np.testing.assert_allclose(a @ other, b, atol=1e-10)
    assert np.linalg.norm(theta) < np.linalg.norm(other)
    assert abs(theta @ null).max() < 1e-10  # the min-norm solution lies in the row space


def test_min_norm_least_squares_rejects_bad_input():
    a = torch.ones(4, 3)
    with pytest.raises(ValueError, match="targets"):
        min_norm_least_squares(a, torch.ones(5))
    with pytest.raises(ValueError, match="matrix"):
        min_norm_least_squares(torch.ones(4), torch.ones(4))
    with pytest.raises(ValueError, match="finite"):
        min_norm_least_squares(a, torch.tensor([1.0, float("nan"), 0.0, 0.0]))


def test_random_fourier_features_approximate_the_gaussian_kernel():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    exact = gaussian_kernel(x, x, bandwidth=2.0)
    errors = []
    for n in (500, 8000):
        rff = RandomFourierFeatures.sample(
            input_dim=5, num_features=n, bandwidth=2.0, generator=torch.Generator().manual_seed(1)
        )
        phi = rff(x)
        assert phi.shape == (6, n) and phi.dtype == torch.float64
        errors.append(float((phi @ phi.T - exact).abs().max()))
    # Monte Carlo error ~ 1/sqrt(N): within a few standard errors, and shrinking with N.
    assert errors[1] < 4 / math.sqrt(8000) and errors[1] < errors[0]


def test_random_fourier_features_are_seeded_and_check_shapes():
    def draw(seed):
        gen = torch.Generator().manual_seed(seed)
        return RandomFourierFeatures.sample(
            input_dim=3, num_features=4, bandwidth=1.0, generator=gen
        )

    state = torch.get_rng_state()
    assert torch.equal(draw(0).weights, draw(0).weights)
    assert not torch.equal(draw(0).weights, draw(1).weights)
    assert torch.equal(state, torch.get_rng_state())
    with pytest.raises(ValueError, match="features"):
        draw(0)(torch.ones(2, 4))
    with pytest.raises(ValueError, match="bandwidth"):
        RandomFourierFeatures.sample(
            input_dim=3, num_features=4, bandwidth=0.0, generator=torch.Generator()
        )
