"""Counting what a compressed network keeps, layers as groups of parameters, fresh draws.

A pruned weight whose *input* is identically zero is dead weight twice over: when a whole unit is
pruned (its weight row and bias are zero and its activation maps 0 to 0, as ReLU, tanh and GELU
do), every weight that reads that unit multiplies zero. :func:`dead_input_masks` finds the inputs
of each ``Linear``/``Conv`` layer that are exactly zero on every training example and extends the
masks to their weights, so counts are of the weights a smaller network would really need. Zeroing
a weight whose input is exactly 0 leaves every training output bit-for-bit unchanged; test
metrics are always measured after the extension, so they stay honest.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from occamlab.subject import Params, Subject

_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def kept_parameters(params: Params, masks: Mapping[str, torch.Tensor]) -> int:
    """Parameters left after pruning: all entries of ``params`` minus the masked-out ones."""
    total = sum(p.numel() for p in params.values())
    return total - sum(int((~m).sum()) for m in masks.values())


def layer_of(name: str) -> str:
    """The module a parameter belongs to: ``"features.1.weight"`` → ``"features.1"``."""
    return name.rsplit(".", 1)[0] if "." in name else name


def layer_groups(params: Params) -> dict[str, list[str]]:
    """Parameter names grouped by module, in the parameters' order."""
    groups: dict[str, list[str]] = {}
    for name in params:
        groups.setdefault(layer_of(name), []).append(name)
    return groups


def shuffled(params: Params, *, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Each tensor's entries in a random order: a fresh draw from its own init distribution.

    Initializations draw the entries of a tensor i.i.d. (uniform or normal, PyTorch's and every
    scheme here except orthogonal), so a random permutation of an initial tensor is distributed
    exactly as a new draw. Used for the re-initialization controls when no fresh initial weights
    are given.
    """
    return {
        k: v.detach().reshape(-1)[torch.randperm(v.numel(), generator=generator)].reshape(v.shape)
        for k, v in params.items()
    }


def dead_input_masks(
    subject: Subject, params: Params, masks: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``masks`` extended with the weights of inputs that are zero on every training example.

    Runs the training split through ``params ⊙ masks`` (streamed, eval mode) with forward
    pre-hooks on every ``Linear`` and ``Conv`` module, records which input features (channels)
    are ever nonzero, and masks the weight columns of those that never are.
    """
    from occamlab.probes.pruning import apply_masks

    masked = apply_masks(dict(params), masks)
    seen: dict[str, torch.Tensor] = {}
    handles = []

    def record(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            x = inputs[0].detach() != 0
            if isinstance(module, nn.Linear):  # features last
                alive = x.reshape(-1, x.shape[-1]).any(dim=0)
            else:  # channels second
                alive = x.transpose(0, 1).reshape(x.shape[1], -1).any(dim=1)
            seen[name] = alive if name not in seen else seen[name] | alive

        return hook

    probe = subject.clone()  # hooks go on a copy: the user's module is never touched
    for name, module in probe.model.named_modules():
        if isinstance(module, _LAYERS) and f"{name}.weight" in masked:
            handles.append(module.register_forward_pre_hook(record(name)))
    try:
        with torch.no_grad(), probe.eval_mode():
            for x, _ in probe.batches("train"):
                probe.forward(masked, x)
    finally:
        for handle in handles:
            handle.remove()
    out = {k: v.clone() for k, v in masks.items()}
    for name, alive in seen.items():
        key = f"{name}.weight"
        weight = masked[key]
        if bool(alive.all()) or weight.dim() < 2 or weight.shape[1] != alive.numel():
            continue  # grouped convolutions and the like: leave them alone
        shape = (1, alive.numel()) + (1,) * (weight.dim() - 2)
        keep = alive.reshape(shape).expand_as(weight)
        out[key] = (out[key] if key in out else torch.ones_like(keep)) & keep
    return out
