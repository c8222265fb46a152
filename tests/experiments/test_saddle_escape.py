import math

import numpy as np
import torch

from occamlab.experiments import run_experiment
from occamlab.experiments.registry import spec_at_scale
from occamlab.experiments.saddle_escape import (
    SaddleEscape,
    claims,
    hessian_index,
    linear_network_critical_points,
    perturbed_gd_escape,
    saddle_gradient,
    saddle_value,
    summarize,
)
from occamlab.store import Store


def test_gradient_matches_finite_differences():
    x = np.random.default_rng(0).standard_normal((3, 5))
    h = 1e-6
    numeric = np.stack(
        [(saddle_value(x + h * e) - saddle_value(x - h * e)) / (2 * h) for e in np.eye(5)],
        axis=1,
    )
    assert np.allclose(saddle_gradient(x), numeric, atol=1e-8)


def test_escape_time_follows_the_linearized_prediction():
    # The kick's e1-component is ~ r/sqrt(d); it grows by (1 + lr) per step.
    r = [
        perturbed_gd_escape(
            d,
            draws=200,
            lr=0.05,
            radius=0.01,
            grad_threshold=1e-3,
            escape_value=-0.2,
            max_steps=10_000,
            seed=1,
        )
        for d in (10, 1000)
    ]
    assert all(x["escaped_fraction"] == 1.0 for x in r)
    grown = r[1]["escape_steps_mean"] - r[0]["escape_steps_mean"]
    predicted = 0.5 * math.log(100) / math.log(1.05)
    assert abs(grown - predicted) < 0.2 * predicted


def test_hessian_index_counts_negative_eigenvalues():
    assert hessian_index(torch.tensor([-2.0, -1e-9, 1.0, 3.0])) == 0.25


def test_linear_network_critical_points_are_critical_with_baldi_hornik_losses():
    from occamlab.data import data_spec
    from occamlab.models import model_spec
    from occamlab.recipes import make_subject

    subject = make_subject(
        model=model_spec("mlp", width=1, depth=1, activation="identity", bias=False),
        data=data_spec("teacher", input_dim=3, teacher_depth=0, num_outputs=3, num_train=50),
    )
    points = linear_network_critical_points(subject)
    assert len(points) == 4  # the empty set and each of the 3 eigenvectors
    assert max(p["gradient_norm"] for p in points) < 1e-10
    # Baldi & Hornik: keeping eigenvector i lowers the loss by λ_i / m (m = 3 outputs).
    x, y = subject.data.train.x.double(), subject.data.train.y.double()
    syx, sxx = y.T @ x / len(x), x.T @ x / len(x)
    evals = torch.linalg.eigvalsh(syx @ torch.linalg.inv(sxx) @ syx.T)
    empty = points[0]["loss"]
    for p, lam in zip(points[1:], evals, strict=True):
        assert abs(empty - p["loss"] - float(lam) / 3) < 1e-10
    # Only keeping the top eigenvector is a minimum; the empty set has the most descent.
    assert [p["negative_eigenvalues"] == 0 for p in points] == [False, False, False, True]


def _measurements(
    slope_per_ln_d=10.3, plain_distance=1e-40, saddle_hits=0, rho=1.0, spread=20.0, seeds=3
):
    ds = [10, 100, 1000, 10000]
    noise = np.random.default_rng(0).standard_normal((len(ds), 50))
    escape = []
    for d, z in zip(ds, noise, strict=True):
        steps = np.maximum(1, np.round(130 + slope_per_ln_d * math.log(d / 10) + spread * z))
        escape.append(
            {
                "d": d,
                "escaped_fraction": 1.0,
                "escape_steps_mean": float(steps.mean()),
                "escape_steps_std": float(steps.std(ddof=1)),
                "steps": steps.astype(int).tolist(),
            }
        )
    plain = {"d": 10000, "steps": 2000, "distance_to_saddle": plain_distance, "value": 0.0}
    inits = {
        "inits": 1000,
        "converged_to_saddle": saddle_hits,
        "converged_to_minimum": 1000 - saddle_hits,
    }
    points = []
    for seed in range(seeds):
        losses = np.linspace(0.1, 1.0, 12)
        index = [0.0] + [i / 20 for i in range(1, 12)]  # the lowest point is the minimum
        if rho < 0:
            index = index[::-1]
        elif rho < 1:  # index scrambled: ρ ≈ 0.3–0.7 per problem, 0.50 on average
            z = np.random.default_rng(seed).standard_normal(12)
            index = [float(k) / 20 for k in np.argsort(np.argsort(np.arange(12) + 8 * z))]
        points += [
            {"seed": seed, "loss": float(a), "index": b, "gradient_norm": 0.0}
            for a, b in zip(losses, index, strict=True)
        ]
    return summarize(escape, plain, inits, points, lr=0.05), escape


def verdicts(measured):
    return [c.decision for c in claims(*measured)]


def test_claims_pass_on_the_papers_pattern():
    assert verdicts(_measurements()) == ["passed"] * 8
    tested = claims(*_measurements())
    assert tested[2].test.method == "slope t-test" and tested[2].test.seeds == 200
    assert tested[4].test.method == "Welch t-test" and tested[6].test.seeds == 3


def test_claims_fail_where_the_pattern_breaks():
    # Escapes from the manifold, polynomial escape time, converges to the saddle, no correlation.
    m = _measurements(slope_per_ln_d=60.0, plain_distance=0.5, saddle_hits=40, rho=-1.0)
    assert verdicts(m) == ["failed", "passed", "passed", "failed", "failed", "failed", "failed"] + [
        "failed"
    ]


def test_claims_within_the_noise_are_inconclusive():
    # Escape times so noisy that the slope's interval covers both 0.75× and 1.25× the
    # prediction; per-problem ρ scattered around 0.5.
    v = verdicts(_measurements(slope_per_ln_d=14.0, spread=120.0, rho=0.5))
    assert v[2] == v[3] == v[6] == "inconclusive"


def test_tiny_run_end_to_end(tmp_path):
    spec = SaddleEscape(
        dims=2, seeds=5, random_inits=20, net_seeds=1, outputs=3, hidden=1, num_train=40
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["tables"]["escape steps"]) == 2 and len(d["claims"]) == 8
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one linear-network problem: the index-loss test has nothing to test with
    assert d["claims"][6]["test"]["seeds"] == 1 and d["claims"][6]["decision"] == "inconclusive"
    assert [c["test"] is None for c in d["claims"]] == [True, True] + [False] * 3 + [
        True,
        False,
        True,
    ]
    assert "escape steps vs log d" in d["figures"]


def test_the_large_step_setting_escapes_faster_and_tests_the_same_claims(tmp_path):
    tiny = {"dims": 2, "seeds": 6, "random_inits": 20, "init_dim": 4, "gd_steps": 500}
    small_net = {"net_seeds": 2, "outputs": 3, "hidden": 1, "num_train": 40}
    spec = spec_at_scale(SaddleEscape, "quick", tiny | small_net, setting="large-step")
    assert spec.lr == 0.1 and spec.gd_steps == 500
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    base = run_experiment(
        spec_at_scale(SaddleEscape, "quick", tiny | small_net), Store(tmp_path / "base.sqlite")
    ).to_dict()
    fast = [e["escape_steps_mean"] for e in d["tables"]["escape steps"]]
    slow = [e["escape_steps_mean"] for e in base["tables"]["escape steps"]]
    assert all(f < s for f, s in zip(fast, slow, strict=True))  # ln(1.1) > ln(1.05)
    assert [c["statement"] for c in d["claims"]] == [c["statement"] for c in base["claims"]]
    assert d["claims"][2]["test"]["seeds"] == 2 * 6  # every (d, kick) point of the slope
    assert d["metrics"]["random_inits"]["inits"] == 20
