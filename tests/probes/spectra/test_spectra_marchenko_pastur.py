import numpy as np
import pytest
from scipy.integrate import quad

from occamlab.probes.spectra.marchenko_pastur import (
    fit_marchenko_pastur,
    mp_cdf,
    mp_density,
    mp_edges,
    tracy_widom_edge,
)


@pytest.mark.parametrize("ratio", [0.1, 0.5, 1.0])
def test_density_and_cdf_agree_with_quadrature(ratio):
    lo, hi = mp_edges(ratio, 2.0)
    total = quad(lambda t: mp_density(np.array([t]), ratio, 2.0)[0], lo, hi, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-6)
    for x in np.linspace(lo, hi, 7)[1:-1]:
        part = quad(lambda t: mp_density(np.array([t]), ratio, 2.0)[0], lo, x, limit=200)[0]
        assert mp_cdf(np.array([x]), ratio, 2.0)[0] == pytest.approx(part, abs=1e-5)


@pytest.mark.parametrize(("n", "m", "sigma"), [(2000, 500, 0.7), (800, 800, 1.3)])
def test_gaussian_matrix_has_its_edge_where_the_law_says_and_no_spikes(n, m, sigma):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, m)) * sigma
    ev = np.linalg.eigvalsh(w.T @ w / n)
    fit = fit_marchenko_pastur(ev, n=n, m=m)
    assert fit.sigma2 == pytest.approx(sigma**2, rel=0.02)
    assert fit.bulk_max == pytest.approx(sigma**2 * (1 + np.sqrt(m / n)) ** 2, rel=0.02)
    # The largest eigenvalue sits at the edge up to Tracy–Widom fluctuations (~N^(-2/3)).
    assert ev.max() == pytest.approx(fit.bulk_max, rel=0.03)
    assert ev.max() <= tracy_widom_edge(n, m, fit.sigma2)
    assert fit.num_spikes == 0 and fit.ks_distance < 0.03


def test_planted_spikes_are_counted():
    rng = np.random.default_rng(1)
    n, m = 2000, 400
    w = rng.standard_normal((n, m))
    for k in range(3):
        u, v = rng.standard_normal(n), rng.standard_normal(m)
        w += (3 + k) * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v)) * np.sqrt(n)
    fit = fit_marchenko_pastur(np.linalg.eigvalsh(w.T @ w / n), n=n, m=m)
    assert fit.num_spikes == 3
    assert fit.sigma2 == pytest.approx(1.0, rel=0.03)
