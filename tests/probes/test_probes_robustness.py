"""PGD (exact worst cases of linear models), the accuracy-vs-ε curve, adversarial training in
the one loop, and Tsipras et al.'s closed forms (against simulation with fixed seeds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm as gaussian
from torch import nn

from occamlab import make_subject
from occamlab.data import data_spec, load_data
from occamlab.data.tsipras import tsipras_sample
from occamlab.models import model_spec
from occamlab.probes.robustness import (
    PGDSpec,
    RobustnessSpec,
    adversarial_fit,
    attacked_accuracy,
    averaging_accuracy,
    bayes_accuracy,
    bayes_weights,
    linear_accuracy,
    pgd,
    project,
    random_start,
    robustness_curve,
    tradeoff_bound,
)
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit


def _linear(w: torch.Tensor, b: float = 0.0) -> nn.Linear:
    """Two logits whose difference is ``w·x + b`` (class 1 iff positive), in float64."""
    layer = nn.Linear(len(w), 2).double()
    with torch.no_grad():
        layer.weight.copy_(torch.stack([torch.zeros_like(w), w]))
        layer.bias.copy_(torch.tensor([0.0, b], dtype=torch.float64))
    return layer


def _batch(n=64, d=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(
        0, 2, (n,), generator=g
    )


def test_linf_pgd_on_a_linear_model_is_the_exact_worst_case():
    w = torch.tensor([1.0, -2.0, 0.5, 3.0, -0.1, 0.7, -1.3], dtype=torch.float64)
    x, y = _batch()
    sign = (2 * y - 1).double()[:, None]  # the adversary lowers y·(w·x): x − ε y sign(w)
    worst = x - 0.3 * sign * torch.sign(w)
    for steps, alpha in ((1, 0.3), (4, 0.1), (10, 0.0)):
        attack = PGDSpec(eps=0.3, steps=steps, step_size=alpha, random_start=False)
        assert torch.equal(pgd(_linear(w), x, y, attack), worst)
    # from a random start too, once the steps can cross the ball (2.5ε in all)
    attack = PGDSpec(eps=0.3, steps=10)
    adv = pgd(_linear(w), x, y, attack, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(adv, worst, atol=1e-15)


def test_l2_pgd_on_a_linear_model_moves_against_the_weights():
    w = torch.tensor([1.0, -2.0, 0.5, 3.0, -0.1, 0.7, -1.3], dtype=torch.float64)
    x, y = _batch()
    sign = (2 * y - 1).double()[:, None]
    worst = x - 0.8 * sign * w / w.norm()
    attack = PGDSpec(eps=0.8, norm="l2", steps=5, random_start=False)
    assert torch.allclose(pgd(_linear(w), x, y, attack), worst, atol=1e-12)
    # from a random start the part orthogonal to w shrinks at every projection
    attack = PGDSpec(eps=0.8, norm="l2", steps=20)
    adv = pgd(_linear(w), x, y, attack, generator=torch.Generator().manual_seed(0))
    assert ((adv - x).norm(dim=1) <= 0.8 + 1e-12).all()
    lowered = -(sign[:, 0] * ((adv - x) @ w))  # the margin lost, at most ε‖w‖₂
    assert (lowered >= 0.95 * 0.8 * w.norm()).all() and (lowered <= 0.8 * w.norm() + 1e-12).all()


def test_projection_random_start_and_box_keep_to_the_ball():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 3, 5, generator=g)
    for norm_name, measure in (("linf", lambda d: d.flatten(1).abs().amax(1)),
                               ("l2", lambda d: d.flatten(1).norm(dim=1))):  # fmt: skip
        start = random_start(x, 0.5, norm_name, g)
        assert (measure(start) <= 0.5 + 1e-6).all() and measure(start).max() > 0.3
        big = 10 * torch.randn(x.shape, generator=g)
        assert torch.allclose(measure(project(big, 0.5, norm_name)), torch.full((200,), 0.5))
    model = nn.Sequential(nn.Flatten(), nn.Linear(15, 3))
    y = torch.randint(0, 3, (200,), generator=g)
    for norm_name in ("linf", "l2"):
        attack = PGDSpec(eps=0.5, norm=norm_name, clip_min=0.0, clip_max=1.0)
        adv = pgd(model, x, y, attack, generator=torch.Generator().manual_seed(3))
        assert adv.min() >= 0 and adv.max() <= 1 and adv.shape == x.shape
        delta = (adv - x).flatten(1)
        size = delta.abs().amax(1) if norm_name == "linf" else delta.norm(dim=1)
        assert (size <= 0.5 + 1e-6).all()


def test_pgd_is_seeded_leaves_global_rng_and_modes_alone():
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    model.train()
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    state = torch.get_rng_state()
    attack = PGDSpec(eps=0.2)
    a = pgd(model, x, y, attack, generator=torch.Generator().manual_seed(7))
    b = pgd(model, x, y, attack, generator=torch.Generator().manual_seed(7))
    c = pgd(model, x, y, attack, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)  # eval mode: dropout off, deterministic
    assert torch.equal(torch.get_rng_state(), state)
    assert all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())  # only the input is differentiated
    assert torch.equal(pgd(model, x, y, PGDSpec(eps=0.0)), x)
    with pytest.raises(ValueError, match="generator"):
        pgd(model, x, y, attack)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"eps": -1.0}, "eps"),
        ({"eps": 0.1, "norm": "l1"}, "norm"),
        ({"eps": 0.1, "steps": 0}, "steps"),
        ({"eps": 0.1, "clip_min": 0.0}, "clip_max"),
        ({"eps": 0.1, "clip_min": 1.0, "clip_max": 0.0}, "clip_min"),
    ],
)
def test_attack_options_are_validated(options, message):
    with pytest.raises(ValueError, match=message):
        PGDSpec(**options)


def test_default_step_is_madrys():
    assert PGDSpec(eps=0.3, steps=10).alpha == pytest.approx(0.075)
    assert PGDSpec(eps=0.3, steps=10, step_size=0.01).alpha == 0.01


# --- Tsipras et al.'s closed forms ---------------------------------------------------------------


def _simulate(w1, w, b, *, p, eta, eps, n=400_000, seed=0):
    """Worst-case accuracy of sign(w₁x₁ + w·x_g + b) on n samples, by the margin (float64)."""
    s = tsipras_sample(n, p=p, dim=len(w), eta=eta, generator=torch.Generator().manual_seed(seed))
    x, sign = s.x.double().numpy(), 2.0 * s.y.numpy() - 1
    full = np.concatenate([[w1], w])
    margin = sign * (x @ full + b) - eps * np.abs(full).sum()
    return float((margin > 0).mean())


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.4])
def test_linear_accuracy_matches_simulation(eps):
    p, d = 0.9, 30
    eta = 2.0 / math.sqrt(d)
    w = np.random.default_rng(1).normal(0.3, 0.5, d)
    closed = linear_accuracy(0.8, w, 0.2, p=p, eta=eta, eps=eps)
    simulated = _simulate(0.8, w, 0.2, p=p, eta=eta, eps=eps)
    assert abs(closed - simulated) < 4 * math.sqrt(closed * (1 - closed) / 400_000) + 1e-12


def test_the_papers_special_cases():
    p, d = 0.95, 100
    eta = 3.0 / math.sqrt(d)
    ones = np.ones(d)
    # averaging classifier: Φ(η√d) clean, Φ(−η√d) at ε = 2η (ℓ∞)
    assert linear_accuracy(0.0, ones, p=p, eta=eta) == pytest.approx(gaussian.cdf(3.0), abs=1e-14)
    assert averaging_accuracy(eta=eta, dim=d) == pytest.approx(gaussian.cdf(3.0), abs=1e-14)
    assert linear_accuracy(0.0, ones, p=p, eta=eta, eps=2 * eta) == pytest.approx(
        gaussian.cdf(-3.0), abs=1e-14
    )
    assert averaging_accuracy(eta=eta, dim=d, eps=2 * eta) == pytest.approx(gaussian.cdf(-3.0))
    # sign(x₁): p at any ε < 1, and 0 beyond (the adversary flips x₁)
    zeros = np.zeros(d)
    assert linear_accuracy(1.0, zeros, p=p, eta=eta, eps=0.6) == pytest.approx(p, abs=1e-15)
    assert linear_accuracy(1.0, zeros, p=p, eta=eta, eps=1.5) == 0.0
    # the Bayes classifier: the closed form below, and no linear classifier beats it
    w1, w = bayes_weights(p=p, eta=eta, dim=d)
    half = math.log(p / (1 - p)) / (2 * eta)
    expected = p * gaussian.cdf((d * eta + half) / math.sqrt(d)) + (1 - p) * gaussian.cdf(
        (d * eta - half) / math.sqrt(d)
    )
    assert bayes_accuracy(p=p, eta=eta, dim=d) == pytest.approx(expected, abs=1e-14)
    rng = np.random.default_rng(0)
    for _ in range(50):
        trial = linear_accuracy(rng.normal(w1, 1), w + rng.normal(0, 0.1, d), p=p, eta=eta)
        assert trial <= expected + 1e-12
    assert _simulate(w1, w, 0.0, p=p, eta=eta, eps=0.0) == pytest.approx(expected, abs=3e-4)


def test_theorem_2_1_bound_holds_for_the_papers_classifiers():
    p, d = 0.9, 50
    eta = 2.0 / math.sqrt(d)
    assert tradeoff_bound(p=p, standard_accuracy=0.99) == pytest.approx(0.09)
    assert tradeoff_bound(p=p, standard_accuracy=0.5) == 1.0
    w1, w = bayes_weights(p=p, eta=eta, dim=d)
    for a, v in ((w1, w), (0.0, np.ones(d)), (1.0, np.ones(d) * 0.05), (1.0, np.zeros(d))):
        clean = linear_accuracy(a, v, p=p, eta=eta)
        robust = linear_accuracy(a, v, p=p, eta=eta, eps=2 * eta)
        assert robust <= tradeoff_bound(p=p, standard_accuracy=clean) + 1e-12


def test_tsipras_data_set_has_the_stated_law():
    data = load_data(data_spec("tsipras", p=0.8, dim=20, eta_scale=2.0, num_train=20_000))
    x, sign = data.train.x.double(), 2.0 * data.train.y.double() - 1
    assert data.num_outputs == 2 and x.shape == (20_000, 21)
    assert set(x[:, 0].unique().tolist()) == {-1.0, 1.0}
    assert float((x[:, 0] == sign).double().mean()) == pytest.approx(0.8, abs=0.01)
    eta = 2.0 / math.sqrt(20)
    assert float((x[:, 1:] * sign[:, None]).mean()) == pytest.approx(eta, abs=0.01)
    assert float(x[:, 1:].std()) == pytest.approx(math.sqrt(1 + eta**2), abs=0.01)
    with pytest.raises(ValueError, match="p must"):
        data_spec("tsipras", p=0.4)


def test_attacked_accuracy_of_a_linear_subject_is_the_closed_form_on_the_sample():
    p, d = 0.9, 40
    spec = data_spec("tsipras", p=p, dim=d, num_train=10, num_test=20_000, seed=3)
    subject = make_subject(model=model_spec("mlp", depth=0), data=spec, seed=0)
    eta = spec.eta
    w_true = torch.tensor([1.0] + [0.3] * d)
    with torch.no_grad():
        subject.model.head.weight.copy_(torch.stack([torch.zeros(d + 1), w_true]))
        subject.model.head.bias.zero_()
    x, sign = subject.data.test.x.double(), 2.0 * subject.data.test.y.double() - 1
    worst = sign * (x @ w_true.double()) - 2 * eta * w_true.abs().sum()
    attack = PGDSpec(eps=2 * eta, steps=10)
    measured = attacked_accuracy(subject, attack, generator=torch.Generator().manual_seed(0))
    assert measured == float((worst > 0).double().mean())  # the attack finds every worst case
    closed = linear_accuracy(1.0, [0.3] * d, p=p, eta=eta, eps=2 * eta)
    assert abs(measured - closed) < 4 * math.sqrt(closed * (1 - closed) / 20_000)


# --- the curve and adversarial training ----------------------------------------------------------


def _small_subject(seed=0) -> Subject:
    data = data_spec("gaussian_mixture", dim=4, num_classes=3, num_train=120, num_test=60)
    return make_subject(model=model_spec("mlp", width=8, depth=1), data=data, seed=seed)


def test_curve_starts_at_the_clean_accuracy_and_is_reproducible():
    subject = _small_subject()
    fit(subject, TrainSpec(optimizer="adam", lr=0.05, batch_size=0, epochs=30, seed=0))
    curve = robustness_curve(subject, eps_max=1.0, points=5, steps=5, limit=0)
    assert curve.eps == [0.0, 0.25, 0.5, 0.75, 1.0] and curve.n == 60
    assert curve.accuracy[0] == subject.evaluate(split="test").accuracy
    assert curve.accuracy[-1] < curve.accuracy[0]
    again = robustness_curve(subject, spec=RobustnessSpec(eps_max=1.0, points=5, steps=5, limit=0))
    assert again.accuracy == curve.accuracy and curve.accuracy_at(0.5) == curve.accuracy[2]
    d = curve.to_dict()
    assert d["norm"] == "linf" and d["accuracy"] == curve.accuracy
    assert curve.plot().get_xlabel().startswith("ℓ∞")
    with pytest.raises(ValueError, match="points"):
        RobustnessSpec(points=1)
    regression = make_subject(
        model=model_spec("mlp", width=4, depth=1),
        data=data_spec("teacher", num_train=10, num_test=10),
    )
    with pytest.raises(ValueError, match="classification"):
        attacked_accuracy(regression, PGDSpec(eps=0.1, random_start=False))


def test_adversarial_training_goes_through_the_one_loop():
    recipe = TrainSpec(optimizer="adam", lr=0.05, batch_size=32, epochs=5, seed=0)
    plain, zero = _small_subject(), _small_subject()
    fit(plain, recipe)
    adversarial_fit(zero, recipe, PGDSpec(eps=0.0))  # ε = 0: ordinary training, bitwise
    assert all(torch.equal(plain.params()[k], v) for k, v in zero.params().items())
    runs = []
    for _ in range(2):
        s = _small_subject()
        result = adversarial_fit(s, recipe, PGDSpec(eps=0.5, steps=3))
        runs.append(s.params())
        assert result.steps == 5 * 4 and s.model.training
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])  # seeded random starts
    assert not all(torch.equal(runs[0][k], plain.params()[k]) for k in runs[0])
