import math

import pytest
import torch

from occamlab.data import load_data
from occamlab.experiments import run_experiment
from occamlab.experiments.memorization_capacity import (
    MemorizationCapacity,
    claims,
    line_example,
    summarize,
)
from occamlab.experiments.registry import spec_at_scale
from occamlab.store import Store

TINY = dict(
    seeds=3,
    construction_seeds=2,
    max_points=64,
    input_dim=4,
    teacher_width=2,
    max_factor=2,
    num_train=64,
    num_test=32,
    steps=60,
    line_points=6,
)


def _built(seeds=3, residual_to_bound=-3.0, exponent=3.0):
    rows = []
    for seed in range(seeds):
        for n in (16, 64, 256):
            cond = 10.0 * n**exponent * (1 + 0.1 * seed)
            rows.append(
                {
                    "sample": "gaussian",
                    "labels": "gaussian",
                    "seed": seed,
                    "n": n,
                    "d": 4,
                    "num_weights": 2 * n + 4,
                    "lower_triangular": True,
                    "min_diagonal": 1e-3,
                    "labels_recovered": None,
                    "exact": True,
                    "relative_residual": 1e-12 * n**2,
                    "condition_number": cond,
                    "log10_condition": math.log10(cond),
                    "log10_relative_residual": math.log10(1e-12 * n**2),
                    "log10_residual_to_bound": residual_to_bound + 0.1 * seed,
                }
            )
    return rows


def _students(success_k, success_wide, seeds=12, k=4, widths=(4, 8, 16, 32)):
    rows = []
    for m in widths:
        for s in range(seeds):
            ok = s < (success_k if m == k else success_wide)
            loss = 1e-7 * (1 + s) if ok else 1e-3 * (1 + s) * (k / m)
            rows.append(
                {
                    "width": m,
                    "factor": m // k,
                    "seed": s,
                    "relative_loss": loss,
                    "log10_relative_loss": math.log10(loss),
                    "relative_test_loss": loss,
                    "reached": ok,
                }
            )
    return rows


def _decisions(built, students, k=4):
    spec = MemorizationCapacity(teacher_width=k, max_factor=8)
    s = summarize(built, students, widths=spec.widths())
    return [c.decision for c in claims(built, students, s, spec)]


def test_claims_pass_on_the_papers_pattern():
    assert _decisions(_built(), _students(1, 11)) == ["passed"] * 6


def test_claims_fail_where_the_pattern_breaks():
    # residuals above the rounding bound, κ growing like n, wide students failing more
    decisions = _decisions(
        _built(residual_to_bound=2.0, exponent=1.0), _students(11, 1, widths=(4, 8, 16, 32))
    )
    assert decisions[2:4] == ["failed", "failed"]
    assert decisions[5] == "failed"


def test_success_fractions_and_intervals():
    s = summarize(_built(), _students(3, 12), widths=[4, 8, 16, 32])
    first, last = s["by_width"][0], s["by_width"][-1]
    assert (first["reached"], first["success_fraction"]) == (3, 0.25)
    assert last["success_fraction"] == 1.0 and last["success_high"] == 1.0
    assert 0.05 < first["success_low"] < 0.25 < first["success_high"] < 0.6  # Clopper–Pearson


def test_line_example_goes_through_its_points():
    line = line_example(7, 0.5)
    assert line["num_weights"] == 2 * 7 + 1 and line["check"]["exact"]
    grid = torch.tensor(line["grid"])
    for row in line["rows"]:
        assert row["f(x)"] == pytest.approx(row["y"], abs=1e-12)
        # the drawn curve passes through the point too (linear interpolation of the grid)
        i = int(torch.searchsorted(grid, torch.tensor(row["x"])))
        t = (row["x"] - line["grid"][i - 1]) / (line["grid"][i] - line["grid"][i - 1])
        drawn = (1 - t) * line["f"][i - 1] + t * line["f"][i]
        assert drawn == pytest.approx(row["y"], abs=0.05 * (1 + max(map(abs, line["weights"]))))


def test_scales_and_settings_are_valid():
    spec_at_scale(MemorizationCapacity, "paper")
    spec_at_scale(MemorizationCapacity, "quick", setting="small-teacher")
    assert MemorizationCapacity().sizes() == [16, 64, 256, 1024]
    assert MemorizationCapacity().widths() == [8, 16, 32, 64]
    with pytest.raises(ValueError, match="power of 2"):
        MemorizationCapacity(max_factor=6)
    with pytest.raises(ValueError, match="unknown data set"):
        MemorizationCapacity(datasets="digits,nope")


def test_tiny_run_end_to_end(tmp_path):
    spec = MemorizationCapacity(**TINY)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert [c["decision"] for c in d["claims"][:2]] == ["passed", "passed"]
    assert len(d["claims"]) == 6
    for c in d["claims"][2:]:
        assert c["test"]["method"] in ("one-sample t-test", "slope t-test", "permutation test")
        assert c["test"]["p_adjusted"] is not None
    built = d["tables"]["constructions"]
    # 3 samples of 2 data sets + Gaussian data, sizes 16 and 64, two draws each
    assert len(built) == 5 * 2 * 2
    assert all(b["num_weights"] == 2 * b["n"] + b["d"] for b in built)
    assert all(b["max_residual"] <= b["rounding_bound"] for b in built)
    assert {b["d"] for b in built} == {4, 64, 40}
    students = d["tables"]["students"]
    assert sorted({(r["width"], r["seed"]) for r in students}) == [
        (m, s) for m in (2, 4) for s in range(3)
    ]
    for r in students:
        assert r["reached"] == (r["relative_loss"] < spec.success_loss)
        assert r["parameters"] == r["width"] * (4 + 2) + 1
    by_width = d["tables"]["students by width"]
    assert [r["reached"] for r in by_width] == [
        sum(s["reached"] for s in students if s["width"] == m) for m in (2, 4)
    ]
    assert d["figures"]
    # the relative loss is the stored training loss over the targets' variance
    y = load_data(spec.teacher()).train.y.to(torch.float64)
    for r in students:
        assert r["relative_loss"] == pytest.approx(r["train_loss"] / float(y.var(unbiased=False)))
