"""Every measure on networks whose value is known in closed form: a linear model and a diagonal
ReLU network (x ↦ D₂ relu(D₁ x)), and a one-weight classifier for the sharpness searches."""

import math

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.bounds.norms import norm_bounds
from occamlab.probes.measures import CATALOG, generalization_measures
from occamlab.probes.measures.norms import norm_measures, path_norm
from occamlab.probes.measures.optimization import gradient_noise, steps_to_loss
from occamlab.probes.measures.output import output_measures
from occamlab.probes.measures.size import size_measures
from occamlab.probes.sharpness import pacbayes_sigma, worst_case_alpha
from occamlab.subject import Subject

D1 = torch.tensor([2.0, 0.5, 1.5], dtype=torch.float64)
D2 = torch.tensor([1.0, 3.0, 0.25], dtype=torch.float64)


def diagonal_subject() -> Subject:
    model = nn.Sequential(
        nn.Linear(3, 3, bias=False), nn.ReLU(), nn.Linear(3, 3, bias=False)
    ).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.diag(D1))
        model[2].weight.copy_(torch.diag(D2))
    x = torch.eye(3, dtype=torch.float64).repeat(4, 1) * torch.tensor([[1.0], [2.0], [0.5]]).repeat(
        4, 1
    )
    y = torch.tensor([0, 1, 2] * 4)
    data = Data("diag", Split(x, y), Split(x[:3], y[:3]), "classification", 3)
    return Subject(model=model, data=data)


def test_norm_measures_of_a_diagonal_network():
    subject = diagonal_subject()
    init = {k: 0.5 * v for k, v in subject.params().items()}
    values = norm_measures(subject, init=init, margin=2.0)
    spec = [D1.abs().max(), D2.abs().max()]
    fro = [D1.norm(), D2.norm()]
    log_spec = sum(2 * math.log(float(s)) for s in spec)
    log_fro = sum(2 * math.log(float(f)) for f in fro)
    assert values["log_prod_spectral"] == pytest.approx(log_spec, rel=1e-10)
    assert values["log_sum_spectral"] == pytest.approx(math.log(2) + log_spec / 2, rel=1e-10)
    assert values["log_prod_frobenius"] == pytest.approx(log_fro, rel=1e-10)
    assert values["log_prod_spectral_over_margin"] == pytest.approx(log_spec - 2 * math.log(2.0))
    assert values["log_sum_spectral_over_margin"] == pytest.approx(
        math.log(2) + (log_spec - 2 * math.log(2.0)) / 2
    )
    assert values["log_sum_frobenius"] == pytest.approx(math.log(2) + log_fro / 2, rel=1e-10)
    assert values["log_prod_frobenius_over_margin"] == pytest.approx(log_fro - 2 * math.log(2.0))
    assert values["log_sum_frobenius_over_margin"] == pytest.approx(
        math.log(2) + (log_fro - 2 * math.log(2.0)) / 2
    )
    stable = sum(float(f**2 / s**2) for f, s in zip(fro, spec, strict=True))
    assert values["frobenius_over_spectral"] == pytest.approx(stable, rel=1e-10)
    # w − w⁰ = w/2
    assert values["distance_frobenius"] == pytest.approx(float((D1**2).sum() + (D2**2).sum()) / 4)
    assert values["distance_spectral"] == pytest.approx(float(spec[0] ** 2 + spec[1] ** 2) / 4)
    assert values["parameter_norm"] == pytest.approx(float((D1**2).sum() + (D2**2).sum()))
    # paths i → i only: Σ_i d1_i² d2_i²
    expected_path = float((D1**2 * D2**2).sum())
    assert values["path_norm"] == pytest.approx(expected_path, rel=1e-12)
    assert values["path_norm_over_margin"] == pytest.approx(expected_path / 4.0)
    no_init = norm_measures(subject, margin=-1.0)
    assert no_init["distance_l2"] is None and no_init["log_prod_spectral_over_margin"] is None


def test_path_norm_is_undefined_for_non_relu_networks():
    subject = diagonal_subject()
    subject.model[1] = nn.Tanh()
    assert path_norm(subject) is None


def test_output_measures_of_known_logits():
    subject = diagonal_subject()
    # logits of example c·e_i are D₂ D₁ c e_i: the correct class gets c·d1_i·d2_i, others 0
    products = (D1 * D2).tolist()
    scales = [1.0, 2.0, 0.5]
    logit = [[scales[r] * products[r]] for r in range(3)]
    values = output_measures(subject)
    margins = sorted(logit[r][0] for r in range(3) for _ in range(4))
    assert values["margin"] == pytest.approx(margins[0])  # ⌊12/10⌋ = 1st smallest
    assert values["inverse_margin"] == pytest.approx(1 / margins[0] ** 2)
    ce = [math.log(math.exp(v[0]) + 2.0) - v[0] for v in logit]
    assert values["cross_entropy"] == pytest.approx(sum(ce) / 3, rel=1e-10)
    ent = []
    for v in logit:
        p = [math.exp(v[0]) / (math.exp(v[0]) + 2), 1 / (math.exp(v[0]) + 2)]
        ent.append(-(p[0] * math.log(p[0]) + 2 * p[1] * math.log(p[1])))
    assert values["output_entropy"] == pytest.approx(sum(ent) / 3, rel=1e-10)
    assert size_measures(subject) == {
        "num_parameters": 18.0,
        "vc_dimension": pytest.approx(18 * 2 * math.log2(18)),
    }


def test_gradient_noise_of_linear_least_squares():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 4, generator=g, dtype=torch.float64)
    y = torch.randn(30, 2, generator=g, dtype=torch.float64)
    model = nn.Linear(4, 2, bias=False).double()
    data = Data("ls", Split(x, y), Split(x, y), "regression", 2)
    subject = Subject(model=model, data=data, loss="mse")
    w = model.weight.detach()
    residual = x @ w.T - y  # ∇ of (1/2)‖Wx − y‖² is r xᵀ; mse averages over 2 outputs
    grads = torch.einsum("ni,nj->nij", residual, x).reshape(30, -1) * (2 / 2)
    expected = float(((grads - grads.mean(0)) ** 2).sum(1).mean())
    assert gradient_noise(subject) == pytest.approx(expected, rel=1e-10)


def test_steps_to_loss_interpolates_in_log_loss():
    history = [
        {"step": 100, "train_loss": 0.5},
        {"step": 200, "train_loss": 0.05},
        {"step": 300, "train_loss": 0.005},
    ]
    t = (math.log(0.5) - math.log(0.1)) / (math.log(0.5) - math.log(0.05))
    assert steps_to_loss(history, 0.1) == pytest.approx(100 + 100 * t)
    assert steps_to_loss(history, 0.01) == pytest.approx(200 + 100 * math.log(5) / math.log(10))
    assert steps_to_loss(history, 0.001) is None
    assert steps_to_loss(history, 1.0, initial_loss=2.0) == pytest.approx(
        100 * math.log(2.0) / math.log(4.0)
    )


def one_weight_classifier(a: float = 0.8) -> Subject:
    """logits (0, a·x) on x = 1, label 1: flipped iff the perturbed difference goes below 0."""
    model = nn.Linear(1, 2, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0], [a]], dtype=torch.float64))
    x = torch.ones(20, 1, dtype=torch.float64)
    y = torch.ones(20, dtype=torch.int64)
    return Subject(model=model, data=Data("one", Split(x, y), Split(x, y), "classification", 2))


def test_worst_case_alpha_in_closed_form():
    a = 0.8
    subject = one_weight_classifier(a)
    # the worst box corner moves the logit difference a by −2α: the error jumps at α = a/2
    plain = worst_case_alpha(subject, search_depth=20)
    assert plain.bracketed and plain.alpha == pytest.approx(a / 2, rel=1e-3)
    assert plain.inverse_alpha_squared == pytest.approx(4 / a**2, rel=2e-3)
    # magnitude-aware: |u₁| ≤ α′a + ε, |u₀| ≤ ε: the jump is at α′ = 1 − 2ε/a
    eps = 1e-3
    mag = worst_case_alpha(subject, magnitude_aware=True, magnitude_epsilon=eps, search_depth=20)
    assert mag.alpha == pytest.approx(1 - 2 * eps / a, rel=1e-3)


def test_pacbayes_sigma_in_closed_form():
    a = 0.8
    subject = one_weight_classifier(a)
    # Δ ~ N(a, 2σ²): the error is Φ(−a/(√2σ)) = 0.1 at σ = a/(√2 Φ⁻¹(0.9))
    sigma = a / (math.sqrt(2) * 1.2815515655446004)
    found = pacbayes_sigma(subject, num_samples=500, search_depth=12)
    assert found.sigma == pytest.approx(sigma, rel=0.1)
    # magnitude-aware: u₀ ~ N(0, ε²), u₁ ~ N(0, σ′²a² + ε²), so Δ ~ N(a, σ′²a² + 2ε²)
    eps = 1e-3
    sigma_mag = math.sqrt(1 / 1.2815515655446004**2 - 2 * eps**2 / a**2)
    found = pacbayes_sigma(
        subject, num_samples=500, search_depth=12, magnitude_aware=True, magnitude_epsilon=eps
    )
    assert found.sigma == pytest.approx(sigma_mag, rel=0.1)


def test_generalization_measures_report_everything():
    subject = diagonal_subject()
    init = {k: 0.5 * v for k, v in subject.params().items()}
    history = [{"step": 10, "train_loss": 0.05}, {"step": 20, "train_loss": 0.005}]
    report = generalization_measures(
        subject, init=init, history=history, initial_loss=1.0, num_samples=4, search_depth=4
    )
    assert set(report.values) == set(CATALOG)
    # log-linear interpolation: 1.0 → 0.05 over 10 steps, 0.05 → 0.005 over the next 10
    first = 10 * math.log(10) / math.log(20)
    assert report.values["steps_to_loss_0.1"] == pytest.approx(first)
    assert report.values["steps_0.1_to_0.01"] == pytest.approx(
        10 + 10 * math.log(5) / math.log(10) - first
    )
    assert report.train_error == 0.0 and report.generalization_gap == report.test_error
    payload = report.to_dict()
    assert payload["catalog"]["path_norm"]["family"] == "path"
    assert payload["ingredients"]["sigma"] > 0
    assert report.notes == ()


def test_what_needs_the_initialization_or_history_is_said_when_missing():
    report = generalization_measures(diagonal_subject(), num_samples=4, search_depth=4)
    assert report.values["distance_frobenius"] is None
    assert any("initial weights are unknown (pass --init-weights" in n for n in report.notes)
    assert any("training history" in n for n in report.notes)


def test_norm_bounds_of_a_single_linear_layer():
    g = torch.Generator().manual_seed(0)
    model = nn.Linear(4, 3, bias=False).double()
    x = torch.randn(50, 4, generator=g, dtype=torch.float64)
    y = (x @ model.weight.detach().T).argmax(1)
    subject = Subject(model=model, data=Data("lin", Split(x, y), Split(x, y), "classification", 3))
    w = model.weight.detach()
    result = norm_bounds(subject)
    # d = 1: R_A = ‖A‖_σ (‖Aᵀ‖_{2,1}/‖A‖_σ)^{2/3·3/2} = ‖Aᵀ‖_{2,1} = Σ row norms
    assert result.spectral_complexity == pytest.approx(float(w.norm(dim=1).sum()), rel=1e-10)
    assert result.lipschitz == pytest.approx(float(torch.linalg.matrix_norm(w, 2)), rel=1e-10)
    assert result.margin_error == pytest.approx(0.1, abs=0.02)
    assert result.vacuous["bartlett"] == (result.bartlett > 1)


def test_sharpness_bound_forms_follow_from_sigma_alpha_and_the_norms():
    subject = diagonal_subject()
    params = subject.params()
    init = {k: 0.5 * v for k, v in params.items()}
    report = generalization_measures(subject, init=init, num_samples=4, search_depth=4)
    v, ing = report.values, report.ingredients
    w = torch.cat([p.reshape(-1) for p in params.values()])
    d = w - 0.5 * w
    m, omega, eps = 12, w.numel(), 1e-3
    sigma, sigma_mag, alpha = ing["sigma"], ing["sigma_magnitude"], ing["alpha"]
    assert v["pacbayes_flatness"] == pytest.approx(1 / sigma**2)
    assert v["pacbayes_init"] == pytest.approx(
        float(d.pow(2).sum()) / (4 * sigma**2) + math.log(m / sigma) + 10
    )
    assert v["pacbayes_orig"] == pytest.approx(
        float(w.pow(2).sum()) / (4 * sigma**2) + math.log(m / sigma) + 10
    )
    top = eps**2 + (sigma_mag**2 + 1) * float(d.pow(2).sum()) / omega
    mag = 0.25 * float(torch.log(top / (eps**2 + sigma_mag**2 * d.pow(2))).sum())
    assert v["pacbayes_mag_init"] == pytest.approx(mag + math.log(m / sigma_mag) + 10)
    mag_orig = 0.25 * float(
        torch.log(
            (eps**2 + (sigma_mag**2 + 1) * float(w.pow(2).sum()) / omega)
            / (eps**2 + sigma_mag**2 * d.pow(2))
        ).sum()
    )
    assert v["pacbayes_mag_orig"] == pytest.approx(mag_orig + math.log(m / sigma_mag) + 10)
    assert v["pacbayes_mag_flatness"] == pytest.approx(1 / sigma_mag**2)
    assert v["sharpness_flatness"] == pytest.approx(1 / alpha**2)
    assert v["sharpness_orig"] == pytest.approx(
        float(w.pow(2).sum()) * math.log(2 * omega) / (4 * alpha**2) + math.log(m / alpha) + 10
    )
    assert v["sharpness_init"] == pytest.approx(
        float(d.pow(2).sum()) * math.log(2 * omega) / (4 * alpha**2) + math.log(m / alpha) + 10
    )
    assert v["sharpness_mag_flatness"] == pytest.approx(1 / ing["alpha_magnitude"] ** 2)
