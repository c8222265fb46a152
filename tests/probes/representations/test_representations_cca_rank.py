import warnings

import pytest
import torch

from occamlab.probes.representations import CCABiasWarning, cca_similarity, effective_rank


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("method", ["svcca", "pwcca", "mean_cca"])
def test_linearly_related_representations_score_one(method):
    g = gen()
    x = torch.randn(400, 10, generator=g, dtype=torch.float64)
    y = x @ torch.randn(10, 10, generator=g, dtype=torch.float64) + 5
    result = cca_similarity(x, y, method=method, generator=g)
    assert result.value == pytest.approx(1.0, abs=1e-10)
    assert result.null_mean < 0.5 and result.p_value < 0.1


def test_mean_cca_matches_the_covariance_definition():
    g = gen(1)
    x = torch.randn(300, 4, generator=g, dtype=torch.float64)
    y = x[:, :3] + torch.randn(300, 3, generator=g, dtype=torch.float64)
    xc, yc = x - x.mean(0), y - y.mean(0)

    def inv_sqrt(s):
        w, v = torch.linalg.eigh(s)
        return v @ torch.diag(w**-0.5) @ v.T

    m = inv_sqrt(xc.T @ xc) @ xc.T @ yc @ inv_sqrt(yc.T @ yc)
    rho = torch.linalg.svdvals(m)
    result = cca_similarity(x, y, method="mean_cca", permutations=0)
    assert result.correlations == pytest.approx(tuple(rho.tolist()), abs=1e-10)
    assert result.value == pytest.approx(float(rho.mean()), abs=1e-12)


def test_few_examples_warn_and_the_null_shows_the_inflation():
    g = gen(2)
    x, y = torch.randn(60, 20, generator=g), torch.randn(60, 20, generator=g)
    with pytest.warns(CCABiasWarning, match="n < 10"):
        result = cca_similarity(x, y, method="mean_cca", generator=g)
    assert result.value > 0.4  # independent data, inflated
    assert result.p_value > 0.05 and result.null_mean > 0.4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cca_similarity(torch.randn(400, 5, generator=g), torch.randn(400, 5, generator=g))


def test_n_below_d_is_truncated_not_silently_perfect():
    g = gen(3)
    x, y = torch.randn(30, 100, generator=g), torch.randn(30, 100, generator=g)
    with pytest.warns(CCABiasWarning):
        result = cca_similarity(x, y, method="svcca", generator=g)
    assert max(result.dims) <= 29
    assert result.p_value > 0.05  # indistinguishable from shuffled data, and the report says so


def test_regularization_shrinks_correlations():
    g = gen(4)
    x, y = torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g)
    plain = cca_similarity(x, y, method="mean_cca", permutations=0).value
    ridge = cca_similarity(x, y, method="mean_cca", regularization=1.0, permutations=0).value
    assert ridge < plain


def test_effective_rank_of_known_spectra():
    g = gen(5)
    z = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    x = (
        torch.cat([z, torch.zeros(4000, 5, dtype=torch.float64)], dim=1)
        @ torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))[0]
    )
    r = effective_rank(x)
    assert r.numerical_rank == 3 and r.activation_rank == 3
    assert r.participation_ratio == pytest.approx(3.0, rel=0.05)
    assert r.entropy_rank == pytest.approx(3.0, rel=0.05)
    scales = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    relu = torch.relu(torch.randn(1000, 4, generator=g, dtype=torch.float64)) * scales
    rr = effective_rank(relu)
    assert rr.dead_fraction == 0.5 and rr.activation_rank == 2
    eig = torch.linalg.eigvalsh(torch.cov(relu.T))
    assert rr.participation_ratio == pytest.approx(float(eig.sum() ** 2 / (eig**2).sum()), rel=1e-9)
