"""Layer activations collected with forward hooks, one batch at a time.

:func:`default_layers` picks the representations worth comparing: the output of every
activation module (ReLU, Tanh, GELU, ...) and the network's output layer; models that apply
activations functionally fall back to every Linear/Conv output. Each representation is
flattened to ``(batch, features)``. Hooks are removed even when the forward pass fails, and each
forward pass runs under ``no_grad`` in eval mode (each module's mode restored right after), so
the model is never changed and the caller's grad mode is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from occamlab.subject import Subject

_ACTIVATIONS = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    nn.Mish,
    nn.Hardtanh,
)
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def default_layers(model: nn.Module) -> list[str]:
    """Names of activation modules plus the last Linear/Conv (else every Linear/Conv)."""
    weighted = [n for n, m in model.named_modules() if isinstance(m, _WEIGHTED)]
    acts = [n for n, m in model.named_modules() if isinstance(m, _ACTIVATIONS)]
    if not weighted and not acts:
        raise ValueError("the model has no activation or Linear/Conv modules to read")
    if not acts:
        return weighted
    order = [n for n, _ in model.named_modules()]
    picked = set(acts) | ({weighted[-1]} if weighted else set())
    return [n for n in order if n in picked]


def check_layers(model: nn.Module, layers: Sequence[str]) -> list[str]:
    names = dict(model.named_modules())
    unknown = [name for name in layers if name not in names or name == ""]
    if unknown:
        valid = [n for n in names if n]
        raise ValueError(f"unknown layers {unknown}; valid module names: {valid}")
    if not layers:
        raise ValueError("no layers to read")
    return list(layers)


def stream_activations(
    model: nn.Module, inputs: Iterable[torch.Tensor], layers: Sequence[str]
) -> Iterator[list[torch.Tensor]]:
    """For each input batch, the flattened outputs ``(batch, features)`` of ``layers``."""
    layers = check_layers(model, layers)
    modules = dict(model.named_modules())
    captured: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def record(module, args, output):
            if not isinstance(output, torch.Tensor):
                raise ValueError(f"layer {name!r} returns {type(output).__name__}, not a tensor")
            captured[name] = output.detach().reshape(output.shape[0], -1)

        return record

    handles = [modules[name].register_forward_hook(hook(name)) for name in layers]
    try:
        for x in inputs:
            captured.clear()
            # Eval mode and no_grad only around the forward pass: nothing is held across a
            # yield, so an abandoned or interleaved stream cannot leak either into the caller.
            modes = [(m, m.training) for m in model.modules()]
            try:
                model.eval()
                with torch.no_grad():
                    model(x)
            finally:
                for module, mode in modes:
                    module.training = mode
            missing = [name for name in layers if name not in captured]
            if missing:
                raise ValueError(f"layers {missing} were not called in the forward pass")
            yield [captured[name] for name in layers]
    finally:
        for handle in handles:
            handle.remove()


def subject_inputs(
    subject: Subject, *, split: str, limit: int | None, batch_size: int
) -> Iterator[torch.Tensor]:
    """Input batches of a subject's split (labels dropped)."""
    for x, _ in subject.batches(split, batch_size=batch_size, limit=limit):  # type: ignore[arg-type]
        yield x


def layer_widths(model: nn.Module, example: torch.Tensor, layers: Sequence[str]) -> list[int]:
    """Feature count of each layer, from one example."""
    first = next(stream_activations(model, [example[:1]], layers))
    return [a.shape[1] for a in first]
