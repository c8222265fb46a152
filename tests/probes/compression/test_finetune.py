import pytest
import torch

from occamlab import TrainSpec, fit
from occamlab.probes.compression import MaskKeeper, Snapshot, finetune
from occamlab.probes.compression.finetune import finetune_recipe, total_steps, with_steps
from occamlab.probes.pruning import magnitude_masks
from occamlab.testing import tiny_subject
from occamlab.train import Callback

RECIPES = [
    TrainSpec(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=0.01, epochs=4, batch_size=8),
    TrainSpec(optimizer="adam", lr=0.01, weight_decay=0.01, epochs=4, batch_size=8),
    TrainSpec(optimizer="adamw", lr=0.01, weight_decay=0.1, epochs=4, batch_size=8),
    TrainSpec(optimizer="sgd", lr=0.5, momentum=0.5, epochs=4, batch_size=0, grad_clip=0.1),
]


class EveryStep(Callback):
    """Records, after each step, the largest pruned entry and the optimizer state there."""

    def __init__(self, masks):
        self.masks = masks
        self.worst = []
        self.state_worst = 0.0

    def on_step_end(self, state):
        own = dict(state.subject.model.named_parameters())
        self.worst.append(
            max(float(own[k].detach()[~m].abs().max()) for k, m in self.masks.items())
        )
        for k, m in self.masks.items():
            for buf in state.optimizer.state.get(own[k], {}).values():
                if torch.is_tensor(buf) and buf.shape == m.shape:
                    self.state_worst = max(self.state_worst, float(buf[~m].abs().max()))


@pytest.mark.parametrize("recipe", RECIPES, ids=["sgd-momentum-wd", "adam-wd", "adamw", "clip"])
def test_pruned_weights_stay_exactly_zero_through_finetuning(recipe):
    subject = tiny_subject("relu_mlp", n=48)
    before = {k: v.clone() for k, v in subject.params().items()}
    masks = magnitude_masks(subject.params(), sparsity=0.6)
    watch = EveryStep(masks)
    tuned = finetune(subject, masks, recipe, callbacks=[watch])
    assert len(watch.worst) == tuned.result.steps > 0
    assert max(watch.worst) == 0.0  # exactly zero after every step
    assert watch.state_worst == 0.0  # momentum / Adam moments never saw a pruned entry
    after = tuned.subject.params()
    for k, m in masks.items():
        assert torch.equal(after[k][~m], torch.zeros(int((~m).sum())))
        assert not torch.equal(after[k][m], before[k][m])  # the kept weights trained
    # The user's module is untouched.
    assert all(torch.equal(v, before[k]) for k, v in subject.params().items())


def test_finetuning_starts_from_the_masked_weights_and_the_keeper_is_reusable():
    subject = tiny_subject("relu_mlp")
    masks = magnitude_masks(subject.params(), sparsity=0.5)
    start = Snapshot(0)
    finetune(subject, masks, TrainSpec(epochs=1, batch_size=8, lr=0.01), callbacks=[start])
    for k, v in subject.params().items():
        expected = v * masks[k] if k in masks else v
        assert torch.equal(start.params[k], expected)
    keeper = MaskKeeper(masks)
    clone = subject.clone()
    for _ in range(2):
        fit(clone, TrainSpec(epochs=1, batch_size=8, lr=0.1), callbacks=[keeper])
        w = clone.params()
        assert all(float(w[k][~m].abs().max()) == 0.0 for k, m in masks.items())
    # Hooks are removed after training: plain training moves pruned weights again.
    fit(clone, TrainSpec(epochs=1, batch_size=8, lr=0.1))
    w = clone.params()
    assert any(float(w[k][~m].abs().max()) > 0.0 for k, m in masks.items())


def test_mask_keeper_refuses_masks_that_do_not_fit():
    subject = tiny_subject("relu_mlp")
    spec = TrainSpec(epochs=1)
    with pytest.raises(ValueError, match="unknown parameters"):
        fit(subject.clone(), spec, callbacks=[MaskKeeper({"nope": torch.ones(2, dtype=bool)})])
    name = next(iter(subject.params()))
    with pytest.raises(ValueError, match="shape"):
        fit(subject.clone(), spec, callbacks=[MaskKeeper({name: torch.ones(1, dtype=bool)})])


def test_step_counts_and_recipes_match_the_loop():
    subject = tiny_subject("relu_mlp", n=50)
    for spec in (TrainSpec(epochs=3, batch_size=8), TrainSpec(epochs=0, max_steps=11)):
        assert fit(subject.clone(), spec).steps == total_steps(spec, 50)
    assert with_steps(TrainSpec(epochs=5), 7).max_steps == 7
    tuned = finetune_recipe(TrainSpec(lr=0.2, warmup_steps=3), epochs=2, lr_scale=0.5)
    assert (tuned.lr, tuned.epochs, tuned.warmup_steps) == (0.1, 2, 0)
    with pytest.raises(ValueError):
        finetune_recipe(TrainSpec(), epochs=0, lr_scale=0.1)
