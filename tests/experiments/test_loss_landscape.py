import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.framework import corrected
from occamlab.experiments.loss_landscape import LossLandscape, _claims
from occamlab.experiments.registry import settings_of, spec_at_scale
from occamlab.specs import make_spec
from occamlab.store import Store


def rows(shares, minima=(2, 2, 2, 2), seeds=4, planes=2):
    """One row per (network, seed); ``shares`` are the four networks' non-convex shares and
    ``minima`` their counts over all planes (ResNet-8, -8-noshort, -20, -20-noshort), the plain
    deep one's share jittered by seed."""
    labels = [(8, True), (8, False), (20, True), (20, False)]
    return [
        {
            "network": f"net-{layers}-{skip}",
            "seed": s,
            "layers": layers,
            "skip": skip,
            "non_convex": share + (0.02 * (s % 2) if (layers, skip) == (20, False) else 0),
            "local_minima": m,
            "planes": planes,
        }
        for s in range(seeds)
        for (layers, skip), share, m in zip(labels, shares, minima, strict=True)
    ]


def decisions(table):
    return [c.decision for c in corrected(_claims(table, LossLandscape()))]


def test_claims_are_paired_tests_over_seeds():
    assert decisions(rows([0.1, 0.2, 0.2, 0.5])) == ["passed"] * 3
    # the deep plain net no more non-convex than the ResNet and than the shallow plain net, the
    # ResNet with two minima per plane
    table = rows([0.1, 0.5, 0.5, 0.2], minima=(2, 2, 4, 6))
    assert decisions(table) == ["failed", "failed", "failed"]
    # the same surfaces (up to seed): the comparisons never pass
    same = decisions(rows([0.3, 0.4, 0.4, 0.39]))
    assert same[0] != "passed" and same[2] != "passed"
    claim = _claims(rows([0.1, 0.2, 0.2, 0.5], seeds=3), LossLandscape())[0]
    assert claim.test.seeds == 3 and claim.test.method == "paired t-test"
    assert claim.evidence.endswith("ResNet-20 0.20, 0.20, 0.20") and "Sec. 6" in claim.source
    minima = _claims(rows([0.1, 0.2, 0.2, 0.5], seeds=3), LossLandscape())[1]
    assert minima.evidence.endswith("ResNet-20 1, 1, 1")


def test_end_to_end_at_tiny_size(tmp_path):
    spec = make_spec(
        LossLandscape,
        {
            "width": 2,
            "deep_blocks": 2,
            "num_train": 60,
            "num_test": 20,
            "epochs": 1,
            "planes": 1,
            "steps": 3,
            "limit": 20,
            "curvature_steps": 1,
            "curvature_limit": 10,
            "seeds": 2,
        },
    )
    run = run_experiment(spec, Store(tmp_path / "s.sqlite"))
    result = run.to_dict()
    assert [r["network"] for r in result["metrics"]["networks"]] == [
        "ResNet-8",
        "ResNet-8-noshort",
        "ResNet-14",
        "ResNet-14-noshort",
    ]
    assert len(result["claims"]) == 3
    assert all(c["test"]["seeds"] == 2 for c in result["claims"])
    assert len(result["metrics"]["runs"]) == 8
    assert all(
        0 <= r["non_convex"] <= 1 and "mean_hessian_ratio" in r for r in result["metrics"]["runs"]
    )
    assert len(result["figures"]) == 3 and run.report.exists()
    with pytest.raises(ValueError, match="odd"):
        make_spec(LossLandscape, {"steps": 4})


def test_the_digits_setting_runs(tmp_path):
    assert "digits" in settings_of(LossLandscape)
    tiny = {
        "width": 2,
        "deep_blocks": 2,
        "epochs": 1,
        "planes": 1,
        "steps": 3,
        "limit": 20,
        "seeds": 2,
    }
    spec = spec_at_scale(LossLandscape, "quick", tiny, setting="digits")
    assert spec.dataset == "digits"
    result = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert result["spec"]["dataset"] == "digits" and result["spec"]["seeds"] == 2
    assert len(result["claims"]) == 3 and all(c["test"] for c in result["claims"])
    assert "mean_hessian_ratio" not in result["metrics"]["runs"][0]  # off at quick scale
