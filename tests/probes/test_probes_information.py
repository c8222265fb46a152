import math

import numpy as np
import pytest
import torch
from torch import nn

from occamlab import TrainSpec, fit
from occamlab.data.base import Data, Split
from occamlab.probes.information.estimators import (
    binned_mutual_information,
    binning_information,
    hsic,
    kde_information,
)
from occamlab.probes.information.monitor import InformationPlaneMonitor
from occamlab.probes.information.plot import plot_information_plane
from occamlab.subject import Subject


def gen(seed: int = 0) -> torch.Generator:
    """A fresh generator per use: no test depends on which tests ran before it."""
    return torch.Generator().manual_seed(seed)


def correlated(n, rho, generator=None):
    z = torch.randn(n, 2, generator=generator or gen(), dtype=torch.float64)
    return z[:, 0], rho * z[:, 0] + math.sqrt(1 - rho**2) * z[:, 1]


@pytest.mark.parametrize("rho", [0.0, 0.6, 0.9])
def test_binned_mi_converges_to_the_gaussian_mutual_information(rho):
    a, b = correlated(200_000, rho)
    exact = -0.5 * math.log2(1 - rho**2)
    assert binned_mutual_information(a, b, bins=40) == pytest.approx(exact, abs=0.03)


def test_binning_of_a_layer_gives_h_t_and_label_information():
    x = torch.arange(64, dtype=torch.float64)[:, None] / 63  # 64 distinct values
    y = (x[:, 0] > 0.5).long()
    i_xt, i_ty = binning_information(x, y, bins=64, low=0.0, high=1.0)
    assert i_xt == pytest.approx(6.0)  # log2(64): every input in its own bin
    assert i_ty == pytest.approx(1.0)  # T determines Y, H(Y) = 1 bit
    i_xt, i_ty = binning_information(x, y, bins=2, low=0.0, high=1.0)
    assert i_xt == pytest.approx(1.0) and i_ty == pytest.approx(1.0)
    with pytest.raises(ValueError, match="bins"):
        binning_information(x, y, bins=1)


def test_kde_bounds_bracket_the_exact_mixture_information():
    """T = x_i + N(0, σ²I), i uniform: the exact I(i; T) (Monte Carlo, 50k draws) lies between
    the pairwise-distance bounds; with Gaussian x and many samples it is near d/2 log2(1 + 1/σ²)."""
    n, d, s2 = 400, 2, 0.5
    g = gen(1)
    centers = torch.randn(n, d, generator=g, dtype=torch.float64)
    idx = torch.randint(0, n, (50_000,), generator=g)
    t = centers[idx] + math.sqrt(s2) * torch.randn(50_000, d, generator=g, dtype=torch.float64)
    logp = -torch.cdist(t, centers).pow(2) / (2 * s2)
    exact = float(
        (logp[torch.arange(len(idx)), idx] - torch.logsumexp(logp, 1) + math.log(n)).mean()
    ) / math.log(2)
    y = torch.zeros(n, dtype=torch.long)
    upper = kde_information(centers, y, noise_var=s2)[0]
    lower = kde_information(centers, y, noise_var=s2, bound="lower")[0]
    assert lower <= exact + 0.01 <= upper + 0.02
    assert exact == pytest.approx(d / 2 * math.log2(1 + 1 / s2), abs=0.15)
    # Far-apart components: both bounds reach log2(n); one class: I(T;Y) = 0.
    far_up, far_ty = kde_information(centers * 1000, y, noise_var=s2)
    far_low = kde_information(centers * 1000, y, noise_var=s2, bound="lower")[0]
    assert far_up == pytest.approx(math.log2(n), abs=1e-3)
    assert far_low == pytest.approx(math.log2(n), abs=1e-3)
    assert far_ty == pytest.approx(0.0, abs=1e-9)


def population_hsic(rho, s):
    c = torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
    eye = torch.eye(2, dtype=torch.float64)
    t1 = torch.linalg.det(eye + 2 * c / s**2) ** -0.5
    t2 = 1 / (1 + 2 / s**2)
    t3 = torch.linalg.det(eye + (c + eye) / s**2) ** -0.5
    return float(t1 + t2 - 2 * t3)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_hsic_converges_to_the_closed_form_for_gaussians(rho):
    # One biased estimate at n = 1000 has a standard deviation of ~0.0024 (rho = 0.9): the mean
    # of 16 independent ones is within 2e-3 of the closed form at > 3 standard errors.
    estimates = []
    for seed in range(16):
        a, b = correlated(1000, rho, gen(seed))
        estimates.append(hsic(a, b, sigma_a=1.0, sigma_b=1.0))
        assert 0 <= hsic(a, b, normalized=True) <= 1
    assert sum(estimates) / 16 == pytest.approx(population_hsic(rho, 1.0), abs=2e-3)


def test_monitor_records_every_layer_and_plots():
    x = torch.randint(0, 2, (256, 6), generator=gen(2)).float()
    y = (x.sum(1) > 3).long()
    data = Data("bits", Split(x, y), Split(x[:20], y[:20]), "classification", 2)
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    monitor = InformationPlaneMonitor(
        x, y, every=2, estimators=("binning", "kde_upper"), bins=(10, 30)
    )
    fit(Subject(net, data), TrainSpec(epochs=4, batch_size=64, lr=0.05), callbacks=[monitor])
    epochs = sorted({r["epoch"] for r in monitor.records})
    assert epochs == [0, 2, 4]
    layers = {r["layer"] for r in monitor.records}
    assert layers == {"1", "3", "output"}
    for r in monitor.records:
        assert 0 <= r["i_ty"] <= r["i_xt"] + 1e-9 <= math.log2(256) + 1e-9
    ax = plot_information_plane(monitor.records, bins=30)
    assert ax.get_xlabel().startswith("I(X;T)")
    assert np.isfinite([r["i_xt"] for r in monitor.records]).all()
