"""generalization-measures: the design, the claims, and a tiny end-to-end run."""

import itertools

from occamlab.experiments import run_experiment
from occamlab.experiments.generalization_measures import (
    HYPERPARAMETERS,
    GeneralizationMeasures,
    claims,
)
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
    assert len(grid.members()) == 2 * 2 * 2 * 2 * 2


def row(measure, tau, psi):
    return {"measure": measure, "tau": tau, "psi": psi, "cmi": 0.1, "sign_error": 0.3}


def test_claims_follow_the_scores():
    good = [
        row("pacbayes_mag_flatness", 0.4, 0.5),
        row("log_prod_spectral", -0.3, -0.2),
        row("num_parameters", -0.5, -0.1),
        row("path_norm", 0.1, 0.05),
    ] + [row(f"m{i}", 0.0, 0.0) for i in range(8)]
    assert [c.passed for c in claims(good, 40, 38)] == [True] * 5
    bad = [
        row("pacbayes_mag_flatness", 0.1, 0.1),
        row("log_prod_spectral", 0.3, 0.2),
        row("num_parameters", 0.5, 0.1),
        row("path_norm", 0.1, 0.3),
    ]
    assert [c.passed for c in claims(bad, 40, 10)] == [False] * 5


def test_tiny_run_end_to_end(tmp_path):
    spec = GeneralizationMeasures(
        depths="1",
        widths="16",
        lrs="1",
        batch_sizes="50,100",
        weight_decays="0",
        dropouts="0,0.1",
        optimizers="sgd,adam",
        bases=1,
        num_train=200,
        num_test=100,
        max_epochs=3,
        fit_accuracy=0.0,
        num_samples=2,
        search_depth=1,
        ascent_steps=1,
        replicates=3,
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert d["metrics"]["models"] == 4 and len(d["tables"]["zoo"]) == 4
    assert {r["measure"] for r in d["tables"]["scores"]} >= {"pacbayes_mag_flatness", "path_norm"}
    assert all("tau_low" in r for r in d["tables"]["scores"])
    assert len(d["claims"]) == 5 and all(isinstance(c["passed"], bool) for c in d["claims"])
    assert "tau and psi per measure" in d["figures"] and run.report.is_file()
