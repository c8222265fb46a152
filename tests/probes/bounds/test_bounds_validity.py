"""Validity of the optimized PAC-Bayes certificate by simulation on a teacher–student task.

Teacher: y = 1[w*·x > 0] for x ~ N(0, I₁₀), flipped with probability η = 0.1. Student: a
10-8-2 tanh MLP (106 parameters) drawn from a seeded initialization and trained by full-batch
gradient descent on n = 2,000 examples. Each of 200 independent training sets gets a
certificate with the optimized posterior (the prior at the initialization for even draws, a
data-dependent prior trained from it for odd draws). The certified predictor's true risk is
the Gibbs error on a fresh draw of N = 100,000 examples, one network from Q per example, so its
Monte Carlo standard error is at most 0.0016; a bound counts as holding only if it exceeds that
estimate by three standard errors (a conservative check). The certificate holds with
probability ≥ 1 − δ − δ_MC = 0.95, so at least 95% of the draws must hold.

The disintegrated bound of each draw certifies one network h drawn once from Q; its true risk is
h's error on the same fresh examples, and it must hold in at least 95% of the draws too.
"""

import math

import pytest
import torch

from occamlab.data.base import Data, Split
from occamlab.probes.bounds.certificate import PacBayesSpec, pacbayes_bound
from occamlab.probes.bounds.pacbayes import sampled_errors
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit
from tests.conftest import toy_model

DIM, ETA, N_TRAIN, N_FRESH, DRAWS = 10, 0.1, 2000, 100_000, 200
TEACHER = torch.randn(DIM, generator=torch.Generator().manual_seed(2024))


def _draw(n: int, generator: torch.Generator) -> Split:
    x = torch.randn(n, DIM, generator=generator)
    y = (x @ TEACHER > 0).long()
    flip = torch.rand(n, generator=generator) < ETA
    return Split(x, torch.where(flip, 1 - y, y))


@pytest.mark.slow
def test_optimized_certificate_holds_in_95_percent_of_200_training_sets():
    holds, naive, bounds, risks, moved = [], 0, [], [], 0
    one_holds, one_bounds = [], []
    for rep in range(DRAWS):
        g = torch.Generator().manual_seed(rep)
        train, test = _draw(N_TRAIN, g), _draw(20, g)
        model = toy_model(dim=DIM, classes=2, seed=rep)
        init = {k: v.detach().clone() for k, v in model.named_parameters()}
        subject = Subject(
            model=model, data=Data("teacher-student", train, test, "classification", 2)
        )
        fit(subject, TrainSpec(lr=0.5, epochs=40, batch_size=0, seed=rep, eval_every=40))
        spec = PacBayesSpec(
            prior="init" if rep % 2 == 0 else "data",
            prior_epochs=5,
            posterior_epochs=30,
            posterior_lr=0.02,
            batch_size=N_TRAIN,
            mc_trials=0,
            seed=rep,
        )
        result = pacbayes_bound(subject, init=init, spec=spec)
        assert result.total_delta == pytest.approx(0.05)
        q = result.posterior
        moved += any(not torch.allclose(q.std[k], torch.full_like(q.std[k], 0.01)) for k in q.std)
        fresh = _draw(N_FRESH, g)
        errors, n = sampled_errors(subject, q, fresh, generator=g)
        risk = errors / n
        one = result.deterministic
        with torch.no_grad():
            wrong = subject.forward(one.weights, fresh.x).argmax(1) != fresh.y
            one_risk = float(wrong.double().mean())
        one_margin = 3.0 * math.sqrt(max(one_risk * (1 - one_risk), 1e-4) / n)
        one_holds.append(one.bound >= one_risk + one_margin)
        one_bounds.append(one.bound)
        margin = 3.0 * math.sqrt(max(risk * (1 - risk), 1e-4) / n)
        holds.append(result.bound >= risk + margin)
        naive += result.empirical_error < risk
        bounds.append(result.bound)
        risks.append(risk)
    assert sum(holds) / DRAWS >= 0.95
    for parity in (0, 1):  # each prior on its own
        assert sum(holds[parity::2]) / (DRAWS / 2) >= 0.95
    assert moved == DRAWS  # the posterior was optimized, not left where it started
    assert naive / DRAWS > 0.2  # the empirical error alone undershoots: the check can fail
    # the certificates are informative (two classes: guessing is 0.5)
    assert sum(bounds) / DRAWS < 0.5 and sum(risks) / DRAWS < 0.3
    assert sum(one_holds) / DRAWS >= 0.95 and sum(one_bounds) / DRAWS < 0.5
