"""PAC-Bayes certificates of BatchNorm networks: the running statistics are recomputed on the
data-dependent prior's split alone, so the certified networks are fixed before the bound
examples are seen; validity by simulation on a teacher–student task."""

import math

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.bounds.certificate import PacBayesSpec, pacbayes_bound
from occamlab.probes.bounds.pacbayes import sampled_errors
from occamlab.probes.bounds.summary import error_bounds
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit

DIM, ETA, N_TRAIN, N_FRESH = 10, 0.1, 2000, 100_000
TEACHER = torch.randn(DIM, generator=torch.Generator().manual_seed(7))


def _draw(n: int, generator: torch.Generator) -> Split:
    x = torch.randn(n, DIM, generator=generator) * 3 + 1  # far from BatchNorm's initial stats
    y = ((x - 1) @ TEACHER > 0).long()
    flip = torch.rand(n, generator=generator) < ETA
    return Split(x, torch.where(flip, 1 - y, y))


def _subject(seed: int) -> tuple[Subject, dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the test's own network; nn.Linear draws from the global generator
    model = nn.Sequential(nn.Linear(DIM, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    init = {k: v.detach().clone() for k, v in model.named_parameters()}
    data = Data("teacher-student", _draw(N_TRAIN, g), _draw(200, g), "classification", 2)
    subject = Subject(model=model, data=data)
    fit(subject, TrainSpec(lr=0.1, epochs=20, batch_size=100, seed=seed, eval_every=20))
    return subject, init


SPEC = {"prior_epochs": 5, "posterior_epochs": 20, "posterior_lr": 0.02, "mc_trials": 0}


def test_the_statistics_are_the_prior_splits_and_the_subject_is_untouched():
    subject, init = _subject(0)
    before = {k: v.clone() for k, v in subject.buffers().items()}
    result = pacbayes_bound(subject, init=init, spec=PacBayesSpec(prior="data", **SPEC))
    assert all(torch.equal(before[k], v) for k, v in subject.buffers().items())
    assert "BatchNorm statistics every drawn network uses" in result.predictor
    stats = {k: v for k, v in result.statistics.items() if "running" in k}
    assert all(not torch.equal(stats[k], before[k]) for k in stats)  # recomputed, not the user's
    assert result.bound < 0.5 and result.deterministic.bound < 0.5
    with pytest.raises(ValueError, match="--prior data"):
        pacbayes_bound(subject, init=init, spec=PacBayesSpec(prior="init", **SPEC))
    report = error_bounds(subject, init=None, compression=False, norms=False)
    assert "pass --init-weights" in report.skipped["pacbayes"]


@pytest.mark.slow
def test_certificates_of_batchnorm_networks_hold_over_40_training_sets():
    draws, holds, one_holds = 40, 0, 0
    for rep in range(draws):
        subject, init = _subject(rep)
        result = pacbayes_bound(
            subject, init=init, spec=PacBayesSpec(prior="data", seed=rep, **SPEC)
        )
        # The certified networks: Q's draws with the prior split's statistics.
        certified = subject.clone()
        certified.model.load_state_dict(result.statistics, strict=False)
        g = torch.Generator().manual_seed(10_000 + rep)
        fresh = _draw(N_FRESH, g)
        errors, n = sampled_errors(certified, result.posterior, fresh, generator=g)
        risk = errors / n
        holds += result.bound >= risk + 3 * math.sqrt(max(risk * (1 - risk), 1e-4) / n)
        with torch.no_grad():
            wrong = certified.forward(result.deterministic.weights, fresh.x).argmax(1) != fresh.y
        one = float(wrong.double().mean())
        one_holds += result.deterministic.bound >= one + 3 * math.sqrt(max(one, 1e-4) / n)
    assert holds / draws >= 0.95 and one_holds / draws >= 0.95
