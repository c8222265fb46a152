"""Structured pruning: remove whole neurons (rows of a Linear weight) or channels (output
channels of a convolution), ranked by the norm of their incoming weights (Li et al. 2017,
"Pruning filters for efficient ConvNets", arXiv 1608.08710, rank filters by ℓ1 norm).

The score of unit i of a layer with weight W (shape ``(out, in, *kernel)``) is ``‖W[i]‖_p``
(p = 1 or 2). Pruning unit i masks the whole slice ``W[i]`` and, if the layer has one, the bias
entry ``b[i]``. Counts are exact: a fraction s of U units removes exactly ``round(s·U)`` of them
(ties broken by position), per layer (``scope="layer"``, the default: norms of different layers
are not comparable) or pooled (``scope="global"``). The output layer is excluded by default
(removing a row there removes a class). The weights that *read* a removed unit become dead; see
:func:`occamlab.probes.compression.counting.dead_input_masks` to count them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch

from occamlab.probes.pruning.masks import Masks, Scope, _masks_from_scores


def unit_layers(params: Mapping[str, torch.Tensor], *, include_output: bool = False) -> list[str]:
    """Weights whose rows are units: tensors with ≥ 2 dims, without the last one (the output
    layer) unless ``include_output``."""
    names = [k for k, v in params.items() if v.dim() >= 2]
    return names if include_output else names[:-1]


def neuron_masks(
    params: Mapping[str, torch.Tensor],
    *,
    sparsity: float,
    scope: Scope = "layer",
    names: Sequence[str] | None = None,
    norm: Literal[1, 2] = 2,
    rates: Mapping[str, float] | None = None,
) -> Masks:
    """Keep-masks removing exactly ``sparsity`` of the units (rows/output channels) by norm.

    Args:
        params: parameters by name.
        sparsity: fraction of the units to remove.
        scope: ``"layer"`` (each layer to ``sparsity``) or ``"global"`` (one norm threshold).
        names: the weights whose units are candidates (default :func:`unit_layers`).
        norm: 1 or 2, the norm of a unit's incoming weights.
        rates: per-name multipliers of ``sparsity`` (such a layer is pruned on its own).

    Returns:
        Bool keep-masks for each candidate weight and its bias (``<module>.bias``) if present.

    >>> w = {"a.weight": torch.tensor([[3.0, 0.0], [0.1, 0.1], [1.0, 1.0]]),
    ...      "a.bias": torch.zeros(3), "b.weight": torch.ones(2, 3)}
    >>> m = neuron_masks(w, sparsity=1 / 3)
    >>> m["a.weight"].all(dim=1).tolist(), m["a.bias"].tolist()
    ([True, False, True], [True, False, True])
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    if norm not in (1, 2):
        raise ValueError(f"norm must be 1 or 2, got {norm!r}")
    names = unit_layers(params) if names is None else list(names)
    if not names:
        raise ValueError(
            "no layers to prune structurally (need weights with >= 2 dims before the output)"
        )
    for name in names:
        if name not in params:
            raise ValueError(f"unknown parameter name {name!r}; valid: {sorted(params)}")
        if params[name].dim() < 2:
            raise ValueError(f"{name!r} is not a weight matrix or kernel (it has < 2 dims)")
    scores = {
        k: params[k].detach().to(torch.float64).reshape(params[k].shape[0], -1).norm(p=norm, dim=1)
        for k in names
    }
    units = _masks_from_scores(scores, sparsity=sparsity, scope=scope, rates=rates, existing=None)
    masks: Masks = {}
    for name, keep in units.items():
        weight = params[name]
        masks[name] = keep.reshape((-1,) + (1,) * (weight.dim() - 1)).expand_as(weight).clone()
        bias = name.rsplit(".", 1)[0] + ".bias" if name.endswith(".weight") else None
        if bias in params and tuple(params[bias].shape) == (weight.shape[0],):
            masks[bias] = keep.clone()
    return masks
