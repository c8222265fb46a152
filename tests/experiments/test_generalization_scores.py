"""Ranking scores on zoos whose answers are known: a perfect measure, its negative, noise."""

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from occamlab.experiments.generalization_scores import (
    Zoo,
    bootstrap,
    conditional_mutual_information,
    granulated_tau,
    kendall_tau,
    scores,
    sign_errors,
)


def grid_rows(seed=0):
    """A full 2×3×2 grid; the gap depends on every hyperparameter (distinct values, no ties)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, (a, b, c) in enumerate(itertools.product([0, 1], [0, 1, 2], [0, 1])):
        gap = 0.1 + 0.2 * a + 0.05 * b + 0.01 * c
        rows.append(
            {
                "a": a,
                "b": b,
                "c": c,
                "seed": 0,
                "cluster": f"c{i % 3}",
                "gap": gap,
                "test_error": gap,
                "perfect": 3 * gap + 1,
                "reversed": -gap,
                "noise": float(rng.normal()),
                "only_b": float(b),
            }
        )
    return rows


def zoo(rows, measures=("perfect", "reversed", "noise", "only_b"), m=10**6):
    return Zoo.from_rows(rows, measures=measures, hyperparameters=("a", "b", "c"), test_examples=m)


def test_kendall_tau_is_tau_a_and_matches_scipy_without_ties():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=20), rng.normal(size=20)
    assert kendall_tau(x, y) == pytest.approx(kendalltau(x, y).statistic, rel=1e-12)
    z = zoo(grid_rows())
    assert kendall_tau(z.values[:, 0], z.gaps) == 1.0
    assert kendall_tau(z.values[:, 1], z.gaps) == -1.0


def test_granulated_tau_of_perfect_reversed_and_one_sided_measures():
    z = zoo(grid_rows())
    psi, per_hp = granulated_tau(z, 0)
    assert psi == 1.0 and per_hp == {"a": 1.0, "b": 1.0, "c": 1.0}
    assert granulated_tau(z, 1)[0] == -1.0
    # a measure that sees only b: perfect within b-groups, blind (ties) within the others
    psi_b, per_hp_b = granulated_tau(z, 3)
    assert per_hp_b == {"a": 0.0, "b": 1.0, "c": 0.0} and psi_b == pytest.approx(1 / 3)


def test_cmi_is_one_for_a_perfect_measure_and_small_for_noise():
    z = zoo(grid_rows())
    assert conditional_mutual_information(z, 0) == pytest.approx(1.0)
    assert conditional_mutual_information(z, 1) == pytest.approx(1.0)  # MI ignores the sign
    rows = []
    rng = np.random.default_rng(0)
    for i, (a, b, c) in enumerate(itertools.product(range(3), range(3), range(4))):
        rows.append(
            {
                "a": a,
                "b": b,
                "c": c,
                "seed": 0,
                "cluster": str(i),
                "gap": float(rng.random()),
                "test_error": 0.3,
                "perfect": 0.0,
                "reversed": 0.0,
                "noise": float(rng.random()),
                "only_b": 0.0,
            }
        )
    assert conditional_mutual_information(zoo(rows), 2) < 0.2


def test_sign_errors_count_wrong_signs_of_one_hyperparameter_pairs():
    z = zoo(grid_rows())
    assert sign_errors(z, 0)[:2] == (0.0, 0.0)
    assert sign_errors(z, 1)[:2] == (1.0, 1.0)
    mean, robust, per_hp = sign_errors(z, 3)
    assert per_hp == {"a": 0.5, "b": 0.0, "c": 0.5}  # ties count one half
    assert robust == 0.5 and 0.0 < mean < 0.5
    # pairs whose gaps differ by less than the test-set noise are not counted
    assert math.isnan(sign_errors(zoo(grid_rows(), m=1), 0)[0])


def test_scores_and_bootstrap_intervals():
    rows = grid_rows()
    table = {r["measure"]: r for r in scores(zoo(rows))}
    assert table["perfect"]["tau"] == 1.0 and table["perfect"]["psi_a"] == 1.0
    intervals = bootstrap(zoo(rows), replicates=30, seed=0)
    low, high = intervals["perfect"]["tau"]
    assert 0.0 < low <= high <= 1.0
    low, high = intervals["noise"]["tau"]
    assert low <= table["noise"]["tau"] <= high
    # missing values: a measure undefined on a model is scored on the others
    rows[0]["only_b"] = None
    assert scores(zoo(rows))[3]["models"] == 11


def test_measures_scored_together_score_as_each_alone():
    z = zoo(grid_rows()).take(np.array([0, 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11]))
    for j, row in enumerate(scores(z)):
        alone = dataclasses.replace(z, measures=(row["measure"],), values=z.values[:, [j]])
        assert scores(alone)[0] == pytest.approx(row, nan_ok=True)
        assert row["psi"] == pytest.approx(granulated_tau(z, j)[0])
        assert row["cmi"] == pytest.approx(conditional_mutual_information(z, j))
        mean, robust, _ = sign_errors(z, j)
        assert (row["sign_error"], row["robust_sign_error"]) == pytest.approx((mean, robust))


def test_copies_of_one_model_in_a_resample_are_not_ties():
    z = zoo(grid_rows())
    resample = z.take(np.array([0, 0, 1, 1, 1, 5, 6, 6, 11]))
    table = {r["measure"]: r for r in scores(resample)}
    # the perfect measure stays perfect: copies do not pull τ, Ψ or the CMI towards 0
    assert table["perfect"]["tau"] == 1.0 and table["reversed"]["tau"] == -1.0
    assert table["perfect"]["psi"] == 1.0
    assert conditional_mutual_information(resample, 0) == pytest.approx(
        conditional_mutual_information(z.take(np.array([0, 1, 5, 6, 11])), 0)
    )
    # τ over distinct pairs weights each model by its multiplicity
    w = np.array([2, 3, 1, 2, 1])
    x = z.values[[0, 1, 5, 6, 11], 2]
    g = z.gaps[[0, 1, 5, 6, 11]]
    s = np.sign(x[:, None] - x[None, :]) * np.sign(g[:, None] - g[None, :])
    weights = np.outer(w, w) * ~np.eye(5, dtype=bool)
    assert table["noise"]["tau"] == pytest.approx((weights * s).sum() / weights.sum())
