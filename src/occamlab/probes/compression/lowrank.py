"""Low-rank compression: per-layer truncated SVD of the weight matrices.

A weight W of shape ``(out, in, *kernel)`` is viewed as the matrix ``W.reshape(out, in·∏kernel)``
(one row per output unit or channel; a convolution becomes a map from a flattened receptive
field to its output channels). With its SVD ``W = Σ_i σ_i u_i v_iᵀ`` the rank-r truncation
``W_r = Σ_{i≤r} σ_i u_i v_iᵀ`` is the best rank-r approximation in Frobenius and spectral norm
(Eckart & Young 1936): ``‖W − W_r‖_F² = Σ_{i>r} σ_i²`` and ``‖W − W_r‖_2 = σ_{r+1}``. Stored as
factors it costs ``r·(m + n)`` numbers instead of ``m·n`` (dense storage is kept when that is
smaller).

Ranks are chosen per layer by an energy threshold (the smallest r with
``Σ_{i≤r} σ_i² ≥ τ · Σ_i σ_i²``) or globally under a parameter budget: starting from rank 1 in
every layer, add the singular value with the largest share of its layer's energy per added
parameter until the budget is spent (greedy; optimal up to the last step, since within a layer
the gains decrease and the cost per rank is constant). SVDs are computed in float64.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from occamlab.probes.pruning import prunable_names
from occamlab.subject import Params, Subject


def as_matrix(weight: torch.Tensor) -> torch.Tensor:
    """The matrix view ``(out, in·∏kernel)`` of a weight (a matrix stays as it is)."""
    if weight.dim() < 2:
        raise ValueError(f"low rank needs a weight with >= 2 dims, got shape {tuple(weight.shape)}")
    return weight.reshape(weight.shape[0], -1)


def singular_values(weight: torch.Tensor) -> torch.Tensor:
    """Singular values (descending, float64) of the matrix view of ``weight``."""
    return torch.linalg.svdvals(as_matrix(weight.detach()).to(torch.float64))


def _svd(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.linalg.svd(as_matrix(weight.detach()).to(torch.float64), full_matrices=False)


def _rebuild(factors, rank: int, like: torch.Tensor) -> torch.Tensor:
    u, s, vh = factors
    if not 0 <= rank <= len(s):
        raise ValueError(f"rank must be in [0, {len(s)}], got {rank}")
    return ((u[:, :rank] * s[:rank]) @ vh[:rank]).reshape(like.shape).to(like.dtype)


def truncate(weight: torch.Tensor, rank: int) -> torch.Tensor:
    """The best rank-``rank`` approximation of ``weight`` (in its matrix view), same shape/dtype.

    >>> w = torch.diag(torch.tensor([3.0, 2.0, 1.0]))
    >>> truncate(w, 2).diag().tolist()
    [3.0, 2.0, 0.0]
    """
    return _rebuild(_svd(weight), rank, weight)


def factored_size(shape: Sequence[int], rank: int) -> int:
    """Numbers needed to store a rank-``rank`` layer: ``min(r·(m + n), m·n)``."""
    m, n = shape[0], math.prod(shape[1:])
    return min(rank * (m + n), m * n)


def rank_for_energy(values: torch.Tensor, energy: float) -> int:
    """Smallest r with ``Σ_{i≤r} σ_i² ≥ energy · Σ σ_i²`` (at least 1).

    >>> rank_for_energy(torch.tensor([2.0, 1.0, 1.0]), 0.6)
    1
    """
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    power = values.to(torch.float64) ** 2
    total = float(power.sum())
    if total == 0.0:
        return 1
    share = torch.cumsum(power, 0) / total
    # Tolerate rounding in the cumulative sum: energy 1.0 must mean full rank, not "never".
    return max(1, int((share < energy - 1e-12).sum()) + 1)


def ranks_for_budget(
    spectra: Mapping[str, torch.Tensor], shapes: Mapping[str, Sequence[int]], budget: int
) -> dict[str, int]:
    """Ranks maximizing the retained relative energy ``Σ_layers Σ_{i≤r} σ_i²/‖W‖_F²`` with
    ``Σ factored_size ≤ budget`` (greedy; every layer keeps rank ≥ 1)."""
    ranks = {k: 1 for k in spectra}
    spent = sum(factored_size(shapes[k], 1) for k in spectra)
    if spent > budget:
        raise ValueError(
            f"a parameter budget of {budget} cannot hold rank 1 in every layer ({spent} needed)"
        )
    heap: list[tuple[float, str]] = []

    def push(name: str) -> None:
        r, values = ranks[name], spectra[name]
        if r < len(values):
            power = values.to(torch.float64) ** 2
            cost = factored_size(shapes[name], r + 1) - factored_size(shapes[name], r)
            gain = float(power[r] / power.sum()) if float(power.sum()) > 0 else 0.0
            heapq.heappush(heap, (-gain / max(cost, 1), name))

    for name in spectra:
        push(name)
    while heap:
        _, name = heapq.heappop(heap)
        cost = factored_size(shapes[name], ranks[name] + 1) - factored_size(
            shapes[name], ranks[name]
        )
        if spent + cost > budget:
            continue  # this layer's next value does not fit; cheaper ones may
        ranks[name] += 1
        spent += cost
        push(name)
    return ranks


@dataclass(frozen=True)
class LowRank:
    """Weights replaced by rank-truncated versions.

    Attributes:
        params: every parameter, the chosen weights truncated (evaluate with
            ``subject.evaluate(params)``).
        ranks: rank per truncated weight.
        full_ranks: ``min(m, n)`` per truncated weight.
        energy: retained share ``Σ_{i≤r} σ_i² / Σ σ_i²`` per weight.
        num_parameters: parameters needed: factored sizes plus every other parameter.
        total_parameters: parameters of the dense network.
    """

    params: dict[str, torch.Tensor] = field(repr=False)
    ranks: dict[str, int]
    full_ranks: dict[str, int]
    energy: dict[str, float]
    num_parameters: int
    total_parameters: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "ranks": self.ranks,
            "full_ranks": self.full_ranks,
            "energy": self.energy,
            "num_parameters": self.num_parameters,
            "total_parameters": self.total_parameters,
        }


def low_rank(
    params: Params,
    *,
    energy: float | None = None,
    budget: int | None = None,
    ranks: Mapping[str, int] | None = None,
    names: Sequence[str] | None = None,
) -> LowRank:
    """Truncate each weight's SVD, ranks set by exactly one of ``energy``, ``budget``, ``ranks``.

    Args:
        params: parameters by name (e.g. ``subject.params()``); not modified.
        energy: per-layer threshold τ in (0, 1].
        budget: total parameters allowed for the whole network (the non-truncated parameters
            count in full; the rest is shared among the weights greedily).
        ranks: explicit rank per weight name.
        names: weights to truncate (default: every tensor with ≥ 2 dims).
    """
    if sum(x is not None for x in (energy, budget, ranks)) != 1:
        raise ValueError("give exactly one of energy, budget or ranks")
    names = prunable_names(params) if names is None else list(names)
    unknown = [n for n in names if n not in params]
    if unknown:
        raise ValueError(f"unknown parameter names {unknown}; valid: {sorted(params)}")
    factors = {k: _svd(params[k]) for k in names}
    spectra = {k: f[1] for k, f in factors.items()}
    shapes = {k: tuple(params[k].shape) for k in names}
    other = sum(v.numel() for k, v in params.items() if k not in spectra)
    if energy is not None:
        chosen = {k: rank_for_energy(s, energy) for k, s in spectra.items()}
    elif budget is not None:
        chosen = ranks_for_budget(spectra, shapes, budget - other)
    else:
        chosen = {k: int(ranks[k]) for k in names}  # type: ignore[index]
    out = {k: v.detach() for k, v in params.items()}
    kept = {}
    for k in names:
        out[k] = _rebuild(factors[k], chosen[k], params[k])
        power = spectra[k] ** 2
        total = float(power.sum())
        kept[k] = float(power[: chosen[k]].sum() / total) if total > 0 else 1.0
    return LowRank(
        params=out,
        ranks=chosen,
        full_ranks={k: len(s) for k, s in spectra.items()},
        energy=kept,
        num_parameters=other + sum(factored_size(shapes[k], chosen[k]) for k in names),
        total_parameters=sum(v.numel() for v in params.values()),
    )


@dataclass(frozen=True)
class LowRankCurve:
    """Accuracy against rank: one row per energy threshold (ranks per layer, size, metrics)."""

    rows: list[dict[str, Any]]
    total_parameters: int

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "total_parameters": self.total_parameters}

    def plot(self, ax: Any = None) -> Any:
        """Test accuracy (or loss) against parameters kept."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        key = "test_accuracy" if self.rows[0]["test_accuracy"] is not None else "test_loss"
        ax.plot([r["num_parameters"] for r in self.rows], [r[key] for r in self.rows], "o-")
        ax.set(xscale="log", xlabel="parameters", ylabel=key.replace("_", " "))
        return ax


def lowrank_curve(
    subject: Subject,
    *,
    energies: Sequence[float] = (0.999, 0.99, 0.95, 0.9, 0.8, 0.7, 0.5),
    names: Sequence[str] | None = None,
    limit: int | None = None,
) -> LowRankCurve:
    """Evaluate the subject with every weight truncated at each energy threshold (no retraining).

    The module is not modified: truncated weights go through the functional view, in eval mode.
    """
    params = subject.params()
    rows = []
    for tau in energies:
        lr = low_rank(params, energy=tau, names=names)
        train = subject.evaluate(lr.params, split="train", limit=limit)
        test = subject.evaluate(lr.params, split="test", limit=limit)
        rows.append(
            {
                "energy": tau,
                "ranks": lr.ranks,
                "num_parameters": lr.num_parameters,
                "fraction": lr.num_parameters / lr.total_parameters,
                "train_loss": train.loss,
                "train_accuracy": train.accuracy,
                "test_loss": test.loss,
                "test_accuracy": test.accuracy,
            }
        )
    return LowRankCurve(rows=rows, total_parameters=sum(v.numel() for v in params.values()))
