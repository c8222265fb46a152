import math

import numpy as np
import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.adversarial_robustness import AdversarialRobustness, claims, summarize
from occamlab.experiments.registry import spec_at_scale
from occamlab.probes.robustness import bayes_accuracy, tradeoff_bound
from occamlab.store import Store

TINY = {
    "seeds": 2,
    "dim": 20,
    "tsipras_train": 300,
    "tsipras_test": 2000,
    "tsipras_points": 3,
    "tsipras_epochs": 8,
    "width": 16,
    "num_train": 300,
    "num_test": 100,
    "train_points": 2,
    "eval_points": 3,
    "train_steps": 2,
    "eval_steps": 3,
    "epochs": 3,
}


def test_closed_forms_and_radii_follow_the_spec():
    spec = AdversarialRobustness(dim=100, eta_scale=3.0, p=0.95, tsipras_points=5)
    assert spec.eta == pytest.approx(0.3)
    assert spec.tsipras_radii() == pytest.approx([0.0, 0.15, 0.3, 0.45, 0.6])
    forms = spec.closed_forms()
    assert forms["bayes"] == bayes_accuracy(p=0.95, eta=0.3, dim=100)
    assert forms["attack_eps"] == pytest.approx(0.6)
    assert spec.train_radii() == pytest.approx([0.0, 0.2, 0.4])
    with pytest.raises(ValueError, match="norm"):
        AdversarialRobustness(norm="l1")


def _rows(seeds=5, std0=0.998, std2=0.95, rob0=0.003, rob2=0.95, adv_clean=0.55):
    """Per-seed rows shaped like the experiment's: linear models at ε/η = 0, 1, 2, nets at 0
    and 0.4 (seed-dependent jitter so the tests have spread)."""
    linear, nets = [], []
    for s in range(seeds):
        j = 0.001 * ((s % 3) - 1)
        for eps, std, rob in ((0.0, std0, rob0), (0.3, 0.96, 0.7), (0.6, std2, rob2)):
            linear.append({"seed": s, "eps": eps, "eps_over_eta": eps / 0.3,
                           "standard": std + j, "robust": rob + j,
                           "robust_closed": rob, "standard_closed": std})  # fmt: skip
        nets.append({"seed": s, "eps": 0.0, "standard": 0.6 + 2 * j, "robust": 0.05 + j})
        nets.append({"seed": s, "eps": 0.4, "standard": adv_clean + j, "robust": 0.3 + 2 * j})
    return linear, nets


FORMS = {"p": 0.95, "eta": 0.3, "attack_eps": 0.6, "bayes": 0.9995}


def test_claims_pass_on_the_papers_pattern():
    linear, nets = _rows()
    out = claims(summarize(linear, nets, FORMS), linear, nets, FORMS, tolerance=0.01)
    assert [c.decision for c in out] == ["passed"] * 8
    methods = [c.test.method for c in out]
    assert methods[:3] == ["two one-sided t-tests"] * 3
    assert (
        methods[3:] == ["one-sample t-test", "slope t-test", "slope t-test"] + ["paired t-test"] * 2
    )
    bound = tradeoff_bound(p=0.95, standard_accuracy=0.998 - 0.001)
    assert out[3].test.points["bound − robust accuracy"][0] == pytest.approx(bound - 0.002)
    assert out[6].test.estimate == pytest.approx(0.25 - 0.0002, abs=1e-9)  # mean jitter −0.0002


def test_claims_fail_where_the_pattern_breaks():
    # robust training that keeps the weak features: no drop to p, no robustness; an
    # adversarially trained net as accurate as the standard one on clean inputs
    linear, nets = _rows(std2=0.998, rob2=0.003, adv_clean=0.65)
    out = claims(summarize(linear, nets, FORMS), linear, nets, FORMS, tolerance=0.01)
    decisions = [c.decision for c in out]
    assert decisions[1] == decisions[2] == "failed" and decisions[7] == "failed"


def test_tiny_run_end_to_end(tmp_path):
    spec = AdversarialRobustness(**TINY)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 8
    assert all(isinstance(c["passed"], bool) and c["evidence"] and c["test"] for c in d["claims"])
    assert "robustness trade-off" in d["figures"]
    linear = d["tables"]["tsipras"]
    assert len(linear) == 2 * 3 and {r["seed"] for r in linear} == {0, 1}
    # a linear model's worst case is found exactly: the attack's accuracy is the empirical
    # accuracy of its weights' worst case, close to the population closed form
    for r in linear:
        se = math.sqrt(max(r["robust_closed"] * (1 - r["robust_closed"]), 1e-4) / 2000)
        assert abs(r["robust"] - r["robust_closed"]) < 5 * se + 1e-9
    assert d["metrics"]["closed_forms"]["bayes"] == pytest.approx(
        bayes_accuracy(p=0.95, eta=3 / math.sqrt(20), dim=20)
    )
    nets = d["tables"]["mnist1d"]
    assert sorted({r["eps"] for r in nets}) == [0.0, 0.4] and len(nets) == 4
    curves = d["tables"]["mnist1d curves"]
    assert len(curves) == 2 * 3 and all(0 <= r["accuracy"] <= 1 for r in curves)
    first = [r for r in curves if r["train_eps"] == 0.0]
    assert first[0]["eps"] == 0.0 and first[0]["accuracy"] == pytest.approx(
        np.mean([r["standard"] for r in nets if r["eps"] == 0.0])
    )


def test_the_l2_setting_changes_the_attack_norm():
    spec = spec_at_scale(AdversarialRobustness, "quick", setting="l2")
    assert spec.norm == "l2" and spec.train_eps == 1.5 and spec.p == 0.9 and spec.seeds >= 2
    paper = spec_at_scale(AdversarialRobustness, "paper", setting="l2")
    assert paper.norm == "l2" and paper.seeds > spec.seeds
