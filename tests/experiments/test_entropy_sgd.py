import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.entropy_sgd import EntropySGD, claims
from occamlab.store import Store


def _rows(sgd, ent, loss=0.045):
    return [
        {
            "seed": s,
            "optimizer": o,
            "lambda_max": v,
            "phi": v / 2,
            "train_loss": loss,
            "reached": True,
            "test_accuracy": 0.9,
            "gradients": 100,
        }
        for s, (a, b) in enumerate(zip(sgd, ent, strict=True))
        for o, v in (("sgd", a), ("entropy-sgd", b))
    ]


SGD = [5.0, 6.0, 5.5, 6.2, 4.8, 5.7]


def test_claims_follow_the_relative_reduction_against_the_margin():
    markedly = claims(_rows(SGD, [0.7 * v for v in SGD]), 0.05, 0.1)  # 30% flatter
    assert [c.decision for c in markedly] == ["passed"] * 3
    assert "0.700" in markedly[1].evidence and markedly[1].test.estimate == pytest.approx(0.3)
    # 3–5% flatter on every seed: flatter, but not markedly so; flatter than a 1% margin
    slightly = _rows(SGD, [v * (0.95 + 0.004 * i) for i, v in enumerate(SGD)])
    assert [c.decision for c in claims(slightly, 0.05, 0.1)] == ["passed", "failed", "failed"]
    assert [c.decision for c in claims(slightly, 0.05, 0.01)] == ["passed"] * 3
    sharp = claims(_rows(SGD, [1.2 * v for v in SGD]), 0.05, 0.1)
    assert [c.decision for c in sharp] == ["passed", "failed", "failed"]
    noisy = claims(_rows(SGD[:3], [3.0, 7.0, 5.0]), 0.05, 0.1)  # 3 seeds of both signs
    assert [c.decision for c in noisy][1:] == ["inconclusive"] * 2
    unmatched = claims(_rows([5.0, 6.0], [4.0, 4.9], loss=0.02), 0.05, 0.1)
    assert not unmatched[0].passed


def test_spec_rejects_bad_values():
    with pytest.raises(ValueError):
        EntropySGD(alpha=0.0)
    with pytest.raises(ValueError, match="min_reduction"):
        EntropySGD(min_reduction=1.0)
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        EntropySGD(data="nope")


def test_the_data_set_is_a_spec_field():
    assert EntropySGD(test_fraction=0.3).data_spec().test_fraction == 0.3  # digits holds out
    generated = EntropySGD(data="mnist1d").data_spec()  # MNIST-1D draws its own split
    assert generated.name == "mnist1d" and not hasattr(generated, "test_fraction")


def test_tiny_run_end_to_end(tmp_path):
    spec = EntropySGD(width=8, depth=1, target_loss=1.5, inner_steps=5, seeds=2)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 3 and len(d["tables"]["runs"]) == 4
    assert d["claims"][0]["test"] is None and d["claims"][1]["test"]["seeds"] == 2
    assert d["claims"][1]["test"]["margin"] == 0.1
    assert all(c["evidence"] for c in d["claims"])
    assert "λ_max and φ: Entropy-SGD vs SGD" in d["figures"]
