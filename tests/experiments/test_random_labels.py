from occamlab.experiments import run_experiment
from occamlab.experiments.random_labels import RandomLabels, claims, summarize
from occamlab.store import Store


def rows(errors, steps, shuffled=None, fit=1.0):
    out = []
    for i, (e, s) in enumerate(zip(errors, steps, strict=True)):
        p = i / (len(errors) - 1)
        out.append(
            {
                "inputs": "clean",
                "label_noise": p,
                "seed": 0,
                "train_accuracy": fit,
                "test_error": e,
                "steps": s,
            }
        )
    if shuffled is not None:
        out.append(
            {
                "inputs": "shuffled_pixels",
                "label_noise": 0.0,
                "seed": 0,
                "train_accuracy": fit,
                "test_error": shuffled,
                "steps": steps[0],
            }
        )
    return out


def verdicts(r):
    return [c.passed for c in claims(r, summarize(r), target=0.999, num_classes=10)]


def test_claims_pass_on_the_papers_pattern():
    r = rows([0.33, 0.45, 0.56, 0.67, 0.78, 0.89], [3500, 3900, 4300, 4700, 5000, 5300], 0.34)
    assert verdicts(r) == [True, True, True, True, True]


def test_claims_fail_where_the_pattern_breaks():
    # Not fitted; error flat (no linear rise); far from chance; faster on random labels; the
    # shuffle hurts.
    r = rows([0.5, 0.2, 0.6, 0.1, 0.5, 0.5], [3500, 3400, 3300, 3200, 3100, 3000], 0.6, fit=0.9)
    assert verdicts(r) == [False, False, False, False, False]


def test_tiny_run_end_to_end(tmp_path):
    spec = RandomLabels(
        seeds=1, num_train=200, num_levels=2, input_corruptions=False, width=16, max_epochs=30
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["tables"]["runs"]) == 2 and len(d["claims"]) == 4
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert "test error vs label corruption" in d["figures"] and run.report.is_file()
