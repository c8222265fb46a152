import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from occamlab.probes.kernels.interpolation import (
    interpolate,
    laplacian_kernel,
    median_distance,
    nearest_neighbour,
)
from occamlab.probes.kernels.regression import kernel_regression, one_hot


def _points(n=30, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64)


def test_laplacian_kernel_is_the_formula():
    x, z = _points(7), _points(5, seed=1)
    k = laplacian_kernel(x, z, bandwidth=1.7)
    ref = np.array([[np.exp(-np.linalg.norm(a - b) / 1.7) for b in z.numpy()] for a in x.numpy()])
    np.testing.assert_allclose(k.numpy(), ref, rtol=1e-13, atol=0)
    assert torch.equal(torch.diagonal(laplacian_kernel(x, bandwidth=1.0)), torch.ones(7).double())
    with pytest.raises(ValueError, match="bandwidth"):
        laplacian_kernel(x, bandwidth=0.0)


def test_median_distance_is_over_distinct_pairs():
    x = _points(9)
    d = [np.linalg.norm(a - b) for i, a in enumerate(x.numpy()) for b in x.numpy()[i + 1 :]]
    # torch's median of an even count is the lower middle value
    assert median_distance(x) == pytest.approx(sorted(d)[(len(d) - 1) // 2], rel=1e-13)


def test_the_minimum_norm_interpolant_interpolates_and_is_the_pseudo_inverse_solution():
    x, y = _points(40), torch.arange(40) % 3
    k = laplacian_kernel(x, bandwidth=2.0)
    xt = _points(11, seed=2)
    kt = laplacian_kernel(xt, x, bandwidth=2.0)
    fit = interpolate(k, y, kt, num_classes=3)
    assert fit.train_error == 0.0 and fit.max_residual < 1e-9
    alpha = torch.linalg.pinv(k) @ one_hot(y, 3)
    assert torch.equal(fit.test_predictions, (kt @ alpha).argmax(1))
    torch.testing.assert_close(kernel_regression(k, one_hot(y, 3)).alpha, alpha)


def test_a_singular_kernel_gets_the_least_norm_solution():
    # duplicated inputs with different labels: K is singular and no function interpolates;
    # the solution is the pseudo-inverse's (least squares of least norm)
    x = torch.cat([_points(10), _points(10)[:3]])
    y = torch.cat([torch.arange(10) % 2, torch.tensor([1, 0, 1])])
    k = x @ x.T + 1.0  # rank 5 in R^13: singular
    fit = kernel_regression(k, one_hot(y, 2))
    torch.testing.assert_close(
        fit.alpha, torch.linalg.pinv(k) @ one_hot(y, 2), rtol=1e-8, atol=1e-8
    )
    out = interpolate(k, y, k[:2], num_classes=2)
    assert out.train_error > 0 and out.max_residual > 0.1


def test_nearest_neighbour_matches_scikit_learn():
    x, y, xt = _points(50), torch.arange(50) % 4, _points(20, seed=3)
    ours = nearest_neighbour(x, y, xt)
    ref = KNeighborsClassifier(n_neighbors=1).fit(x.numpy(), y.numpy()).predict(xt.numpy())
    assert ours.tolist() == ref.tolist()
    assert torch.equal(nearest_neighbour(x, y, x), y)  # it interpolates
    with pytest.raises(ValueError, match="features"):
        nearest_neighbour(x, y, xt[:, :2])
