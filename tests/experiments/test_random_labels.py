from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.random_labels import RandomLabels, claims
from occamlab.store import Store

JITTER = (-0.01, 0.004, 0.006)  # seed-to-seed noise of the test error


def rows(errors, steps, shuffled=None, fit=1.0, *, at_one=None):
    """Per-seed runs: ``errors``/``steps`` per level p (mean over seeds), ``shuffled`` the
    shuffled-pixel error per seed, ``at_one`` the errors at p = 1 per seed (overrides)."""
    out = []
    for seed, jitter in enumerate(JITTER):
        for i, (e, s) in enumerate(zip(errors, steps, strict=True)):
            p = i / (len(errors) - 1)
            error = at_one[seed] if at_one is not None and p == 1.0 else e + jitter
            out.append(
                {
                    "inputs": "clean",
                    "label_noise": p,
                    "seed": seed,
                    "train_accuracy": fit,
                    "test_error": error,
                    "steps": s + 100 * seed,
                }
            )
        if shuffled is not None:
            out.append(
                {
                    "inputs": "shuffled_pixels",
                    "label_noise": 0.0,
                    "seed": seed,
                    "train_accuracy": fit,
                    "test_error": shuffled[seed],
                    "steps": steps[0],
                }
            )
    return out


def verdicts(r):
    return [c.decision for c in claims(r, target=0.999, num_classes=10)]


PAPER = ([0.33, 0.45, 0.56, 0.67, 0.78, 0.89], [3500, 3900, 4300, 4700, 5000, 5300])


def test_claims_pass_on_the_papers_pattern():
    r = rows(*PAPER, shuffled=(0.325, 0.335, 0.34))
    assert verdicts(r) == ["passed"] * 7
    tested = claims(r, target=0.999, num_classes=10)
    assert tested[0].test is None  # every run fits: checked run by run
    assert tested[1].test.method == "slope t-test" and tested[1].test.seeds == 18
    assert tested[2].test.method == "one-sample t-test" and tested[2].test.seeds == 3
    assert tested[4].test.method == "paired t-test" and tested[4].test.seeds == 3
    assert tested[6].test.margin == -0.03 and tested[6].test.points["shuffled pixels"] == [
        0.325,
        0.335,
        0.34,
    ]


def test_claims_fail_where_the_pattern_breaks():
    # Not fitted; error falls with p and is far from linear; far from chance; faster on random
    # labels (within 10×, so only that side fails); the shuffle hurts.
    r = rows(
        [0.8, 0.2, 0.9, 0.1, 0.3, 0.3],
        [3500, 3400, 3300, 3200, 3100, 3000],
        shuffled=(0.95, 0.96, 0.97),
        fit=0.9,
    )
    assert verdicts(r) == ["failed"] * 5 + ["passed", "failed"]
    slow = rows(PAPER[0], [300, 3900, 4300, 4700, 5000, 30000])
    assert verdicts(slow)[5] == "failed"  # 60–100× the steps is not a small factor


def test_gaps_within_the_seed_noise_are_inconclusive():
    # The error at p = 1 straddles chance − 0.05 and the shuffle's cost straddles 0.03.
    r = rows(*PAPER, shuffled=(0.35, 0.394, 0.366), at_one=(0.84, 0.88, 0.83))
    decisions = verdicts(r)
    assert decisions[3] == "inconclusive" and decisions[6] == "inconclusive"
    assert decisions[1] == "passed"


def test_tiny_run_end_to_end(tmp_path):
    spec = RandomLabels(
        seeds=1, num_train=200, num_levels=3, input_corruptions=False, width=16, max_epochs=30
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["tables"]["runs"]) == 3 and len(d["claims"]) == 6
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one seed: the comparisons and the R² test decide nothing; the slope has its 3 points
    assert [c["test"] is None for c in d["claims"]] == [True] + [False] * 5
    assert all(c["decision"] == "inconclusive" for c in d["claims"][2:])
    assert "test error vs label corruption" in d["figures"] and run.report.is_file()


def test_too_few_levels_leave_the_slope_and_linearity_untested():
    r = [x for x in rows(*PAPER) if x["label_noise"] in (0.0, 1.0) and x["seed"] == 0]
    c = claims(r, target=0.999, num_classes=10)
    assert [x.test is None for x in c[:3]] == [True, True, True]
    assert not c[1].passed and "needs 3" in c[1].evidence


def test_the_digits_setting_trains_the_seeds_together(tmp_path):
    tiny = {"seeds": 2, "num_levels": 3, "input_corruptions": False, "width": 8, "max_epochs": 2}
    spec = spec_at_scale(RandomLabels, "quick", tiny, "digits")
    assert (spec.data, spec.num_train, spec.model) == ("digits", 0, "mlp")
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    runs = d["tables"]["runs"]
    assert len(runs) == 6 and all(r["steps"] > 0 for r in runs)
    tested = [c for c in d["claims"] if c["test"] is not None]
    assert len(tested) == 5 and all(c["test"]["seeds"] in (2, 6) for c in tested)
