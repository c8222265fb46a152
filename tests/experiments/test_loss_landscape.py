import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.loss_landscape import LossLandscape, _claims
from occamlab.specs import make_spec
from occamlab.store import Store


def rows(minima, ratios):
    labels = [(8, True), (8, False), (20, True), (20, False)]
    return [
        {
            "network": f"net-{layers}-{skip}",
            "layers": layers,
            "skip": skip,
            "local_minima": m,
            "planes": 2,
            "mean_hessian_ratio": r,
        }
        for (layers, skip), m, r in zip(labels, minima, ratios, strict=True)
    ]


def test_claims_follow_the_numbers():
    spec = LossLandscape()
    good = _claims(rows([2, 2, 2, 5], [0.01, 0.02, 0.01, 0.2]), spec)
    assert [c.passed for c in good] == [True, True]
    bad = _claims(rows([2, 2, 3, 3], [0.01, 0.02, 0.3, 0.2]), spec)
    assert [c.passed for c in bad] == [False, True]
    flat = _claims(rows([2, 4, 2, 3], [0.01, 0.02, 0.3, 0.2]), spec)
    assert [c.passed for c in flat] == [True, False]
    assert "Fig. 5" in good[0].source


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
        },
    )
    run = run_experiment(spec, Store(tmp_path / "s.sqlite"))
    result = run.to_dict()
    assert [r["network"] for r in result["tables"]["networks"]] == [
        "ResNet-8",
        "ResNet-8-noshort",
        "ResNet-14",
        "ResNet-14-noshort",
    ]
    assert len(result["claims"]) == 2
    assert all(isinstance(c["passed"], bool) for c in result["claims"])
    assert len(result["figures"]) == 3 and run.report.exists()
    with pytest.raises(ValueError, match="odd"):
        make_spec(LossLandscape, {"steps": 4})
