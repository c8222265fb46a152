from occamlab.experiments import run_experiment
from occamlab.experiments.label_noise import LabelNoiseRobustness, claims, summarize
from occamlab.store import Store


def rows(sweep, at_top, at_zero):
    """`sweep`: accuracy per alpha at batch 128; `at_top`/`at_zero`: {batch: accuracy}."""
    out = []
    for seed in range(3):
        jitter = 0.002 * seed
        for alpha, acc in sweep.items():
            out.append(
                {"alpha": alpha, "batch_size": 128, "seed": seed, "test_accuracy": acc + jitter}
            )
        for batch, acc in at_top.items():
            out.append(
                {"alpha": 20, "batch_size": batch, "seed": seed, "test_accuracy": acc + jitter}
            )
        for batch, acc in at_zero.items():
            out.append(
                {"alpha": 0, "batch_size": batch, "seed": seed, "test_accuracy": acc + jitter}
            )
    return out


def verdicts(r):
    summary = summarize(r, batch_size=128)
    return [
        c.passed for c in claims(summary, top=20, batch_size=128, small=32, large=512, chance=0.1)
    ]


def test_claims_pass_on_the_papers_pattern():
    sweep = {0: 0.66, 2: 0.62, 5: 0.58, 10: 0.52, 20: 0.45}
    r = rows(sweep, {32: 0.35, 512: 0.47}, {32: 0.65, 512: 0.64})
    assert verdicts(r) == [True, True, True]


def test_claims_fail_where_the_pattern_breaks():
    # Near chance at the largest alpha, a non-monotone sweep, small batches better.
    sweep = {0: 0.66, 2: 0.50, 5: 0.58, 10: 0.3, 20: 0.15}
    r = rows(sweep, {32: 0.2, 512: 0.14}, {32: 0.65, 512: 0.64})
    assert verdicts(r) == [False, False, False]


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
    assert len(d["claims"]) == 3
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert run.report.is_file()
