from occamlab.experiments import run_experiment
from occamlab.experiments.grokking import Grokking, claims, first_step, summarize
from occamlab.store import Store


def rows(grok_steps, control_test, *, train_step=800):
    out = [
        {
            "weight_decay": 1.0,
            "seed": s,
            "train_step": train_step,
            "test_step": step,
            "final_train_accuracy": 1.0,
            "final_test_accuracy": 0.99 if step else 0.3,
        }
        for s, step in enumerate(grok_steps)
    ]
    out += [
        {
            "weight_decay": 0.0,
            "seed": s,
            "train_step": train_step,
            "test_step": None,
            "steps": 30000,
            "final_train_accuracy": 1.0,
            "final_test_accuracy": acc,
        }
        for s, acc in enumerate(control_test)
    ]
    return out


def verdicts(r):
    summary = summarize(r, grok_wd=1.0, control_wd=0.0)
    return [c.passed for c in claims(summary, target=0.99, max_steps=20000)]


def test_claims_pass_on_the_papers_pattern():
    assert verdicts(rows([12000, 14000, 11000], [0.05, 0.2, 0.1])) == [True, True, True]


def test_claims_fail_where_the_pattern_breaks():
    # One seed never generalizes; the control generalizes too.
    assert verdicts(rows([12000, None, 11000], [0.9, 0.95, 0.97])) == [False, False, False]
    # Generalization right after fitting is not grokking.
    assert verdicts(rows([1600, 2000, 1800], [0.05, 0.1, 0.1])) == [True, False, True]


def test_first_step():
    history = [{"step": 10, "a": 0.5}, {"step": 20, "a": None}, {"step": 30, "a": 0.995}]
    assert first_step(history, "a", 0.99) == 30 and first_step(history, "a", 1.0) is None


def test_tiny_run_end_to_end(tmp_path):
    spec = Grokking(seeds=1, p=7, embed_dim=8, width=16, max_steps=30, eval_every=2)
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    runs = d["tables"]["runs"]
    assert len(runs) == 2 and len(d["claims"]) == 3
    # Nothing generalized in 30 steps, so the control gets the full budget as well.
    assert [r["budget"] for r in runs] == [30, 30]
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert "train and test accuracy" in d["figures"] and run.report.is_file()
    assert {r["run"] for r in d["tables"]["curves (seed 0)"]} == {"weight decay", "control"}
