"""Diffusion maps against closed forms: two points, the complete graph, the uniformly sampled
circle (Laplace–Beltrami eigenpairs −k², cos kθ, sin kθ) and the swiss roll (the leading
coordinate is monotone in the roll's parameter)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr, vonmises
from sklearn.datasets import make_swiss_roll

from occamlab.probes.embedding import bgh_epsilon, diffusion_map, variable_bandwidth


def _circle(n: int) -> tuple[np.ndarray, np.ndarray]:
    theta = 2 * np.pi * np.arange(n) / n
    return np.c_[np.cos(theta), np.sin(theta)], theta


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("distance", [0.5, 1.0, 2.0])
def test_two_points_closed_form(alpha, distance):
    # P = [[1 − p, p], [p, 1 − p]], p = e/(1 + e), e = exp(−d²/(4ε)): λ₁ = −2p/ε, ψ₁ = ±1.
    eps = 0.7
    m = diffusion_map(
        [[0.0, 0.0], [distance, 0.0]], components=1, alpha=alpha, epsilon=eps, kernel="dense"
    )
    e = np.exp(-(distance**2) / (4 * eps))
    assert m.eigenvalues[0] == pytest.approx(-2 * e / (1 + e) / eps, rel=1e-13)
    np.testing.assert_allclose(np.sort(m.eigenvectors[:, 0]), [-1.0, 1.0], atol=1e-13)
    np.testing.assert_allclose(m.weights, [0.5, 0.5], atol=1e-15)


def test_complete_graph_closed_form():
    # The vertices of a regular simplex: every pair at distance 1, so K = (1 − e) I + e 11ᵀ and
    # P = K / (1 + (n − 1)e) whatever α: the nontrivial eigenvalue is −n e / ((1 + (n−1)e) ε),
    # n − 1 times, and the eigenvectors span the vectors summing to 0.
    n, eps = 6, 0.3
    x = np.eye(n) / np.sqrt(2)
    m = diffusion_map(x, components=n - 1, alpha=0.5, epsilon=eps, kernel="dense")
    e = np.exp(-1 / (4 * eps))
    expected = -n * e / ((1 + (n - 1) * e) * eps)
    np.testing.assert_allclose(m.eigenvalues, np.full(n - 1, expected), rtol=1e-12)
    np.testing.assert_allclose(m.eigenvectors.sum(axis=0), 0.0, atol=1e-12)
    # orthonormal under the (uniform) stationary weights
    gram = m.eigenvectors.T @ (m.eigenvectors / n)
    np.testing.assert_allclose(gram, np.eye(n - 1), atol=1e-12)


@pytest.mark.parametrize("kernel", ["dense", "knn"])
def test_circle_laplace_beltrami(kernel):
    x, theta = _circle(400)
    m = diffusion_map(x, components=6, alpha=1.0, epsilon=0.002, kernel=kernel, k=64)
    # −Δ on the unit circle: eigenvalues k² (each twice) with cos kθ and sin kθ
    np.testing.assert_allclose(-m.eigenvalues, [1, 1, 4, 4, 9, 9], rtol=0.01)
    ratios = m.eigenvalues / m.eigenvalues[0]
    np.testing.assert_allclose(ratios, [1, 1, 4, 4, 9, 9], rtol=0.01)
    # the first two coordinates lie on a circle of radius √2 (ψ normalized to E[ψ²] = 1)
    radius = np.hypot(m.eigenvectors[:, 0], m.eigenvectors[:, 1])
    np.testing.assert_allclose(radius, np.sqrt(2), rtol=1e-3)
    # and each pair spans {cos kθ, sin kθ}: projection residual ≈ 0
    for k, pair in ((1, slice(0, 2)), (2, slice(2, 4)), (3, slice(4, 6))):
        basis = np.c_[np.cos(k * theta), np.sin(k * theta)]
        coef, *_ = np.linalg.lstsq(basis, m.eigenvectors[:, pair], rcond=None)
        residual = m.eigenvectors[:, pair] - basis @ coef
        assert np.abs(residual).max() < 1e-2


def test_circle_alpha_removes_the_sampling_density():
    # The circle sampled at the quantiles of a von Mises density (κ = 1, densest 7.4× the
    # sparsest): α = 1 recovers −Δ's eigenvalues 1, 1, 4, 4 whatever the density; α = 0 (the
    # graph Laplacian) does not.
    n = 400
    theta = vonmises.ppf((np.arange(n) + 0.5) / n, 1.0)
    x = np.c_[np.cos(theta), np.sin(theta)]
    one = diffusion_map(x, components=4, alpha=1.0, epsilon=0.002, kernel="dense")
    zero = diffusion_map(x, components=4, alpha=0.0, epsilon=0.002, kernel="dense")
    np.testing.assert_allclose(-one.eigenvalues, [1, 1, 4, 4], rtol=0.01)
    ratios = zero.eigenvalues / zero.eigenvalues[0]
    assert ratios[2] < 3.0


@pytest.mark.parametrize("bandwidth", ["fixed", "variable"])
def test_swiss_roll_leading_coordinate_is_the_roll_parameter(bandwidth):
    x, t = make_swiss_roll(1500, noise=0.0, random_state=0)
    m = diffusion_map(x, components=2, kernel="knn", k=64, bandwidth=bandwidth)
    assert abs(spearmanr(m.eigenvectors[:, 0], t)[0]) > 0.99
    assert m.dimension == 2.0  # the BGH estimate of the roll's dimension


def test_bgh_epsilon_and_dimension_on_a_plane():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(800, 2))
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1).ravel()
    eps, d = bgh_epsilon(d2)
    assert d == 2.0 and 2.0**-12 <= eps <= 2.0**-2


def test_variable_bandwidth_is_smaller_where_points_are_sparse():
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(0, 0.1, (300, 2)), rng.normal(3, 1.0, (300, 2))]
    from sklearn.neighbors import NearestNeighbors

    graph = NearestNeighbors(n_neighbors=30).fit(x).kneighbors_graph(x, mode="distance")
    rho, beta = variable_bandwidth(graph, None)
    assert beta == pytest.approx(-0.25)  # −1/(d + 2) with d = 2
    # ρ = q^β with β < 0: large in the sparse cluster, small in the dense one
    # (densities 100× apart, so ρ about 100^{1/4} ≈ 3.2× apart)
    assert np.median(rho[300:]) > 2.5 * np.median(rho[:300])


def test_deterministic_and_signed():
    x, _ = make_swiss_roll(400, noise=0.05, random_state=3)
    a = diffusion_map(x, components=3, k=30)
    b = diffusion_map(x, components=3, k=30)
    np.testing.assert_array_equal(a.eigenvectors, b.eigenvectors)
    top = np.abs(a.eigenvectors).argmax(axis=0)
    assert (a.eigenvectors[top, range(3)] > 0).all()
    assert np.all(np.diff(a.eigenvalues) <= 0) and np.all(a.eigenvalues < 0)
    c = diffusion_map(x, components=3, k=30, time=2.0)
    np.testing.assert_allclose(c.coordinates, a.eigenvectors * np.exp(2.0 * a.eigenvalues))


@pytest.mark.parametrize(
    ("points", "options", "message"),
    [
        ([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]], {}, "NaN"),
        ([[0.0], [1.0]], {"kernel": "knn"}, "components"),
        (np.zeros((5, 2, 2)), {}, "2-D"),
        (np.eye(5), {"alpha": 2.0, "kernel": "dense"}, "alpha"),
        (np.eye(5), {"epsilon": -1.0, "kernel": "dense"}, "epsilon"),
        (np.eye(5), {"kernel": "full"}, "kernel"),
        (np.eye(5), {"bandwidth": "adaptive"}, "bandwidth"),
        (np.eye(12), {"bandwidth": "variable", "k": 4}, "neighbours"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(points, options, message):
    with pytest.raises(ValueError, match=message):
        diffusion_map(points, **({"components": 1} | options))
