"""PAC-Bayes: formulas against closed forms, Monte Carlo samplers against each other, and the
whole certificate's validity by simulation on a problem whose true risk is known.

Synthetic problem: x ~ N(0, I₂), y = 1[w*·x > 0] flipped with probability η. A bias-free
nn.Linear(2, 2) predicts class 1 iff (W₁ − W₀)·x > 0; for a direction u the true error is
η + (1 − 2η)·∠(u, w*)/π. Under Q = N(W, s²I), W₁ − W₀ ~ N(W₁ − W₀, 2s²I), so the Gibbs risk is a
2-D Gaussian average of that formula (computed with 200,000 draws: standard error < 0.001).
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.bounds.certificate import PacBayesSpec, pacbayes_bound
from occamlab.probes.bounds.kl import kl_inverse_upper
from occamlab.probes.bounds.pacbayes import (
    Gaussian,
    catoni_bound,
    catoni_grid_bound,
    gaussian_kl,
    mcallester_bound,
    monte_carlo_risk_bound,
    pac_bayes_complexity,
    pac_bayes_kl_bound,
    sampled_errors,
)
from occamlab.subject import Subject
from tests.conftest import toy_data, toy_model

ETA = 0.1
W_STAR = np.array([1.0, 0.5])


def test_bound_forms_agree_with_their_definitions():
    risk, kl, m, delta = 0.05, 120.0, 5000, 0.05
    c = (kl + math.log(2 * math.sqrt(m) / delta)) / m
    assert pac_bayes_complexity(kl, m, delta) == pytest.approx(c, rel=1e-15)
    assert pac_bayes_kl_bound(risk, kl, m, delta) == kl_inverse_upper(risk, c)
    assert mcallester_bound(risk, kl, m, delta) == pytest.approx(risk + math.sqrt(c / 2))
    # the kl form is the tightest of the three (Pinsker), and all exceed the empirical risk
    kl_form = pac_bayes_kl_bound(risk, kl, m, delta)
    assert risk < kl_form <= mcallester_bound(risk, kl, m, delta)
    expected = (1 - math.exp(-2.0 * risk - (kl + math.log(1 / delta)) / m)) / (1 - math.exp(-2.0))
    assert catoni_bound(risk, kl, m, delta, c=2.0) == pytest.approx(expected, rel=1e-13)
    best, c_best = catoni_grid_bound(risk, kl, m, delta)
    assert best == catoni_bound(risk, kl, m, delta / 10, c=c_best) > risk
    with pytest.raises(ValueError, match="m >= 8"):
        pac_bayes_kl_bound(0.1, 1.0, 5, 0.05)


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    q = Gaussian(
        {"a": torch.randn(3, 4, generator=g), "b": torch.randn(5, generator=g)},
        {"a": torch.rand(3, 4, generator=g) + 0.1, "b": torch.rand(5, generator=g) + 0.1},
    )
    p = Gaussian.isotropic({"a": torch.zeros(3, 4), "b": torch.ones(5)}, 0.7)
    expected = sum(
        float(
            torch.distributions.kl_divergence(
                torch.distributions.Normal(q.mean[k].double(), q.std[k].double()),
                torch.distributions.Normal(p.mean[k].double(), p.std[k].double()),
            ).sum()
        )
        for k in q.mean
    )
    assert gaussian_kl(q, p) == pytest.approx(expected, rel=1e-12)
    assert gaussian_kl(q, q) == pytest.approx(0.0, abs=1e-12)


def test_local_reparametrization_and_per_example_draws_agree():
    # Both samplers draw an independent network per trial; their error rates must agree.
    data = toy_data(n_train=200)
    subject = Subject(model=toy_model(), data=data)
    q = Gaussian.isotropic(subject.params(), 0.3)
    rates = {}
    for method in ("lrt", "vmap"):
        g = torch.Generator().manual_seed(1)
        errors, n = sampled_errors(
            subject, q, data.train, trials=20_000, generator=g, method=method
        )
        rates[method] = errors / n
    # two independent binomial estimates of the same p: 5 standard errors apart at most
    p = 0.5 * (rates["lrt"] + rates["vmap"])
    assert abs(rates["lrt"] - rates["vmap"]) < 5 * math.sqrt(2 * p * (1 - p) / 20_000)
    assert 0.05 < p < 0.95  # the noise matters: the check is not trivial


def test_monte_carlo_bound_is_valid_in_simulation():
    g = torch.Generator().manual_seed(2)
    p, n, delta = 0.2, 400, 0.1
    hits = (torch.rand(1000, n, generator=g) < p).sum(dim=1)
    failures = sum(monte_carlo_risk_bound(int(k), n, delta) < p for k in hits)
    assert failures / 1000 <= delta


def _problem(m: int, seed: int) -> Subject:
    g = np.random.default_rng(seed)
    x = g.standard_normal((m + 10, 2))
    y = (x @ W_STAR > 0).astype(np.int64)
    flip = g.random(m + 10) < ETA
    y = np.where(flip, 1 - y, y)
    # a data-dependent classifier: the class-mean difference direction
    v = (x[:m][y[:m] == 1].mean(0) - x[:m][y[:m] == 0].mean(0)) * 2.0
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(np.stack([-v / 2, v / 2]), dtype=torch.float32))
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    data = Data("synthetic", Split(xt[:m], yt[:m]), Split(xt[m:], yt[m:]), "classification", 2)
    return Subject(model=model, data=data)


def _true_gibbs_risk(weight: np.ndarray, std: np.ndarray, rng: np.random.Generator) -> float:
    mean = weight[1] - weight[0]
    scale = np.sqrt(std[1] ** 2 + std[0] ** 2)
    u = mean + scale * rng.standard_normal((200_000, 2))
    cos = (u @ W_STAR) / (np.linalg.norm(u, axis=1) * np.linalg.norm(W_STAR))
    angle = np.arccos(np.clip(cos, -1.0, 1.0))
    return float(np.mean(ETA + (1 - 2 * ETA) * angle / np.pi))


def test_posterior_schedule_is_constant_or_cosine():
    assert PacBayesSpec().posterior_schedule == "constant"
    with pytest.raises(ValueError, match="posterior_schedule must be constant or cosine"):
        PacBayesSpec(posterior_schedule="step")


@pytest.mark.parametrize(
    ("label", "spec", "reps"),
    [
        ("isotropic", PacBayesSpec(posterior_epochs=0, mc_trials=0, grid_octaves=3), 100),
        (
            "optimized",
            PacBayesSpec(posterior_epochs=2, posterior_lr=3e-3, batch_size=50, mc_trials=0),
            25,
        ),
        (
            "data-dependent prior",
            PacBayesSpec(
                prior="data",
                prior_epochs=2,
                prior_lr=0.05,
                posterior_epochs=1,
                posterior_lr=3e-3,
                posterior_schedule="cosine",
                batch_size=50,
                mc_trials=0,
            ),
            20,
        ),
    ],
)
def test_certificate_holds_in_at_least_1_minus_delta_of_repetitions(label, spec, reps):
    rng = np.random.default_rng(123)
    m, failures, naive_failures = 300, 0, 0
    for rep in range(reps):
        subject = _problem(m, seed=rep)
        init = {"weight": torch.zeros(2, 2)} if spec.prior == "data" else None
        options = PacBayesSpec(**{**spec.__dict__, "seed": rep})
        result = pacbayes_bound(subject, init=init, spec=options)
        expected_m = m // 2 if spec.prior == "data" else m
        assert result.m == expected_m and result.prior == ("data" if init is not None else "zero")
        # Q is N(w, s²I) for the isotropic path; the optimized path moves the mean, so its true
        # risk is computed from the returned posterior
        q = result.posterior
        weight = q.mean["weight"].double().numpy()
        std = q.std["weight"].double().numpy()
        risk = _true_gibbs_risk(weight, std, rng)
        assert result.bound >= result.empirical_error_upper >= result.empirical_error
        failures += result.bound < risk
        naive_failures += result.empirical_error < risk
    delta = spec.delta + spec.mc_delta
    assert failures / reps <= delta, label
    # the simulation can see invalid bounds: the empirical risk alone undershoots often
    assert naive_failures / reps > 0.2, label


def test_posterior_network_kl_is_the_float64_kl_at_the_best_prior_scale_and_samples_from_q():
    from occamlab.probes.bounds.posterior import PosteriorNetwork

    model = toy_model().double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    prior_mean = {k: torch.zeros_like(v) for k, v in params.items()}
    for shared in (False, True):
        net = PosteriorNetwork(
            model, mean=params, std=0.05, prior_mean=prior_mean, shared_prior_scale=shared
        )
        q = net.posterior()
        assert all(torch.allclose(q.std[k], torch.full_like(v, 0.05)) for k, v in params.items())
        scales = net.prior_scales()
        blocks = [list(params)] if shared else [[k] for k in params]
        expected = 0.0
        for names, scale in zip(blocks, scales, strict=True):
            part = Gaussian({k: q.mean[k] for k in names}, {k: q.std[k] for k in names})
            prior = Gaussian.isotropic({k: prior_mean[k] for k in names}, scale)
            expected += gaussian_kl(part, prior)
            # the closed-form scale is the minimizer: nudging it either way raises the KL
            for factor in (0.97, 1.03):
                nudged = Gaussian.isotropic({k: prior_mean[k] for k in names}, scale * factor)
                assert gaussian_kl(part, nudged) > gaussian_kl(part, prior)
        assert float(net.kl().detach()) == pytest.approx(expected, rel=1e-10)
    x = torch.randn(4, 5, dtype=torch.float64)
    net.eval()
    assert torch.allclose(net(x), model(x))  # eval mode: the mean network
    net.train()
    assert not torch.allclose(net(x), model(x))  # train mode: a draw from Q
    assert all(not m.training for m in net.base.modules())  # the network itself stays in eval
