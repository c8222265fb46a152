"""Sharpness probes, checked against closed forms on least squares and on a small trained MLP.

The quadratic subject is a bias-free ``nn.Linear(5, 1)`` in float64 whose weights have |w_i| = 1
and sit exactly at the least-squares minimum (zero residual), so with M = XᵀX/n

    L(w + δ) = δᵀMδ,  H = 2M,  max_{‖δ‖₂ ≤ r} = λ_max(M) r² = ½ λ_max(H) r².

Its features share a strong common factor, so M ≈ c·11ᵀ + small and the only local maxima of δᵀMδ
over a cube are the corners ±(1, …, 1): box maxima are known exactly.
"""

import dataclasses
import itertools
import json
import math

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.sharpness import (
    AdaptiveSharpness,
    FilterNormalizedSharpness,
    KeskarSharpness,
    PacBayesSigma,
    adaptive_sharpness,
    filter_normalized_sharpness,
    keskar_sharpness,
    pacbayes_sigma,
)
from occamlab.probes.sharpness.ascent import _filter_groups
from occamlab.subject import Subject
from tests.conftest import same_up_to_rounding, toy_data, toy_model

SIGNS = (1.0, -1.0, 1.0, 1.0, -1.0)


def quadratic(*, weights=SIGNS, bias: float | None = None, minimum=SIGNS, n: int = 40):
    """Least squares with targets X·minimum (+ bias): the loss is exactly quadratic."""
    g = torch.Generator().manual_seed(0)
    d = len(weights)
    common = torch.randn(n, 1, generator=g, dtype=torch.float64)
    x = 2.0 * common + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
    target = torch.tensor(minimum, dtype=torch.float64)
    y = (x @ target).unsqueeze(1) + (bias or 0.0)
    model = nn.Linear(d, 1, bias=bias is not None).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([weights], dtype=torch.float64))
        if bias is not None:
            model.bias.fill_(bias)
    data = Data(name="quad", train=Split(x, y), test=Split(x, y), task="regression", num_outputs=1)
    return Subject(model=model, data=data), x.T @ x / n


def lambda_max(m: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(m)[-1])


def corner_max(m: torch.Tensor) -> float:
    """max over s ∈ {±1}^d of sᵀMs (brute force)."""
    corners = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=m.shape[0])), dtype=m.dtype)
    return float(torch.einsum("ci,ij,cj->c", corners, m, corners).max())


@pytest.fixture(scope="module")
def mlp() -> Subject:
    """A small MLP trained to low loss on the toy problem (probes never modify it)."""
    data = toy_data()
    model = toy_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(data.train.x), data.train.y).backward()
        optimizer.step()
    return Subject(model=model, data=data)


# -- Keskar ----------------------------------------------------------------------------------
def test_keskar_on_a_convex_quadratic_reaches_the_box_corner():
    subject, m = quadratic()
    eps = 1e-3
    result = keskar_sharpness(subject, epsilon=eps)
    # |w_i| = 1, so every half-width is ε(1 + 1) = 2ε and the maximum is at a corner
    assert result.base_loss == 0.0
    assert result.perturbed_loss == pytest.approx(corner_max(m) * (2 * eps) ** 2, rel=1e-9)
    assert result.sharpness == pytest.approx(100 * result.perturbed_loss, rel=1e-12)
    assert result.perturbation_norm == pytest.approx(2 * eps * math.sqrt(5), rel=1e-9)
    assert result.box_norm == pytest.approx(2 * eps * math.sqrt(5), rel=1e-12)
    assert result.optimizer == "L-BFGS-B"
    assert 1 <= result.iterations <= result.max_iter == 10
    assert result.gradient_evaluations >= result.iterations


def test_keskar_is_exactly_zero_at_zero_epsilon(mlp):
    for subspace_dim in (None, 7):
        result = keskar_sharpness(mlp, epsilon=0.0, subspace_dim=subspace_dim)
        assert result.sharpness == 0.0
        assert result.perturbed_loss == result.base_loss
        assert result.iterations == 0


def test_keskar_grows_with_epsilon_and_is_relative_to_the_base_loss(mlp):
    results = [keskar_sharpness(mlp, epsilon=eps) for eps in (1e-4, 1e-3, 5e-3)]
    values = [r.sharpness for r in results]
    assert 0 < values[0] < values[1] < values[2]
    for r in results:
        assert r.base_loss == pytest.approx(mlp.evaluate().loss, rel=1e-6)
        want = 100 * (r.perturbed_loss - r.base_loss) / (1 + r.base_loss)
        assert r.sharpness == pytest.approx(want, rel=1e-12)


def test_keskar_random_subspace_is_finite_and_nonnegative(mlp):
    result = keskar_sharpness(mlp, epsilon=1e-3, subspace_dim=10, seed=3)
    assert isinstance(result, KeskarSharpness)
    assert result.subspace_dim == 10
    assert math.isfinite(result.sharpness) and result.sharpness >= 0
    assert result.num_parameters == sum(p.numel() for p in mlp.model.parameters())
    other = keskar_sharpness(mlp, epsilon=1e-3, subspace_dim=10, seed=4)
    assert other.to_dict() != result.to_dict()  # another seed draws another subspace


# -- adaptive sharpness ----------------------------------------------------------------------
def test_adaptive_l2_equals_half_lambda_max_rho_squared_when_t_is_identity():
    subject, m = quadratic()  # |w| = 1 and η = 0: T_w = I
    rho = 0.05
    result = adaptive_sharpness(subject, rho=rho, steps=40)
    bound = lambda_max(m) * rho**2  # = ½ λ_max(H) ρ², H = 2M
    assert isinstance(result, AdaptiveSharpness)
    assert result.sharpness == pytest.approx(bound, rel=1e-8)
    assert result.sharpness <= bound * (1 + 1e-12)
    assert result.normalized_radius == pytest.approx(rho, rel=1e-12)
    assert result.first_order_increase == pytest.approx(0.0, abs=1e-12)  # ∇L = 0 at the minimum
    assert result.optimizer == "projected gradient ascent"
    assert result.gradient_evaluations == 1 + 40


def test_adaptive_eta_scales_the_ball():
    subject, m = quadratic()
    rho, eta = 0.05, 1.0  # T_w = (|w| + η) I = 2 I
    result = adaptive_sharpness(subject, rho=rho, eta=eta, steps=40)
    assert result.sharpness == pytest.approx(lambda_max(m) * (2 * rho) ** 2, rel=1e-8)
    assert result.perturbation_norm == pytest.approx(2 * rho, rel=1e-12)


def test_adaptive_linf_reaches_the_cube_corner():
    subject, m = quadratic()
    rho = 0.05
    result = adaptive_sharpness(subject, rho=rho, p="inf", steps=20)
    assert result.sharpness == pytest.approx(corner_max(m) * rho**2, rel=1e-9)
    assert result.normalized_radius == pytest.approx(rho, rel=1e-12)


def test_adaptive_one_step_estimate_matches_the_quadratic_expansion():
    # away from the minimum: L(w + δ) = L(w) + gᵀδ + δᵀMδ exactly, one step δ₁ = ρ g/‖g‖ (T = I)
    subject, m = quadratic(weights=SIGNS, minimum=(0.5, -1.5, 1.0, 0.0, -1.0))
    rho = 0.05
    w = torch.tensor(SIGNS, dtype=torch.float64)
    g = 2 * m @ (w - torch.tensor((0.5, -1.5, 1.0, 0.0, -1.0), dtype=torch.float64))
    unit = g / g.norm()
    result = adaptive_sharpness(subject, rho=rho, steps=30)
    assert result.gradient_norm == pytest.approx(float(g.norm()), rel=1e-10)
    assert result.first_order_increase == pytest.approx(rho * float(g.norm()), rel=1e-10)
    want = rho * float(g.norm()) + rho**2 * float(unit @ m @ unit)
    assert result.one_step_sharpness == pytest.approx(want, rel=1e-10)
    assert result.sharpness >= result.one_step_sharpness * (1 - 1e-9)  # ascent does no worse


def test_adaptive_zero_weights_cannot_move_without_eta():
    subject, _ = quadratic(weights=(0.0,) * 5)
    result = adaptive_sharpness(subject, rho=0.5, eta=0.0)
    assert result.sharpness == 0.0
    assert result.movable_parameters == 0
    assert result.perturbation_norm == 0.0
    moved = adaptive_sharpness(subject, rho=0.5, eta=0.1)
    assert moved.movable_parameters == 5 and moved.sharpness > 0


def test_zero_radius_gives_exactly_zero(mlp):
    for result in (
        adaptive_sharpness(mlp, rho=0.0, steps=3),
        adaptive_sharpness(mlp, rho=0.0, p="inf", steps=3),
        filter_normalized_sharpness(mlp, rho=0.0, steps=3),
    ):
        assert result.sharpness == 0.0
        assert result.one_step_sharpness == 0.0
        assert result.perturbation_norm == 0.0


# -- filter-normalized sharpness -------------------------------------------------------------
def test_filter_normalized_single_filter_closed_form():
    subject, m = quadratic()  # one output neuron: one filter of norm √5
    rho = 0.05
    result = filter_normalized_sharpness(subject, rho=rho, steps=40)
    assert isinstance(result, FilterNormalizedSharpness)
    assert result.sharpness == pytest.approx(lambda_max(m) * rho**2 * 5, rel=1e-8)
    assert result.perturbation_norm == pytest.approx(rho * math.sqrt(5), rel=1e-12)


def test_filter_normalized_bias_handling():
    plain, _ = quadratic()
    with_bias, _ = quadratic(bias=1.0)
    rho = 0.05
    reference = filter_normalized_sharpness(plain, rho=rho, steps=40)
    ignored = filter_normalized_sharpness(with_bias, rho=rho, steps=40, vectors="ignore")
    normalized = filter_normalized_sharpness(with_bias, rho=rho, steps=40, vectors="normalize")
    assert ignored.vectors == "ignore" and normalized.vectors == "normalize"
    assert ignored.movable_parameters == 5 and normalized.movable_parameters == 6
    assert ignored.sharpness == pytest.approx(reference.sharpness, rel=1e-9)
    assert normalized.sharpness >= ignored.sharpness


def test_filter_groups_are_slices_along_dim_zero():
    conv = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    bias = torch.randn(4, dtype=torch.float64)
    scale, group = _filter_groups({"conv": conv, "bias": bias}, "ignore")
    assert group.tolist() == [i for i in range(4) for _ in range(12)] + [4] * 4
    norms = conv.reshape(4, -1).norm(dim=1)
    assert torch.equal(scale[:48], norms.repeat_interleave(12))
    assert torch.equal(scale[48:], torch.zeros(4, dtype=torch.float64))
    scale, _ = _filter_groups({"conv": conv, "bias": bias}, "normalize")
    assert torch.allclose(scale[48:], bias.norm().expand(4))


# -- PAC-Bayes σ -----------------------------------------------------------------------------
def test_pacbayes_loss_deviation_matches_half_sigma_squared_trace_h():
    subject, m = quadratic()
    target = 0.01
    result = pacbayes_sigma(subject, measure="loss", target_deviation=target, num_samples=200)
    trace_m = float(torch.trace(m))  # E[L(w + u)] − L(w) = ½σ² tr H = σ² tr M
    assert isinstance(result, PacBayesSigma)
    assert result.bracketed and result.base_value == 0.0
    # common random numbers: the MC deviation is σ²·const, so bisection lands on the target
    assert result.deviation <= target
    assert result.deviation == pytest.approx(target, rel=2e-3)
    assert abs(result.deviation - result.sigma**2 * trace_m) <= 4 * result.perturbed_standard_error
    assert result.sigma == pytest.approx(math.sqrt(target / trace_m), rel=0.1)
    assert result.inverse_sigma_squared == pytest.approx(1 / result.sigma**2, rel=1e-12)
    assert result.sigma < result.sigma_upper < result.sigma * 1.01
    assert result.loss_evaluations == 1 + 200 * result.sigma_evaluations


def test_pacbayes_magnitude_aware_adds_epsilon_in_quadrature():
    subject, _ = quadratic()  # |w_i| = 1: σ_i² = σ² + ε², same draws as the plain search
    plain = pacbayes_sigma(subject, measure="loss", target_deviation=0.01, num_samples=50)
    aware = pacbayes_sigma(
        subject,
        measure="loss",
        target_deviation=0.01,
        num_samples=50,
        magnitude_aware=True,
        magnitude_epsilon=0.01,
    )
    assert aware.magnitude_aware and aware.magnitude_epsilon == 0.01
    assert aware.sigma**2 + 0.01**2 == pytest.approx(plain.sigma**2, rel=2e-3)


def test_pacbayes_error_measure_on_a_trained_mlp(mlp):
    result = pacbayes_sigma(mlp, target_deviation=0.1, num_samples=8, search_depth=8)
    assert result.measure == "error"
    assert result.bracketed
    assert result.base_error == pytest.approx(mlp.evaluate().error)
    assert 0 < result.sigma < result.sigma_upper
    assert result.deviation <= 0.1
    assert result.sigma_evaluations == len(result.trace)


def test_pacbayes_unbracketed_search_is_reported_and_json_safe(mlp):
    # an error can never rise by more than 1: every σ satisfies the constraint
    result = pacbayes_sigma(mlp, target_deviation=1.0, num_samples=2, search_depth=2)
    assert not result.bracketed
    assert result.sigma_upper == math.inf
    assert result.to_dict()["sigma_upper"] is None
    json.dumps(result.to_dict(), allow_nan=False)


def test_pacbayes_error_needs_classification():
    subject, _ = quadratic()
    with pytest.raises(ValueError, match="use measure='loss'"):
        pacbayes_sigma(subject)


# -- shared contract -------------------------------------------------------------------------
def _all_probes(subject: Subject, seed: int = 0):
    return [
        keskar_sharpness(subject, epsilon=1e-3, seed=seed),
        keskar_sharpness(subject, epsilon=1e-3, subspace_dim=5, seed=seed),
        adaptive_sharpness(subject, rho=0.05, seed=seed),
        adaptive_sharpness(subject, rho=0.05, p="inf", eta=0.01, seed=seed),
        filter_normalized_sharpness(subject, rho=0.05, vectors="normalize", seed=seed),
        pacbayes_sigma(subject, num_samples=4, search_depth=4, seed=seed),
    ]


def test_probes_use_eval_mode_and_leave_the_module_untouched():
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 3))
    subject = Subject(model=model, data=toy_data())
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = _all_probes(subject)
    second = _all_probes(subject)  # dropout active would make these differ
    for a, b in zip(first, second, strict=True):
        assert same_up_to_rounding(a.to_dict(), b.to_dict())
        assert a.eval_mode is True
        assert a.stochastic_layers == ("2",)
        assert a.num_examples == 64 and a.split == "train"
        json.dumps(a.to_dict(), allow_nan=False)
        assert dataclasses.is_dataclass(a)
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.seed = 1  # type: ignore[misc]
    assert all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_seed_determinism(mlp):
    first, second = _all_probes(mlp, seed=5), _all_probes(mlp, seed=5)
    assert same_up_to_rounding([r.to_dict() for r in first], [r.to_dict() for r in second])
    assert not same_up_to_rounding(first[0].to_dict(), first[1].to_dict())


def test_limit_and_split_select_the_examples(mlp):
    result = adaptive_sharpness(mlp, rho=0.01, steps=2, limit=10)
    assert result.num_examples == 10 and result.limit == 10
    assert result.base_loss == pytest.approx(mlp.evaluate(limit=10).loss, rel=1e-6)
    test = keskar_sharpness(mlp, epsilon=1e-4, split="test")
    assert test.num_examples == 32 and test.split == "test"
    assert test.base_loss == pytest.approx(mlp.evaluate(split="test").loss, rel=1e-6)


@pytest.mark.parametrize(
    ("probe", "options", "error", "message"),
    [
        (keskar_sharpness, {"epsilon": -1e-3}, ValueError, "epsilon must be finite and >= 0"),
        (keskar_sharpness, {"epsilon": float("nan")}, ValueError, "epsilon must be finite"),
        (keskar_sharpness, {"epsilon": "big"}, TypeError, "epsilon must be a real number"),
        (keskar_sharpness, {"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        (keskar_sharpness, {"subspace_dim": 0}, ValueError, "subspace_dim must be >= 1"),
        (keskar_sharpness, {"subspace_dim": 10**6}, ValueError, "at most the number of param"),
        (adaptive_sharpness, {"rho": -0.1}, ValueError, "rho must be finite and >= 0"),
        (adaptive_sharpness, {"p": 1}, ValueError, "p must be one of 2, 'inf'"),
        (adaptive_sharpness, {"p": True}, ValueError, "p must be one of 2, 'inf'"),
        (adaptive_sharpness, {"eta": -1.0}, ValueError, "eta must be finite and >= 0"),
        (adaptive_sharpness, {"steps": 0}, ValueError, "steps must be >= 1"),
        (adaptive_sharpness, {"step_size": 0.0}, ValueError, "step_size must be finite and > 0"),
        (filter_normalized_sharpness, {"rho": -1}, ValueError, "rho must be finite and >= 0"),
        (filter_normalized_sharpness, {"vectors": "drop"}, ValueError, "vectors must be one of"),
        (pacbayes_sigma, {"target_deviation": 0.0}, ValueError, "target_deviation must be"),
        (pacbayes_sigma, {"target_deviation": 2.0}, ValueError, "error must be <= 1"),
        (pacbayes_sigma, {"measure": "accuracy"}, ValueError, "measure must be one of"),
        (pacbayes_sigma, {"num_samples": 1}, ValueError, "num_samples must be >= 2"),
        (pacbayes_sigma, {"sigma_range": (1.0, 0.1)}, ValueError, "low < high"),
        (pacbayes_sigma, {"magnitude_epsilon": -1.0}, ValueError, "magnitude_epsilon must be"),
        (adaptive_sharpness, {"split": "val"}, ValueError, "unknown split 'val'"),
        (keskar_sharpness, {"limit": 0}, ValueError, "limit must be >= 1"),
        (pacbayes_sigma, {"seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_invalid_options_are_rejected(mlp, probe, options, error, message):
    with pytest.raises(error, match=message):
        probe(mlp, **options)
