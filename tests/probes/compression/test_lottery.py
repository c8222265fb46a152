import json

import pytest
import torch

from occamlab import TrainSpec, fit
from occamlab.probes.compression import LotterySpec, MaskKeeper, Snapshot, lottery_ticket
from occamlab.probes.compression.lottery import imp_masks, random_like, round_sparsity
from occamlab.probes.connectivity import interpolate
from occamlab.probes.pruning import apply_masks, prunable_names
from occamlab.testing import tiny_subject
from occamlab.train import Checkpointer
from occamlab.weights import load_weights

RECIPE = TrainSpec(optimizer="adam", lr=0.01, batch_size=8, epochs=3, schedule="constant")


def test_rewinding_restores_exactly_the_weights_of_step_k(tmp_path):
    subject = tiny_subject("relu_mlp", n=48)  # 6 steps per epoch
    snap = Snapshot(7)
    run = subject.clone()
    fit(run, RECIPE, callbacks=[snap, Checkpointer(tmp_path, keep_all=True)])
    # An independent run stopped at step 7 has bitwise the same weights.
    short = subject.clone()
    fit(short, TrainSpec(**{**RECIPE.__dict__, "epochs": 0, "max_steps": 7}))
    assert all(torch.equal(snap.params[k], v) for k, v in short.params().items())
    # Step 6 is the end of epoch 1: the checkpoint file holds the same weights.
    at6 = Snapshot(6)
    fit(subject.clone(), RECIPE, callbacks=[at6])
    saved = load_weights(tmp_path / "epoch_1.safetensors")
    assert all(torch.equal(at6.params[k], saved[k]) for k in at6.params)
    zero = Snapshot(0)
    fit(subject.clone(), RECIPE, callbacks=[zero])
    assert all(torch.equal(zero.params[k], v) for k, v in subject.params().items())


def test_imp_masks_shrink_each_layer_at_its_rate_and_never_revive():
    subject = tiny_subject("relu_mlp")
    p = subject.params()
    names = prunable_names(p)
    spec = LotterySpec(rate=0.2, output_rate=0.1)
    masks, g = None, torch.Generator().manual_seed(0)
    for j in range(1, 5):
        moved = {k: v + 0.3 * torch.randn(v.shape, generator=g) for k, v in p.items()}
        new = imp_masks(moved, spec=spec, round_=j, existing=masks, names=names)
        for k in names:
            rate = spec.output_rate if k == names[-1] else spec.rate
            assert int((~new[k]).sum()) == round(round_sparsity(rate, j) * new[k].numel())
            if masks is not None:
                assert not bool((new[k] & ~masks[k]).any())
        masks = new
    r = random_like(masks, generator=g)
    assert all(int(r[k].sum()) == int(masks[k].sum()) for k in masks)
    assert any(not torch.equal(r[k], masks[k]) for k in masks)


def test_lottery_ticket_runs_rounds_with_controls_and_instability():
    subject = tiny_subject("relu_mlp", n=48)
    before = {k: v.clone() for k, v in subject.params().items()}
    spec = LotterySpec(rounds=2, rate=0.5, output_rate=0.25, rewind_step=2, instability=True)
    result = lottery_ticket(subject, RECIPE, spec=spec)
    assert all(torch.equal(v, before[k]) for k, v in subject.params().items())
    assert result.steps == 18 and len(result.rounds) == 2
    # The dense run is the plain loop from the same start.
    dense = subject.clone()
    final = fit(dense, RECIPE).final
    assert result.dense["test_accuracy"] == final["test_accuracy"]
    for row in result.rounds:
        assert row["ticket"]["steps"] == 16  # T - k
        assert row["reinit"] is not None and row["random"] is not None
        for k, kept in row["layer_kept"].items():
            rate = spec.output_rate if k.startswith("head") else spec.rate
            assert kept == pytest.approx(
                1
                - round(round_sparsity(rate, row["round"]) * before[k].numel()) / before[k].numel()
            )
        assert row["instability"]["error_barrier"] is not None
    assert result.rounds[1]["kept"] < result.rounds[0]["kept"]
    table = result.table()
    assert table[0]["dense"] == result.dense["test_error"]
    json.dumps(result.to_dict())
    with pytest.raises(ValueError, match="rewind_step"):
        lottery_ticket(subject, RECIPE, spec=LotterySpec(rewind_step=18))


def test_the_barrier_between_identical_sparse_networks_is_zero():
    subject = tiny_subject("relu_mlp", n=48)
    masks = imp_masks(
        subject.params(),
        spec=LotterySpec(),
        round_=3,
        existing=None,
        names=prunable_names(subject.params()),
    )
    net = subject.clone(apply_masks(subject.params(), masks))
    fit(net, RECIPE, callbacks=[MaskKeeper(masks)])
    path = interpolate(subject, net.params(), net.params(), num_points=5)
    assert path.error_barrier == 0.0 and path.loss_barrier == 0.0
