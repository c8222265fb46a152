"""generalization-measures: the design, the claims, and a tiny end-to-end run."""

import dataclasses
import itertools

import numpy as np

from occamlab.experiments import run_experiment
from occamlab.experiments.generalization_measures import (
    HYPERPARAMETERS,
    GeneralizationMeasures,
    _top_third_margin,
    claims,
    train_zoo,
)
from occamlab.experiments.registry import spec_at_scale
from occamlab.store import Store


def test_star_design_pairs_each_base_with_its_one_hyperparameter_neighbours():
    spec = GeneralizationMeasures(bases=3, seeds=2)
    members = spec.members()
    configs = {m.config for m in members}
    assert len(members) == 2 * len(configs)
    stars = {}
    for m in members:
        stars.setdefault(m.cluster.split(",")[0], set()).add(m.config)
    assert len(stars) == 3
    for star in stars.values():
        # every star is a base plus 7 neighbours (minus configurations an earlier star owns)
        assert len(star) <= 1 + len(HYPERPARAMETERS)
    # some pair in every star differs in exactly one hyperparameter
    for star in stars.values():
        pairs = itertools.combinations([dict(c) for c in star], 2)
        assert any(sum(a[h] != b[h] for h in HYPERPARAMETERS) == 1 for a, b in pairs)
    grid = GeneralizationMeasures(design="grid", depths="1", widths="8,16", lrs="1")
    assert len(grid.members()) == 2 * 2 * 2 * 2 * 2 * grid.seeds


def row(measure, tau, psi):
    return {"measure": measure, "tau": tau, "psi": psi, "cmi": 0.1, "sign_error": 0.3}


def replicated(table, spread, rng):
    """Bootstrap replicates scattered around each measure's τ and Ψ."""
    return {
        r["measure"]: {k: r[k] + spread * rng.standard_normal(300) for k in ("tau", "psi")}
        for r in table
    }


def test_claims_are_bootstrap_tests_of_the_scores():
    rng = np.random.default_rng(0)
    good = [
        row("pacbayes_mag_flatness", 0.4, 0.5),
        row("log_prod_spectral", -0.3, -0.2),
        row("num_parameters", -0.5, -0.1),
        row("path_norm", 0.1, 0.05),
    ] + [row(f"m{i}", 0.0, 0.0) for i in range(8)]
    out = claims(good, 40, 38, replicated(good, 0.03, rng), units=8)
    assert [c.decision for c in out] == ["passed"] * 5
    assert all(c.test.method == "bootstrap test" and c.test.seeds == 8 for c in out[1:])
    bad = [
        row("pacbayes_mag_flatness", 0.1, 0.1),
        row("log_prod_spectral", 0.3, 0.2),
        row("num_parameters", 0.5, 0.1),
        row("path_norm", 0.1, 0.3),
    ]
    out = claims(bad, 40, 10, replicated(bad, 0.03, rng), units=8)
    assert [c.decision for c in out] == ["failed"] * 5
    # the same scores with replicates spread across the cut-offs decide nothing
    out = claims(good, 40, 38, replicated(good, 1.0, rng), units=8)
    assert [c.decision for c in out[1:]] == ["inconclusive"] * 4
    # a measure second of 12 by Ψ is in the top third; fifth is not
    assert _top_third_margin({"a": 0.5, "b": 0.6, **{f"m{i}": 0.0 for i in range(10)}}, "a") > 0
    fifth = {"a": 0.5, **{f"b{i}": 0.6 + i for i in range(4)}, **{f"m{i}": 0.0 for i in range(7)}}
    assert _top_third_margin(fifth, "a") < 0


def test_claims_without_a_fitted_model_say_so():
    out = claims([], 10, 0, {}, units=0)
    assert len(out) == 5 and not any(c.passed for c in out)
    assert all("nothing to score" in c.evidence for c in out[1:])


TINY = {
    "depths": "1",
    "widths": "16",
    "lrs": "1",
    "batch_sizes": "50,100",
    "weight_decays": "0",
    "dropouts": "0,0.1",
    "optimizers": "sgd,adam",
    "bases": 1,
    "num_train": 200,
    "num_test": 100,
    "max_epochs": 3,
    "fit_accuracy": 0.0,
    "num_samples": 2,
    "search_depth": 1,
    "ascent_steps": 1,
    "measure_examples": 100,
    "replicates": 3,
}


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(GeneralizationMeasures, "quick", TINY, setting="half-data")
    # explicit fields override the setting (num_train), which overrides the scale (seeds)
    assert spec.num_train == 200 and spec.seeds == 5
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert d["metrics"]["models"] == 20 and len(d["tables"]["zoo"]) == 20
    assert {r["measure"] for r in d["tables"]["scores"]} >= {"pacbayes_mag_flatness", "path_norm"}
    assert all("tau_low" in r for r in d["tables"]["scores"])
    assert len(d["claims"]) == 5 and all(isinstance(c["passed"], bool) for c in d["claims"])
    tested = [c["test"] for c in d["claims"] if c["test"] is not None]
    assert len(tested) == 4 and all(t["seeds"] == 5 for t in tested)  # one star × five seeds
    assert "tau and psi per measure" in d["figures"] and run.report.is_file()


def test_the_half_data_setting_halves_the_training_set_and_adds_a_seed():
    quick = spec_at_scale(GeneralizationMeasures, "quick")
    half = spec_at_scale(GeneralizationMeasures, "quick", setting="half-data")
    assert (quick.num_train, half.num_train, quick.seeds, half.seeds) == (2000, 1000, 3, 5)
    assert dataclasses.replace(half, num_train=quick.num_train, seeds=quick.seeds) == quick
    paper = spec_at_scale(GeneralizationMeasures, "paper")
    assert (paper.num_train, paper.max_epochs, paper.design) == (4000, 100, "grid")


def test_the_seeds_of_a_configuration_share_the_minibatch_order():
    spec = GeneralizationMeasures(bases=1, seeds=3)
    members = spec.members()

    class Recorder:
        def train_many(self, jobs):
            self.jobs = jobs
            return jobs

    ctx = Recorder()
    train_zoo(ctx, members, spec)
    assert {job.train.seed for job in ctx.jobs} == {0}
    assert [job.seed for job in ctx.jobs] == [m.seed for m in members]
