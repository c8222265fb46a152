"""IRMv1: the penalty against hand-computed values, and the objective through the one loop."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit
from occamlab.train.irm import IRMv1, irm_penalty

LN3 = math.log(3.0)


def test_penalty_of_one_example_by_hand():
    # CE(w z, 1) with z = (0, ln 3) is log(1 + 3^−w): d/dw at 1 is −ln 3 · σ(−ln 3) = −ln 3 / 4
    z = torch.tensor([[0.0, LN3]], dtype=torch.float64)
    assert irm_penalty(z, torch.tensor([1]), "cross_entropy").item() == pytest.approx(
        LN3**2 / 16, rel=1e-14
    )
    # label 0: log(1 + 3^w), derivative ln 3 · 3/4
    assert irm_penalty(z, torch.tensor([0]), "cross_entropy").item() == pytest.approx(
        9 * LN3**2 / 16, rel=1e-14
    )


def test_penalty_of_a_batch_is_the_square_of_the_mean_derivative():
    # dR/dw at w = 1 is the mean over examples of Σ_k p_k z_k − z_y (p = softmax z)
    z = torch.tensor([[0.0, LN3], [0.0, LN3], [1.0, -2.0]], dtype=torch.float64)
    y = torch.tensor([1, 0, 0])
    p = torch.softmax(z, dim=1)
    derivative = ((p * z).sum(dim=1) - z[torch.arange(3), y]).mean()
    by_hand = (-LN3 / 4 + 3 * LN3 / 4 + (p[2] @ z[2] - 1.0)) / 3
    assert derivative.item() == pytest.approx(by_hand.item(), rel=1e-14)
    assert irm_penalty(z, y, "cross_entropy").item() == pytest.approx(
        by_hand.item() ** 2, rel=1e-13
    )
    # squared loss with t = 0: d/dw mean (w z)² = 2 mean z² at w = 1
    t = torch.zeros(3, 2, dtype=torch.float64)
    mse = torch.nn.functional.mse_loss(z, t)
    assert mse.item() == pytest.approx((z**2).mean().item())
    assert irm_penalty(z, t, "mse").item() == pytest.approx(
        (2 * (z**2).mean()).item() ** 2, rel=1e-13
    )


def _subject() -> Subject:
    """A linear model whose outputs are (0, ln 3) for input 1: two environments, one example
    each, labels 1 and 0."""
    model = nn.Linear(1, 2, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0], [LN3]], dtype=torch.float64))
    x = torch.ones(2, 1, dtype=torch.float64)
    split = Split(x, torch.tensor([1, 0]))
    return Subject(model=model, data=Data("toy", split, split, "classification", 2))


def test_objective_by_hand_before_and_after_annealing():
    subject = _subject()
    x, y = subject.data.train.x, subject.data.train.y
    irm = IRMv1(torch.tensor([0, 1]), penalty_weight=100.0, anneal_steps=3, l2=0.01)
    risk = (math.log(4 / 3) + math.log(4)) / 2
    penalty = (LN3**2 / 16 + 9 * LN3**2 / 16) / 2
    l2 = 0.01 * LN3**2
    t = irm.terms(subject, x, y)
    assert t["risk"].item() == pytest.approx(risk, rel=1e-14)
    assert t["penalty"].item() == pytest.approx(penalty, rel=1e-14)
    assert irm(subject, x, y).item() == pytest.approx(risk + l2 + penalty, rel=1e-14)
    irm.step = 3
    assert irm(subject, x, y).item() == pytest.approx((risk + l2 + 100 * penalty) / 100, rel=1e-14)
    erm = IRMv1(torch.tensor([0, 1]), penalty_weight=0.0, l2=0.01)
    assert erm(subject, x, y).item() == pytest.approx(risk + l2, rel=1e-14)


def test_penalty_gradient_matches_finite_differences():
    subject = _subject()
    x, y = subject.data.train.x, subject.data.train.y
    irm = IRMv1(torch.tensor([0, 1]), penalty_weight=1.0)
    (grad,) = torch.autograd.grad(irm.terms(subject, x, y)["penalty"], [subject.model.weight])
    h = 1e-6
    numeric = torch.zeros_like(grad)
    for i in range(2):
        for sign in (1, -1):
            with torch.no_grad():
                subject.model.weight[i, 0] += sign * h
            numeric[i, 0] += sign * irm.terms(subject, x, y)["penalty"].item() / (2 * h)
            with torch.no_grad():
                subject.model.weight[i, 0] -= sign * h
    assert torch.allclose(grad, numeric, rtol=1e-7, atol=1e-9)


def test_through_fit_the_penalty_switches_on_at_the_annealing_step():
    subject = _subject()
    irm = IRMv1(torch.tensor([0, 1]), penalty_weight=50.0, anneal_steps=2)
    weights = []
    spec = TrainSpec(optimizer="adam", lr=1e-2, batch_size=0, epochs=0, max_steps=4)
    original = irm.__call__

    def watched(s, xb, yb):
        weights.append(irm.weight())
        return original(s, xb, yb)

    result = fit(subject, spec, objective=watched, callbacks=[irm])
    assert result.steps == 4 and irm.step == 4
    assert weights == [1.0, 1.0, 50.0, 50.0]


def test_minibatches_are_refused():
    subject = _subject()
    irm = IRMv1(torch.tensor([0, 1]), penalty_weight=1.0)
    with pytest.raises(ValueError, match="batch_size=0"):
        fit(subject, TrainSpec(batch_size=1, epochs=1), objective=irm, callbacks=[irm])
