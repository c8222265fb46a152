import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.information_plane import InformationPlane, claims, compression, network
from occamlab.experiments.registry import spec_at_scale
from occamlab.store import Store


def test_network_shape_and_compression_measure():
    net = network("tanh", seed=0)
    assert [m.out_features for m in net if hasattr(m, "out_features")] == [10, 7, 5, 4, 3, 2]
    records = [
        {"layer": "1", "bins": 30, "epoch": e, "i_xt": v, "i_ty": 0.5}
        for e, v in [(0, 8.0), (10, 10.0), (20, 9.0)]
    ]
    c = compression(records, "1", 30)
    assert c["peak_i_xt"] == 10.0 and c["peak_epoch"] == 10 and c["compression"] == 1.0
    assert c["relative_compression"] == 0.1


def test_claims_follow_the_measurements():
    def rows(activation, value):
        return [
            {"activation": activation, "bins": 30, "layer": layer, "relative_compression": value}
            for layer in ("1", "3", "5", "7", "9")
        ]

    acc = [
        {"activation": "tanh", "train_accuracy": 0.99},
        {"activation": "relu", "train_accuracy": 0.98},
    ]
    hidden = ["1", "3", "5", "7", "9"]
    verdicts = [
        c.passed for c in claims(rows("tanh", 0.5) + rows("relu", 0.0), acc, bins=30, hidden=hidden)
    ]
    assert verdicts == [True, True, True]
    verdicts = [
        c.passed for c in claims(rows("tanh", 0.1) + rows("relu", 0.3), acc, bins=30, hidden=hidden)
    ]
    assert verdicts == [True, False, False]


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(InformationPlane, "quick", {"epochs": 2, "every": 1, "bins": 6})
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert len(payload["claims"]) == 3
    bins = {r["bins"] for r in payload["metrics"]["compression"]}
    assert bins == {2, 6, 18}
    with pytest.raises(ValueError):
        spec_at_scale(InformationPlane, "quick", {"every": 0})
