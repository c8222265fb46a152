import torch

from occamlab import TrainSpec, fit
from occamlab.probes.compression import layer_robustness
from occamlab.probes.compression.counting import layer_groups, shuffled
from occamlab.testing import tiny_subject


def test_each_layer_is_put_back_alone_and_the_subject_is_untouched():
    subject = tiny_subject("relu_mlp", n=48)
    init = {k: v.clone() for k, v in subject.params().items()}
    snap = {}
    fit(subject, TrainSpec(epochs=3, batch_size=8, lr=0.05))
    snap = {k: v.clone() for k, v in subject.params().items()}
    result = layer_robustness(subject, init=init, checkpoints={"trained": snap})
    assert result.states == ["init", "trained", "rerandomized"]
    assert [r["layer"] for r in result.rows] == list(layer_groups(snap))
    base = subject.evaluate(split="test").error
    assert result.baseline == base
    for row in result.rows:
        assert row["trained"] == base  # putting a layer back to its own value changes nothing
        names = layer_groups(snap)[row["layer"]]
        mixed = {**snap, **{k: init[k] for k in names}}
        assert row["init"] == subject.evaluate(mixed, split="test").error
    assert all(torch.equal(v, snap[k]) for k, v in subject.params().items())


def test_shuffled_is_a_seeded_permutation_of_each_tensor():
    p = tiny_subject("relu_mlp").params()
    a = shuffled(p, generator=torch.Generator().manual_seed(1))
    b = shuffled(p, generator=torch.Generator().manual_seed(1))
    for k, v in p.items():
        assert torch.equal(a[k], b[k])
        assert torch.equal(a[k].reshape(-1).sort().values, v.reshape(-1).sort().values)
    assert any(not torch.equal(a[k], v) for k, v in p.items())
