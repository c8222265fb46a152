from occamlab.experiments import run_experiment
from occamlab.experiments.edge_of_stability import EdgeOfStability, claims, summarize
from occamlab.experiments.registry import spec_at_scale
from occamlab.store import Store


def _run(lr=1.0, lambdas=(0.8, 1.2, 1.6, 1.95, 2.1, 1.9, 2.05, 2.0, 2.1, 1.95), losses=None):
    records = [{"step": 10 * i, "lambda_max": v} for i, v in enumerate(lambdas)]
    if losses is None:  # decreasing overall, with small spikes at the edge of stability
        losses = [0.1 - 0.0004 * t + (0.002 if t % 7 == 0 and t > 40 else 0.0) for t in range(100)]
    return {"lr": lr, "records": records, "losses": losses}


BASE = (0.8, 1.2, 1.6, 1.95, 2.1, 1.9, 2.05, 2.0, 2.1, 1.95)


def _scaled(lr, wobble):
    """The base pattern at 2/η = 2/lr, nudged by ``wobble`` (no two step sizes alike)."""
    return [(2 / lr) / 2 * (1 + wobble) * (x + wobble * (-1) ** i) for i, x in enumerate(BASE)]


def _losses(spike, every=7, slope=0.0004):
    return [0.1 - slope * t + (spike if t % every == 0 and t > 40 else 0.0) for t in range(100)]


def test_claims_pass_on_the_papers_pattern():
    runs = [
        _run(lr=lr, lambdas=_scaled(lr, w), losses=_losses(sp, every, 0.0004 + sp / 20))
        for lr, w, sp, every in (
            (1.0, 0.0, 0.002, 7),
            (2 / 3, 0.03, 0.003, 6),
            (0.5, -0.02, 0.0025, 5),
        )
    ]
    tested = claims(summarize(runs))
    assert [c.decision for c in tested] == ["passed"] * 5
    assert all(c.test.method == "one-sample t-test" and c.test.seeds == 3 for c in tested)


def test_claims_fail_where_the_pattern_breaks():
    # Sharpness never rises to 2/η: nothing holds.
    flat = _run(lambdas=(0.8,) * 10)
    never = claims(summarize([flat]))
    assert [c.passed for c in never] == [False] * 5
    assert all(c.test is None for c in never)
    # and the evidence says so instead of printing numbers that were never measured
    assert "never reached 2/η" in never[1].evidence and "never reached" in never[3].evidence
    assert "0.0000" not in never[3].evidence and "0%" not in never[2].evidence
    # It rises, but shoots past 2/η and stays there while the loss goes up monotonically.
    overshoot = [
        _run(
            lr=lr,
            lambdas=[k * x / lr for x in (0.8, 1.5, 2.0, 3.0, 3.2, 3.1, 3.0, 3.3, 3.1, 3.2)],
            losses=[0.01 + k * 0.001 * t for t in range(100)],
        )
        for lr, k in ((1.0, 1.0), (2 / 3, 1.2), (0.5, 0.9))
    ]
    # (a loss rising on every step is "non-monotonic" too: the decrease claim catches it)
    verdicts = [c.decision for c in claims(summarize(overshoot))]
    assert verdicts == ["passed", "failed", "failed", "failed", "passed"]


def test_claims_within_the_noise_are_inconclusive():
    # Two step sizes, one settling 5% above 2/η and one 14% above: the median ratio's mean
    # distance from 1 is 0.095, on the 10% margin, and one degree of freedom cannot decide.
    runs = [_run(lr=lr, lambdas=_scaled(lr, w)) for lr, w in ((1.0, 0.0), (0.5, 0.05))]
    for run, r in zip(runs, (1.05, 1.14), strict=True):
        for rec in run["records"][4:]:
            rec["lambda_max"] = 2 / run["lr"] * r
    assert claims(summarize(runs))[1].decision == "inconclusive"


def test_a_run_that_reaches_2_over_eta_only_at_its_last_estimate_prints_no_afterwards():
    late = _run(lambdas=(0.8, 1.0, 1.2, 1.4, 1.5, 1.6, 1.7, 1.8, 1.85, 2.0))
    out = claims(summarize([late, _run(lr=0.5, lambdas=_scaled(0.5, 0.0))]))
    assert out[1].test is None and not out[1].passed
    assert "reached 2/η at step 90 but no λ_max estimate after it" in out[1].evidence
    assert "nan" not in out[1].evidence and "None" not in out[1].evidence
    assert out[3].test is not None  # the losses after step 90 were measured


def test_tiny_run_end_to_end(tmp_path):
    spec = EdgeOfStability(num_lrs=1, steps=20, every=5, width=8, num_train=50, seeds=1)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    rows = d["tables"]["λ_max over training"]
    assert [r["step"] for r in rows] == [0, 5, 10, 15, 20]
    assert all(r["lambda_max"] > 0 and r["loss"] > 0 for r in rows[:-1])
    assert len(d["claims"]) == 5
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one run: a tested claim has nothing to test with, an untested one never reached 2/η
    assert all(c["decision"] in ("inconclusive", "failed") for c in d["claims"])
    assert all(c["decision"] == "inconclusive" for c in d["claims"] if c["test"])
    assert "λ_max against 2/η over steps" in d["figures"]


def test_the_digits_setting_runs_every_step_size_and_seed(tmp_path):
    tiny = {"num_lrs": 2, "steps": 20, "every": 5, "width": 8, "seeds": 2}
    spec = spec_at_scale(EdgeOfStability, "quick", tiny, setting="digits")
    assert spec.data == "digits" and spec.dataset().name == "digits"
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    runs = d["tables"]["by step size"]
    assert sorted((r["lr"], r["seed"]) for r in runs) == sorted(
        (lr, s) for lr in spec.lrs() for s in (0, 1)
    )
    assert len(d["claims"]) == 5 and all(c["evidence"] for c in d["claims"])
    for c in d["claims"]:  # a run that never reached 2/η says so rather than print numbers
        if c["test"] is None:
            assert "never reached 2/η" in c["evidence"] or "no " in c["evidence"]
        else:
            assert c["test"]["seeds"] == 4
