"""Flat views of parameter dicts: curvature code works on one vector of all parameters."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def flatten(params: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Concatenate the tensors of ``params`` (in their order) into one 1-D vector."""
    return torch.cat([p.reshape(-1) for p in params.values()])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Split a flat vector back into tensors shaped like ``like`` (views, no copy)."""
    total = sum(p.numel() for p in like.values())
    if vector.ndim != 1 or vector.numel() != total:
        raise ValueError(f"expected a vector of {total} entries, got shape {tuple(vector.shape)}")
    out, start = {}, 0
    for name, p in like.items():
        out[name] = vector[start : start + p.numel()].view_as(p)
        start += p.numel()
    return out
