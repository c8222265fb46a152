import math

import numpy as np
import pytest

from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.implicit_bias import ImplicitBias, claims, summarize
from occamlab.experiments.implicit_bias_problems import (
    angle,
    completion_problem,
    hard_margin_svm,
    logistic_gd,
    min_l1_interpolant,
    nuclear_norm_certificate,
    separable_data,
)
from occamlab.store import Store


def test_svm_matches_a_two_point_closed_form():
    # Two points ±(1, 2): the max-margin direction is (1, 2), margin 1 at w = (1, 2)/5.
    x = np.array([[1.0, 2.0], [-1.0, -2.0]])
    w = hard_margin_svm(x, np.array([1.0, -1.0]))
    assert np.allclose(w, [0.2, 0.4], atol=1e-6)


def test_separable_data_keeps_the_svm_and_a_margin_gap():
    x, y, svm = separable_data(60, 2, gap=2.0, seed=3)
    margins = y * (x @ svm)
    assert margins.min() > 1 - 1e-6
    assert np.all((margins <= 1 + 1e-6) | (margins >= 2.0))
    assert angle(hard_margin_svm(x, y), svm) < 1e-6


def test_uniform_points_lie_in_the_cube_with_the_gap_and_min_margin():
    x, y, svm = separable_data(80, 3, gap=3.0, seed=1, points="uniform", min_margin=0.1)
    assert x.shape[1] == 3 and np.abs(x).max() <= 1.0
    margins = y * (x @ svm)
    assert np.all((margins <= 1 + 1e-6) | (margins >= 3.0))
    # the distance to the labelling hyperplane is at least min_margin: so is the SVM's margin
    assert 1.0 / np.linalg.norm(svm) >= 0.1 - 1e-6
    with pytest.raises(ValueError, match="points must be one of"):
        separable_data(10, 2, gap=2.0, seed=0, points="sphere")


def test_angle_is_accurate_for_tiny_angles():
    assert abs(angle(np.array([1.0, 0.0]), np.array([1.0, 1e-9])) - 1e-9) < 1e-15


def test_certificate_separates_recoverable_from_underdetermined():
    m, mask = completion_problem(20, 1, 0.8, seed=0)
    assert nuclear_norm_certificate(m, mask, 1)["certificate_norm"] < 1
    m, mask = completion_problem(20, 1, 0.05, seed=0)  # too few entries: no certificate
    cert = nuclear_norm_certificate(m, mask, 1)
    assert cert["certificate_norm"] >= 1 or cert["injectivity"] < 1e-6


def test_certificate_matches_the_equations_written_on_all_entries():
    # Y supported on Ω with P_T(Y) = UUᵀ, and P_Ω's smallest singular value on T, checked
    # against P_T applied to every unit matrix E_ij (an n² × n² map)
    n, r = 7, 1
    m, mask = completion_problem(n, r, 0.8, seed=2)
    u = np.linalg.eigh(m)[1][:, -r:]
    p = u @ u.T

    def pt(z):
        return p @ z + z @ p - p @ z @ p

    units = np.eye(n * n).reshape(n * n, n, n)
    a = np.stack([pt(e).ravel() for e in units[mask.ravel()]], axis=1)
    coef, *_ = np.linalg.lstsq(a, p.ravel(), rcond=None)
    y = np.zeros(n * n)
    y[mask.ravel()] = coef
    y = y.reshape(n, n)
    span = np.stack([pt(e).ravel() for e in units], axis=1)
    basis, s, _ = np.linalg.svd(span, full_matrices=False)
    on_omega = basis[:, s > 1e-9 * s[0]][mask.ravel()]
    cert = nuclear_norm_certificate(m, mask, r)
    assert cert["certificate_residual"] < 1e-12
    assert math.isclose(cert["certificate_norm"], np.linalg.norm(y - pt(y), 2), rel_tol=1e-9)
    smallest = np.linalg.svd(on_omega, compute_uv=False).min()
    assert math.isclose(cert["injectivity"], smallest, rel_tol=1e-9)


def test_logistic_gd_runs_datasets_of_different_sizes_as_one_batch():
    data = [separable_data(n, 2, gap=2.0, seed=s) for s, n in ((0, 30), (1, 12))]
    xs, ys = [d[0] for d in data], [d[1] for d in data]
    together = logistic_gd(xs, ys, steps=300, records=5)
    for i in range(2):
        (alone,) = logistic_gd(xs[i : i + 1], ys[i : i + 1], steps=300, records=5)
        assert [r["t"] for r in alone] == [r["t"] for r in together[i]]
        assert np.allclose([r["w"] for r in alone], [r["w"] for r in together[i]], rtol=1e-12)
    assert together[0][-1]["loss"] < together[0][0]["loss"]


def test_min_l1_interpolant_recovers_a_sparse_vector():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 60))
    w = np.zeros(60)
    w[[3, 17, 40]] = [1.0, -2.0, 0.5]
    assert np.allclose(min_l1_interpolant(x, x @ w), w, atol=1e-8)


JITTER = (0.9, 1.0, 1.1, 1.05)  # per-seed spread of the synthetic numbers (no two seeds alike)


def _logistic(slope_ratio=0.97, angles=(0.05, 0.03, 0.02, 0.015), jitter=JITTER):
    ts = [10**k for k in range(3, 3 + len(angles))]
    svm_norm = 5.0
    out = []
    for seed, j in enumerate(jitter):
        ratio = 1 + (slope_ratio - 1) * j if slope_ratio != 1 else 1 + 0.02 * (j - 1)
        traj = [
            {"t": t, "angle": a * j**i, "norm": svm_norm * ratio * math.log(t) + 1.0}
            for i, (t, a) in enumerate(zip(ts, angles, strict=True))
        ]
        out.append({"seed": seed, "trajectory": traj, "svm_norm": svm_norm, "svm_min_margin": 1.0})
    return out


def _completion(errors=(3e-5, 2e-4, 1e-3, 5e-3, 0.15), certificate=0.6, jitter=JITTER):
    out = []
    for seed, j in enumerate(jitter):
        runs = [
            {"init_scale": a, "relative_error": e * j ** (3 - i), "train_residual": 1e-5}
            for i, (a, e) in enumerate(zip((1e-4, 1e-3, 1e-2, 1e-1, 1.0), errors, strict=True))
        ]
        out.append(
            {
                "seed": seed,
                "certificate_norm": certificate,
                "certificate_residual": 1e-15,
                "injectivity": 0.4,
                "runs": runs,
            }
        )
    return out


def _diagonal(
    to_l1=(0.002, 0.02, 0.3, 0.7, 0.74),
    to_l2=(1.0, 1.0, 0.7, 0.005, 1e-6),
    l1_norms=(5.0, 5.1, 6.8, 11.0, 11.02),
    jitter=JITTER,
):
    out = []
    for seed, j in enumerate(jitter):
        runs = [
            {
                "init_scale": a,
                "distance_to_l1": b * j,
                "distance_to_l2": c * j,
                "l1_norm": d * j,
                "residual": 1e-7,
            }
            for a, b, c, d in zip(
                (1e-3, 1e-2, 1e-1, 1.0, 10.0), to_l1, to_l2, l1_norms, strict=True
            )
        ]
        out.append({"seed": seed, "min_l1_norm": l1_norms[0] * j, "runs": runs})
    return out


def verdicts(*parts):
    return [c.decision for c in claims(summarize(*parts))]


def test_claims_pass_on_the_papers_pattern():
    assert verdicts(_logistic(), _completion(), _diagonal()) == ["passed"] * 12
    tested = claims(summarize(_logistic(), _completion(), _diagonal()))
    assert [c.test.method for c in tested if c.test][:4] == [
        "one-sample t-test",
        "paired t-test",
    ] + ["one-sample t-test"] * 2
    assert tested[7].test.method == "slope t-test" and tested[7].test.seeds == 20
    assert tested[4].test is None and tested[5].test is None  # the setup checks


def test_claims_fail_where_the_pattern_breaks():
    # Angle stalls and grows, the norm grows at the wrong rate, no certificate, errors that do
    # not shrink with the init, small init not sparse, large init not the min-ℓ2 solution.
    s = summarize(
        _logistic(slope_ratio=0.5, angles=(0.3, 0.4, 0.5, 0.9)),
        _completion(errors=(0.3, 0.2, 0.1, 0.08, 0.05), certificate=1.3),
        _diagonal(to_l1=(0.3,) * 5, to_l2=(0.3,) * 5, l1_norms=(9.0, 8.0, 7.0, 6.0, 5.0)),
    )
    assert [c.decision for c in claims(s)] == ["failed"] * 4 + ["failed", "passed"] + ["failed"] * 6


def test_claims_within_the_seed_noise_are_inconclusive():
    # The ‖w‖ slope off by 8–12% and a diagonal distance scattered around 0.05 over 3 seeds.
    jitter = (0.5, 1.0, 1.5)
    log, comp, diag = _logistic(jitter=jitter), _completion(jitter=jitter), _diagonal(jitter=jitter)
    for run, q in zip(log, (0.88, 0.92, 0.9), strict=True):
        for r in run["trajectory"]:
            r["norm"] = 5.0 * q * math.log(r["t"]) + 1.0
    for run, dist in zip(diag, (0.02, 0.06, 0.09), strict=True):
        run["runs"][0]["distance_to_l1"] = dist
    v = verdicts(log, comp, diag)
    assert v[3] == "inconclusive" and v[9] == "inconclusive"


def test_tiny_run_end_to_end(tmp_path):
    spec = ImplicitBias(
        seeds=1,
        num_points=12,
        steps=1000,
        matrix_size=8,
        observed_fraction=0.9,
        matrix_rank=1,
        num_samples=8,
        num_features=16,
        sparsity=1,
        completion_steps=200,
        diagonal_steps=200,
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 12
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one seed: the tests over seeds are inconclusive (the slopes still have 5 init scales)
    over_seeds = [c for c in d["claims"] if c["test"] and c["test"]["method"] != "slope t-test"]
    assert len(over_seeds) == 8 and all(c["decision"] == "inconclusive" for c in over_seeds)
    assert sum(c["test"] is None for c in d["claims"]) == 2
    assert "angle to the SVM vs log t" in d["figures"]
    assert d["tables"]["diagonal network"] and d["tables"]["matrix completion"]


def test_uniform_3d_setting_runs_end_to_end(tmp_path):
    tiny = {
        "seeds": 2,
        "num_points": 12,
        "steps": 1000,
        "matrix_size": 8,
        "observed_fraction": 0.9,
        "matrix_rank": 1,
        "num_samples": 8,
        "num_features": 16,
        "sparsity": 1,
        "completion_steps": 200,
        "diagonal_steps": 200,
    }
    spec = spec_at_scale(ImplicitBias, "quick", tiny, setting="uniform-3d")
    assert (spec.points, spec.data_dim, spec.margin_gap) == ("uniform", 3, 3.0)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert d["spec"]["points"] == "uniform" and len(d["claims"]) == 12
    angles = d["tables"]["logistic regression: angle to the SVM"]
    assert {r["seed"] for r in angles} == {0, 1}
    over_seeds = [c for c in d["claims"] if c["test"] and c["test"]["method"] != "slope t-test"]
    assert len(over_seeds) == 8 and all(c["test"]["seeds"] == 2 for c in over_seeds)
