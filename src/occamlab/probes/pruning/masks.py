"""Pruning masks over a parameter dict: magnitude (global or per layer) and random (the control).

A mask is a bool tensor per parameter name (``True`` = kept). Masks never touch a module:
:func:`apply_masks` returns new tensors, to be evaluated through the functional view
(:meth:`Subject.forward`) or copied into a clone for fine-tuning.

Sparsity is exact: pruning a fraction s of N candidate weights removes exactly round(s·N) of
them (ties in magnitude are broken by position, so results are deterministic). With
``existing`` masks (iterative pruning), weights already pruned stay pruned and count toward s.

Per-layer ``rates`` scale the target for one layer, as in Frankle & Carbin (2019), who prune the
output layer at half the rate of the others: a layer with rate r is pruned on its own to
sparsity r·s; the remaining layers are pruned to s, pooled (``scope="global"``: one magnitude
threshold across them, Frankle & Carbin's choice for deep nets) or each on its own
(``scope="layer"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch

Scope = Literal["global", "layer"]
Masks = dict[str, torch.Tensor]


def prunable_names(
    params: Mapping[str, torch.Tensor], *, include_biases: bool = False
) -> list[str]:
    """Names of the weights that pruning considers: tensors with ≥ 2 dims (Linear and Conv
    weights); 1-D tensors (biases, norm scales) only with ``include_biases``."""
    return [k for k, v in params.items() if v.dim() >= 2 or (include_biases and v.dim() == 1)]


def _check(params: Mapping[str, torch.Tensor], names: Sequence[str], sparsity: float) -> None:
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    unknown = [n for n in names if n not in params]
    if unknown:
        raise ValueError(f"unknown parameter names {unknown}; valid: {sorted(params)}")
    if not names:
        raise ValueError("no parameters to prune")


def _prune_lowest(scores: torch.Tensor, count: int) -> torch.Tensor:
    """Keep-mask (flat) pruning exactly ``count`` entries with the lowest scores (stable ties)."""
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    if count > 0:
        order = torch.argsort(scores.reshape(-1), stable=True)
        keep[order[:count]] = False
    return keep


def _masks_from_scores(
    scores: Mapping[str, torch.Tensor],
    *,
    sparsity: float,
    scope: Scope,
    rates: Mapping[str, float] | None,
    existing: Mapping[str, torch.Tensor] | None,
) -> Masks:
    rates = dict(rates or {})
    bad = [k for k in rates if k not in scores]
    if bad:
        raise ValueError(f"rates name parameters that are not pruned: {bad}")
    shapes = {k: v.shape for k, v in scores.items()}
    scores = {k: v.detach().reshape(-1).to(torch.float64) for k, v in scores.items()}
    if existing is not None:
        # Already-pruned weights sort first and stay pruned.
        scores = {
            k: torch.where(existing[k].reshape(-1), v, torch.full_like(v, -torch.inf))
            if k in existing
            else v
            for k, v in scores.items()
        }
    groups = [[k] for k in scores if k in rates or scope == "layer"]
    pooled = [k for k in scores if k not in rates and scope == "global"]
    if pooled:
        groups.append(pooled)
    flat: Masks = {}
    for group in groups:
        target = sparsity * rates.get(group[0], 1.0) if len(group) == 1 else sparsity
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"sparsity × rate for {group[0]!r} is {target}, outside [0, 1]")
        joined = torch.cat([scores[k] for k in group])
        keep = _prune_lowest(joined, round(target * joined.numel()))
        for k, part in zip(
            group, torch.split(keep, [scores[k].numel() for k in group]), strict=True
        ):
            flat[k] = part
    return {k: flat[k].reshape(shapes[k]) for k in scores}


def magnitude_masks(
    params: Mapping[str, torch.Tensor],
    *,
    sparsity: float,
    scope: Scope = "global",
    names: Sequence[str] | None = None,
    rates: Mapping[str, float] | None = None,
    existing: Mapping[str, torch.Tensor] | None = None,
) -> Masks:
    """Keep the largest-magnitude weights: prune exactly ``sparsity`` of the candidates.

    Args:
        params: parameters by name (e.g. ``subject.params()``).
        sparsity: fraction of the candidate weights to prune (absolute, counting ``existing``).
        scope: ``"global"`` (one threshold across layers) or ``"layer"`` (each layer to
            ``sparsity``).
        names: the candidates (default :func:`prunable_names`: weights with ≥ 2 dims).
        rates: per-name multipliers of ``sparsity`` (such a layer is pruned on its own).
        existing: masks of an earlier round; their pruned weights stay pruned.

    Returns:
        A bool keep-mask for every candidate name, shaped like its parameter.

    >>> w = {"w": torch.tensor([[0.1, -3.0], [2.0, 0.5]])}
    >>> magnitude_masks(w, sparsity=0.5)["w"].tolist()
    [[False, True], [True, False]]
    """
    names = prunable_names(params) if names is None else list(names)
    _check(params, names, sparsity)
    scores = {k: params[k].abs() for k in names}
    return _masks_from_scores(
        scores, sparsity=sparsity, scope=scope, rates=rates, existing=existing
    )


def random_masks(
    params: Mapping[str, torch.Tensor],
    *,
    sparsity: float,
    scope: Scope = "global",
    names: Sequence[str] | None = None,
    rates: Mapping[str, float] | None = None,
    existing: Mapping[str, torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
) -> Masks:
    """Prune a uniformly random subset with exactly the counts :func:`magnitude_masks` would
    prune (same scope and rates): the control that separates *which* weights from *how many*.

    ``generator`` None means a fresh generator seeded with 0.
    """
    names = prunable_names(params) if names is None else list(names)
    _check(params, names, sparsity)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    scores = {k: torch.rand(params[k].shape, generator=gen, dtype=torch.float64) for k in names}
    return _masks_from_scores(
        scores, sparsity=sparsity, scope=scope, rates=rates, existing=existing
    )


def apply_masks(
    params: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """New parameter tensors with the pruned entries set to 0 (unmasked names unchanged)."""
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(f"masks name unknown parameters {unknown}")
    return {k: v.detach() * masks[k].to(v.dtype) if k in masks else v for k, v in params.items()}


def sparsity(masks: Mapping[str, torch.Tensor]) -> float:
    """Fraction of masked-out entries over all masked tensors."""
    total = sum(m.numel() for m in masks.values())
    if total == 0:
        raise ValueError("no masks")
    return 1.0 - sum(int(m.sum()) for m in masks.values()) / total
