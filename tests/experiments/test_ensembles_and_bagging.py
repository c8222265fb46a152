"""ensembles-and-bagging: claims on constructed numbers, the summaries by hand, a tiny run."""

import numpy as np
import pytest

from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.ensembles_and_bagging import (
    PREDICTORS,
    EnsemblesAndBagging,
    _rise,
    claims,
    summarize_bagging,
    summarize_sweep,
)
from occamlab.store import Store

WIDTHS = (4, 8, 16, 32, 64)


def sweep_rows(single, ensemble, variance, train, *, replicates=4, scale=0.003):
    rows = []
    for r in range(replicates):
        for i, w in enumerate(WIDTHS):
            wiggle = scale * (((3 * r + 7 * i) % 5) - 2)
            member, diversity = 0.5 + wiggle, variance[i] * 5 / 6  # 6 members
            rows.append(
                {
                    "width": w,
                    "seed": r,
                    "parameters": 50 * w,
                    "train_error": train[i],
                    "test_error": single[i] + wiggle,
                    "ensemble_error": ensemble[i] + wiggle,
                    "variance": variance[i] + wiggle,
                    "mean_member_loss": member,
                    "ensemble_loss": member - diversity,
                    "diversity": diversity,
                    "steps": 100.0,
                }
            )
    return rows


def bagging_data(sets=12, grid=5, seed=0):
    """Predictions whose variance over sets shrinks by bagging for the unstable ones only."""
    g = np.random.default_rng(seed)
    noise = g.standard_normal((sets, grid))
    out = {"target": [0.0] * grid}
    for p, single, bagged in (
        ("stump", 1.0, 0.5),
        ("tree", 2.0, 1.0),
        ("network", 1.0, 0.4),
        ("linear", 0.3, 0.3),
    ):
        jitter = 0.05 * g.standard_normal((sets, grid))
        out[p] = {"single": (single * noise).tolist(), "bagged": (bagged * noise + jitter).tolist()}
    return out


SINGLE = [0.70, 0.72, 0.76, 0.70, 0.65]  # peaks at the interpolation width 16
ENSEMBLE = [0.66, 0.64, 0.63, 0.62, 0.60]  # falls throughout
VARIANCE = [0.1, 0.4, 0.7, 0.5, 0.3]
TRAIN = [0.5, 0.2, 0.0, 0.0, 0.0]


def decisions(rows, bagging=None):
    c = claims(rows, bagging or bagging_data(), fit_error=0.01, rise_margin=0.01, resamples=500)
    return [x.decision for x in c], c


def test_claims_pass_on_the_papers_pattern():
    verdicts, c = decisions(sweep_rows(SINGLE, ENSEMBLE, VARIANCE, TRAIN))
    assert verdicts == ["passed"] * 8
    assert c[0].test is None and "0.0e+00" in c[0].evidence  # the identity: a check
    assert c[1].test.method == "one-sample t-test" and c[1].test.seeds == 4
    # the variance peak's gap per replicate: widths 8–32 lie within ×2 of 16, so 0.7 stands
    # above max(min at width 4 = 0.1, max at width 64 = 0.3) by 0.4
    assert c[2].test.estimate == pytest.approx(0.4, abs=0.01)
    assert c[3].test.margin == -0.01 and c[3].test.estimate == pytest.approx(0.0, abs=0.004)
    assert [x.test.method for x in c[4:]] == ["bootstrap test"] * 4
    assert c[4].test.seeds == 12


def test_claims_fail_where_the_pattern_breaks():
    # the ensemble keeps the peak; the variance grows with width; no predictor gains by
    # bagging (bagged = single): the bootstrap puts every reduction at 0, undecided or failed
    rows = sweep_rows(SINGLE, [0.66, 0.68, 0.72, 0.66, 0.62], [0.1, 0.2, 0.3, 0.4, 0.5], TRAIN)
    same = bagging_data()
    for p in PREDICTORS:
        same[p]["bagged"] = same[p]["single"]
    verdicts, c = decisions(rows, same)
    assert verdicts[:4] == ["passed", "passed", "failed", "failed"]
    assert c[3].test.estimate == pytest.approx(-0.06, abs=0.005)
    assert all(v != "passed" for v in verdicts[4:])
    # no width interpolates: the peak claims fail untested
    _, c = decisions(sweep_rows(SINGLE, ENSEMBLE, VARIANCE, [0.5] * 5))
    assert c[1].test is None and "no width fits" in c[1].evidence
    # a broken identity fails the check
    rows = sweep_rows(SINGLE, ENSEMBLE, VARIANCE, TRAIN)
    rows[3]["ensemble_loss"] += 1e-6
    assert decisions(rows)[0][0] == "failed"


def test_rise_and_summaries_by_hand():
    assert _rise([0.7, 0.6, 0.65, 0.62, 0.5]) == pytest.approx(0.05)
    assert _rise([3.0, 2.0, 1.0]) == 0.0
    s = summarize_sweep(sweep_rows(SINGLE, ENSEMBLE, VARIANCE, TRAIN, scale=0), fit_error=0.01)
    assert s["summary"]["interpolation_width"] == 16
    assert s["summary"]["single_peak_width"] == 16 == s["summary"]["variance_peak_width"]
    assert s["summary"]["largest_single_rise"] == pytest.approx(0.06)
    assert s["summary"]["largest_ensemble_rise"] == 0.0
    # bagging: variance over sets (ddof 1) averaged over the grid, bias² and MSE by hand
    bag = {"target": [0.0, 1.0]}
    for p in PREDICTORS:
        bag[p] = {"single": [[0.0, 1.0], [2.0, 3.0]], "bagged": [[0.5, 1.0], [1.5, 1.0]]}
    row = summarize_bagging(bag)[0]
    assert row["variance_single"] == 2.0 and row["variance_bagged"] == 0.25
    assert row["reduction"] == 1.0 - 0.25 / 2.0
    assert row["bias2_single"] == (1.0 + 1.0) / 2 and row["bias2_bagged"] == 0.5
    assert row["mse_single"] == (0 + 0 + 4 + 4) / 4 and row["mse_bagged"] == 0.625


def test_tiny_run_end_to_end(tmp_path):
    spec = EnsemblesAndBagging(
        seeds=2,
        members=3,
        mlp_train=60,
        num_test=100,
        min_width=4,
        max_width=16,
        steps=30,
        bag_sets=4,
        bag_train=20,
        bag_test=10,
        bootstraps=2,
        bag_steps=10,
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    curve = d["tables"]["width sweep (mean over replicates)"]
    assert [r["width"] for r in curve] == spec.widths()
    for r in curve:  # the decomposition, exactly, and its unbiased variance over 3 members
        assert r["ensemble_loss"] == pytest.approx(r["mean_member_loss"] - r["diversity"])
        assert r["variance"] == pytest.approx(1.5 * r["diversity"])
    bag = d["tables"]["bagging (variance over training sets)"]
    assert [r["predictor"] for r in bag] == list(PREDICTORS)
    for r in bag:
        assert r["reduction"] == pytest.approx(1 - r["variance_bagged"] / r["variance_single"])
    assert len(d["claims"]) == 8
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert d["claims"][0]["decision"] == "passed"  # the identity holds on the run's outputs
    tested = [c for c in d["claims"] if c["test"] is not None]
    assert {c["test"]["seeds"] for c in tested} <= {2, 4}
    assert "ensembles and bagging" in d["figures"]


def test_the_bagged_stump_is_the_mean_of_stumps_on_the_resamples():
    from sklearn.tree import DecisionTreeRegressor

    from occamlab.probes.ensembles import bootstrap_indices

    spec = EnsemblesAndBagging(bag_sets=2, bag_train=30, bag_test=7, bootstraps=3)
    out = spec.fit_bagging("stump")
    x, y = spec.regression_set(1)
    grid = spec.test_grid()
    by_hand = np.mean(
        [
            DecisionTreeRegressor(max_depth=1).fit(x[i], y[i]).predict(grid)
            for i in bootstrap_indices(30, 3, seed=1)
        ],
        axis=0,
    )
    assert np.allclose(out["bagged"][1], by_hand, atol=1e-12)
    assert np.allclose(
        out["single"][0],
        DecisionTreeRegressor(max_depth=1).fit(*spec.regression_set(0)).predict(grid),
    )


def test_the_high_noise_setting_doubles_both_noises():
    spec = spec_at_scale(EnsemblesAndBagging, "quick", {}, "high-noise")
    assert (spec.label_noise, spec.bag_noise) == (0.3, 1.0)
    assert spec.dataset(2).corruption_seed == 2 and spec.dataset(2).label_noise == 0.3
    with pytest.raises(ValueError, match="members >= 2"):
        EnsemblesAndBagging(members=1)
