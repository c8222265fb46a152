"""Reading and writing weights: safetensors, or ``torch.load(weights_only=True)``; never pickle."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn


class WeightsError(ValueError):
    """A weights file that cannot be read safely or does not fit the model."""


def save_weights(
    state: nn.Module | Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    *,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write a module's state (or a tensor dict) to ``path`` as safetensors, atomically.

    The file appears complete or not at all: it is written to a temporary file in the same
    folder and renamed, so a crash never leaves a half-written checkpoint.
    """
    tensors = state.state_dict() if isinstance(state, nn.Module) else dict(state)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=dict(metadata or {}))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a weights file without executing any code from it.

    ``.safetensors`` files are read with safetensors. Any other file is offered to
    ``torch.load(weights_only=True)``, which accepts plain tensor dicts saved by ``torch.save``
    and refuses pickles that would construct arbitrary objects.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {str(path)!r} does not exist")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(
                f"{str(path)!r} is not a readable safetensors file ({exc}); save weights with "
                "occamlab.save_weights or safetensors.torch.save_file"
            ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means we refuse the file
        raise WeightsError(
            f"refusing to load {str(path)!r}: it is not safetensors and not a plain tensor file "
            f"({type(exc).__name__}). Arbitrary pickles are never loaded; save the weights as "
            "safetensors (safetensors.torch.save_file(model.state_dict(), 'w.safetensors'))"
        ) from None
    if isinstance(state, nn.Module) or not isinstance(state, Mapping):
        raise WeightsError(f"{str(path)!r} does not hold a dict of tensors (a state_dict)")
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"{str(path)!r}: entries {bad[:5]} are not tensors")
    return dict(state)


def load_into(module: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a weights file into ``module``, with a clear error listing mismatched names/shapes.

    Parameters holding NaN or infinite values are refused (naming the file and the parameter):
    every probe of such a network fails or measures nothing.
    """
    state = load_weights(path)
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}")
        if shapes:
            parts.append("shape mismatch " + "; ".join(shapes[:5]))
        raise WeightsError(
            f"weights in {str(path)!r} do not fit the model ({', '.join(parts)}); build the model "
            "with the same spec (--model and --model-opt) the weights were trained with"
        )
    parameters = {name for name, _ in module.named_parameters()}
    for name in own:  # buffers may hold infinities on purpose (e.g. attention masks)
        tensor = state[name]
        if name in parameters and tensor.is_floating_point():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise WeightsError(
                    f"weights in {str(path)!r}: parameter {name!r} holds {bad} NaN or infinite "
                    "value(s), as after a diverged training run; no probe can measure such a "
                    "network: use a checkpoint from before it diverged or retrain it"
                )
    module.load_state_dict(state)
    return module
