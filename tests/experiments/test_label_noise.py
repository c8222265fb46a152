from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.label_noise import LabelNoiseRobustness, claims
from occamlab.store import Store

JITTER = (-0.01, 0.004, 0.006)  # seed-to-seed noise of the accuracy


def rows(sweep, at_top, at_zero, *, top_jitter=None):
    """`sweep`: accuracy per alpha at batch 128; `at_top`/`at_zero`: {batch: accuracy};
    `top_jitter`: {batch: per-seed offsets at the largest alpha} (default: JITTER)."""
    out = []
    for seed, jitter in enumerate(JITTER):
        for alpha, acc in sweep.items():
            out.append(
                {"alpha": alpha, "batch_size": 128, "seed": seed, "test_accuracy": acc + jitter}
            )
        for batch, acc in at_top.items():
            j = jitter if top_jitter is None else top_jitter[batch][seed]
            out.append({"alpha": 20, "batch_size": batch, "seed": seed, "test_accuracy": acc + j})
        for batch, acc in at_zero.items():
            out.append(
                {"alpha": 0, "batch_size": batch, "seed": seed, "test_accuracy": acc + jitter}
            )
    return out


def verdicts(r):
    return [c.decision for c in claims(r, top=20, batch_size=128, small=32, large=512, chance=0.1)]


SWEEP = {0: 0.66, 2: 0.62, 5: 0.58, 10: 0.52, 20: 0.45}


def test_claims_pass_on_the_papers_pattern():
    r = rows(SWEEP, {32: 0.35, 512: 0.47}, {32: 0.65, 512: 0.64})
    assert verdicts(r) == ["passed"] * 4
    c = claims(r, top=20, batch_size=128, small=32, large=512, chance=0.1)
    assert c[0].test.method == "one-sample t-test" and c[0].test.margin == 0.2
    assert c[1].test.method == "slope t-test" and c[1].test.seeds == 15
    assert c[2].test.method == "paired t-test" and c[2].test.seeds == 3


def test_claims_fail_where_the_pattern_breaks():
    # Near chance at the largest alpha, accuracy rising with alpha, small batches better (and
    # by more than without noise).
    sweep = {0: 0.10, 2: 0.11, 5: 0.12, 10: 0.14, 20: 0.17}
    r = rows(sweep, {32: 0.2, 512: 0.14}, {32: 0.65, 512: 0.64})
    assert verdicts(r) == ["failed"] * 4


def test_a_batch_gain_within_the_seed_noise_is_inconclusive():
    # batch 512 beats batch 32 at alpha=20 by 0.01 on average, with seed noise of 0.03
    r = rows(
        SWEEP,
        {32: 0.35, 512: 0.36},
        {32: 0.65, 512: 0.64},
        top_jitter={32: (0.0, 0.0, 0.0), 512: (-0.03, 0.035, -0.005)},
    )
    assert verdicts(r)[2] == "inconclusive" and verdicts(r)[0] == "passed"


def test_tiny_run_end_to_end(tmp_path):
    spec = LabelNoiseRobustness(
        seeds=1,
        num_clean=30,
        max_alpha=1,
        width=8,
        depth=1,
        steps=6,
        check_every=2,
        num_heldout=20,
        small_batch=8,
        large_batch=32,
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    settings = {(r["alpha"], r["batch_size"]) for r in d["tables"]["runs"]}
    assert settings == {(0, 128), (1, 128), (0, 8), (1, 8), (0, 32), (1, 32)}
    assert {r["num_train"] for r in d["tables"]["runs"]} == {30, 60}
    assert {r["chosen_step"] for r in d["tables"]["runs"]} <= {0, 2, 4, 6}
    assert len(d["claims"]) == 4
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one seed: the one-sample and paired tests decide nothing; two runs make no slope
    assert d["claims"][1]["test"] is None and not d["claims"][1]["passed"]
    assert [d["claims"][i]["decision"] for i in (0, 2, 3)] == ["inconclusive"] * 3
    assert run.report.is_file()


def test_narrow_setting_runs_end_to_end(tmp_path):
    tiny = {
        "seeds": 2,
        "num_clean": 30,
        "max_alpha": 1,
        "steps": 4,
        "check_every": 2,
        "num_heldout": 20,
        "small_batch": 8,
        "large_batch": 32,
    }
    spec = spec_at_scale(LabelNoiseRobustness, "quick", tiny, setting="narrow")
    assert spec.width == 128 and spec.dataset == "mnist1d"
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert d["spec"]["width"] == 128 and len(d["claims"]) == 4
    assert all(c["test"]["seeds"] >= 2 for c in d["claims"])
    assert "chance 0.10" in d["claims"][0]["evidence"]
