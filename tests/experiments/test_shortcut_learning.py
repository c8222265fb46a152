import numpy as np
import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.registry import spec_at_scale
from occamlab.experiments.shortcut_learning import METHODS, ShortcutLearning, claims
from occamlab.store import Store


def _rows(means: dict[str, tuple[float, float]], seeds: int = 5) -> list[dict]:
    """Per-seed accuracies around the given (train, test) means, with a little spread."""
    jitter = np.linspace(-0.01, 0.01, seeds)
    return [
        {
            "method": m,
            "seed": s,
            "train_accuracy": means[m][0] + jitter[s],
            "test_accuracy": means[m][1] - jitter[s],
        }
        for m in METHODS
        for s in range(seeds)
    ]


PAPER = {"erm": (0.874, 0.171), "grey": (0.735, 0.730), "irm": (0.708, 0.669)}


def test_claims_pass_on_the_papers_numbers():
    out = claims(_rows(PAPER))
    assert [c.decision for c in out] == ["passed"] * 6
    assert all(c.test is not None and c.test.seeds == 5 for c in out)
    assert out[1].test.estimate == pytest.approx(-0.171)
    assert out[3].test.method == "paired t-test"
    assert out[3].test.estimate == pytest.approx(0.669 - 0.171)


def test_claims_fail_without_a_shortcut_or_without_invariance():
    # ERM that learned the shape only (like the oracle), and an IRMv1 that kept the colour
    honest = claims(_rows({"erm": (0.74, 0.72), "grey": (0.735, 0.73), "irm": (0.73, 0.71)}))
    assert [c.decision for c in honest][:2] == ["failed", "failed"]
    shortcut = claims(_rows({"erm": (0.874, 0.171), "grey": (0.9, 0.6), "irm": (0.87, 0.2)}))
    assert [c.decision for c in shortcut][2:] == ["failed"] * 4


def test_tiny_run_end_to_end(tmp_path):
    spec = ShortcutLearning(repeats=2, width=8, steps=12, anneal_steps=6, eval_every=6, seeds=2)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 6
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert all(c["test"]["seeds"] == 2 for c in d["claims"])
    assert "train vs test accuracy" in d["figures"]
    runs = d["tables"]["runs"]
    assert sorted((r["method"], r["seed"]) for r in runs) == sorted(
        (m, s) for m in METHODS for s in range(2)
    )
    for r in runs:  # equal environments: the pooled accuracy is the mean of the two
        mean = (r["train_env1_accuracy"] + r["train_env2_accuracy"]) / 2
        assert r["train_accuracy"] == pytest.approx(mean, abs=1e-12)
        assert r["penalty"] >= 0
    curves = d["tables"]["test accuracy during training"]
    assert {c["step"] for c in curves} == {6, 12}
    last = {(c["method"], c["seed"]): c for c in curves if c["step"] == 12}
    for r in runs:
        assert last[r["method"], r["seed"]]["test"] == r["test_accuracy"]
    # the colour agrees with the label 1 − e per environment, the shape 0.75 (2 × 1,438 draws)
    for row in d["tables"]["colour and label agreement"]:
        assert row["train_env1"] == pytest.approx(0.8, abs=0.03)
        assert row["train_env2"] == pytest.approx(0.9, abs=0.03)
        assert row["test"] == pytest.approx(0.1, abs=0.05)
        assert row["train_env1_shape"] == pytest.approx(0.75, abs=0.03)
    summary = {r["method"]: r for r in d["tables"]["accuracy by method"]}
    erm = [r["test_accuracy"] for r in runs if r["method"] == "erm"]
    assert summary["erm"]["test_accuracy"] == pytest.approx(np.mean(erm))


def test_the_narrow_setting_changes_only_the_width():
    spec = spec_at_scale(ShortcutLearning, "quick", {}, setting="narrow")
    assert spec.width == 32 and spec.seeds == ShortcutLearning().seeds
