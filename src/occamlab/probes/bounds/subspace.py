"""Bounds for a network trained in a random subspace (Li et al. 2018; Lotfi et al. 2022).

A network of D parameters is retrained with its parameters confined to a random d-dimensional
affine subspace through a data-independent origin θ₀ (the network's initialization):

    θ(w) = θ₀ + P w,   w ∈ R^d,   P = P₁ ⊗ P₂ (a Kronecker product, fixed by a seed).

P₁ ∈ R^{D₁×d₁} and P₂ ∈ R^{D₂×d₂} (D₁D₂ ≥ D, d₁d₂ ≥ d, the extra rows and columns unused) have
N(0, 1/D₁) and N(0, 1/D₂) entries, so every column of P has squared norm ≈ 1 and P w costs
O(D₁d₁d₂ + D₁D₂d₂) instead of the O(Dd) of a dense projection (the "Kronecker" projector of
Lotfi et al.). θ₀, P and d are fixed before the data are seen; what the data choose is w alone,
so the description of the predictor shrinks from D numbers to d:

* **Compression (Occam)**: w is quantized to k shared levels learned by quantization-aware
  fine-tuning and arithmetic-coded (:func:`occamlab.probes.bounds.compression_bound` applied to
  the subspace network: the setting's index, the levels, the payload's length and the payload,
  all counted). With the grid of dimensions searched, the setting index also names d.
* **PAC-Bayes**: a Gaussian posterior over w against the prior N(0, σ² I_d) centred at θ₀
  (:func:`occamlab.probes.bounds.pacbayes_bound` on the subspace network; the KL is over d
  coordinates, not D). The dimensions searched cost a union bound (δ/len(dims) each, for the
  PAC-Bayes statement and for its Monte Carlo estimate).

Both certify the retrained subspace network (named in each result), not the user's weights: it is
the "intrinsic dimension" answer to "how many numbers does this task need", and its bound
holds for that network. Networks with floating-point buffers (BatchNorm statistics) are refused:
their statistics would be part of the description as well.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from occamlab.jsonable import jsonable
from occamlab.models.init import initialize_
from occamlab.probes.bounds.certificate import PacBayesBound, PacBayesSpec, pacbayes_bound
from occamlab.probes.bounds.compression import CompressionBound, compression_bound
from occamlab.subject import Params, Subject
from occamlab.train import TrainSpec, fit


def _split(n: int) -> tuple[int, int]:
    """n ≤ a·b with a = ⌈√n⌉, b = ⌈n/a⌉."""
    a = math.isqrt(n - 1) + 1 if n > 1 else 1
    return a, -(-n // a)


class SubspaceNetwork(nn.Module):
    """A copy of ``base`` whose parameters are θ₀ + P w; w (named ``coordinates``) is trainable.

    Args:
        base: the network (copied; its own parameters are ignored).
        origin: θ₀ by parameter name (every trainable parameter of ``base``).
        dim: d, the number of coordinates.
        seed: seeds the projection P.
    """

    def __init__(self, base: nn.Module, *, origin: Params, dim: int, seed: int = 0) -> None:
        super().__init__()
        names = [k for k, p in base.named_parameters() if p.requires_grad]
        if set(names) != set(origin):
            raise ValueError("origin must name every trainable parameter of the network")
        self.base = copy.deepcopy(base).requires_grad_(False)
        self.names = names
        self.shapes = [tuple(origin[k].shape) for k in names]
        self.sizes = [origin[k].numel() for k in names]
        total = sum(self.sizes)
        if isinstance(dim, bool) or int(dim) != dim or not 1 <= dim <= total:
            raise ValueError(
                f"dim must be an integer in [1, {total}] (the parameters), got {dim!r}"
            )
        self.dim = int(dim)
        # plain attributes, not buffers: fixed before the data, not statistics of the network
        self.origin = torch.cat([origin[k].detach().reshape(-1).float() for k in names])
        (rows_a, rows_b), (cols_a, cols_b) = _split(total), _split(self.dim)
        generator = torch.Generator().manual_seed(seed)
        self.left = torch.randn(rows_a, cols_a, generator=generator) / math.sqrt(rows_a)
        self.right = torch.randn(rows_b, cols_b, generator=generator) / math.sqrt(rows_b)
        self.coordinates = nn.Parameter(torch.zeros(self.dim))

    def displacement(self, w: torch.Tensor) -> torch.Tensor:
        """P w as a flat vector of D entries."""
        cols_a, cols_b = self.left.shape[1], self.right.shape[1]
        padded = torch.cat([w, w.new_zeros(cols_a * cols_b - self.dim)]).view(cols_a, cols_b)
        return (self.left @ padded @ self.right.T).reshape(-1)[: self.origin.numel()]

    def network_params(self) -> dict[str, torch.Tensor]:
        """θ(w) by the base network's parameter names."""
        flat = self.origin + self.displacement(self.coordinates)
        return {
            k: t.view(shape)
            for k, t, shape in zip(self.names, flat.split(self.sizes), self.shapes, strict=True)
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, self.network_params(), (x,))


DEFAULT_RECIPE = TrainSpec(optimizer="adam", lr=0.05, epochs=10, schedule="cosine", eval_every=10)


@dataclass(frozen=True)
class SubspaceBound:
    """Bounds of networks retrained in random subspaces of a few dimensions.

    Attributes:
        bound: the smaller of the two certificates (the one named by ``best``).
        best: ``compression`` or ``pacbayes``.
        predictor: what is certified.
        dims: the subspace dimensions tried (each costs its share of δ or of the code).
        num_parameters: D, the network's parameters.
        origin: where θ₀ comes from.
        rows: per dimension: train and test error of the retrained network.
        compression: the Occam bound of the quantized, arithmetic-coded coordinates.
        pacbayes: the PAC-Bayes bound of a Gaussian posterior over the coordinates (None when
            not computed).
        delta: failure probability of each certificate.
    """

    bound: float
    best: str
    predictor: str
    dims: tuple[int, ...]
    num_parameters: int
    origin: str
    rows: tuple[dict[str, Any], ...]
    compression: CompressionBound
    pacbayes: PacBayesBound | None
    delta: float

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("compression", "pacbayes")}
        out["compression"] = self.compression.to_dict()
        out["pacbayes"] = None if self.pacbayes is None else self.pacbayes.to_dict()
        return jsonable(out)


def seeded_initialization(model: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Fresh default initial weights of ``model``'s layers, drawn from ``seed`` alone
    (:func:`occamlab.models.init.initialize_`: PyTorch's defaults, the global generator
    untouched).

    Raises if a parameter belongs to a layer that cannot be initialized that way (its
    initialization cannot be redrawn independently of the trained weights).
    """
    fresh = copy.deepcopy(model)
    try:
        initialize_(fresh, generator=torch.Generator().manual_seed(seed))
    except TypeError as error:
        raise ValueError(
            f"cannot redraw an initialization ({error}): give the network's initial weights "
            "(Subject.init, --init-weights)"
        ) from None
    return {k: p.detach() for k, p in fresh.named_parameters() if p.requires_grad}


def subspace_bound(
    subject: Subject,
    *,
    dims: Sequence[int] = (500, 1000, 2000),
    recipe: TrainSpec = DEFAULT_RECIPE,
    origin: Params | None = None,
    levels: Sequence[int] = (4, 8, 16),
    finetune: TrainSpec | None = None,
    pacbayes: PacBayesSpec | None = None,
    delta: float = 0.05,
    seed: int = 0,
) -> SubspaceBound:
    """Retrain ``subject``'s architecture in random subspaces of ``dims`` dimensions; certify.

    Args:
        subject: a classifier (its weights are not used; its architecture, loss and data are).
        dims: subspace dimensions to try (a grid fixed in advance; its size is paid for).
        recipe: how the coordinates are trained (on the whole training split).
        origin: θ₀, data-independent initial weights (None: :attr:`Subject.init` when given,
            else a fresh initialization drawn from ``seed``).
        levels: quantization levels tried for the compression bound.
        finetune: quantization-aware fine-tuning of the coordinates and levels (None: none).
        pacbayes: also a PAC-Bayes bound over the coordinates with these options (its prior
            must be ``init``: N(0, σ² I) around θ₀); None: compression only.
        delta: failure probability of each certificate.
        seed: seeds the projection and the redrawn initialization.
    """
    if subject.data.task != "classification":
        raise ValueError("subspace bounds need a classification task")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    dims = tuple(int(d) for d in dims)
    if not dims or len(set(dims)) != len(dims):
        raise ValueError(f"dims must be distinct positive integers, got {list(dims)}")
    if any(b.is_floating_point() for b in subject.buffers().values()):
        raise ValueError(
            "the network has floating-point buffers (e.g. BatchNorm running statistics), which "
            "a subspace of its parameters does not describe: use the PAC-Bayes bound with "
            "--prior data, which recomputes them on the prior's split"
        )
    if pacbayes is not None and pacbayes.prior != "init":
        raise ValueError("the subspace PAC-Bayes bound has its prior at θ₀: use prior='init'")
    if origin is not None:
        where = "the given initial weights"
    elif subject.init is not None:
        origin, where = subject.init, "the network's initial weights"
    else:
        origin, where = (
            seeded_initialization(subject.model, seed),
            f"a fresh initialization from seed {seed}",
        )
    rows, best_compression, best_pacbayes = [], None, None
    for dim in dims:
        network = SubspaceNetwork(subject.model, origin=origin, dim=dim, seed=seed)
        trained = Subject(model=network, data=subject.data, loss=subject.loss, name=subject.name)
        fit(trained, recipe)
        compressed = compression_bound(
            trained,
            sparsities=(0.0,),
            levels=levels,
            delta=delta,
            finetune=finetune,
            extra_settings=len(dims),
        )
        row = {
            "dim": dim,
            "train_error": trained.evaluate(split="train").error,
            "test_error": trained.evaluate(split="test").error,
            "compression_bound": compressed.bound,
            "bits": compressed.bits,
        }
        if best_compression is None or compressed.bound < best_compression.bound:
            best_compression = compressed
        if pacbayes is not None:
            spec = replace(  # a union bound over the dimensions, Monte Carlo included
                pacbayes,
                delta=pacbayes.delta / len(dims),
                mc_delta=pacbayes.mc_delta / len(dims),
            )
            certified = pacbayes_bound(trained, init={"coordinates": torch.zeros(dim)}, spec=spec)
            row["pacbayes_bound"] = certified.bound
            if best_pacbayes is None or certified.bound < best_pacbayes.bound:
                best_pacbayes = certified
        rows.append(row)
    use_pacbayes = best_pacbayes is not None and best_pacbayes.bound < best_compression.bound
    chosen = best_pacbayes if use_pacbayes else best_compression
    total = sum(p.numel() for p in origin.values())
    what = (
        "the Gibbs classifier of a Gaussian posterior over the coordinates of"
        if use_pacbayes
        else "the quantized, arithmetic-coded"
    )
    return SubspaceBound(
        bound=chosen.bound,
        best="pacbayes" if use_pacbayes else "compression",
        predictor=(
            f"{what} network retrained in a random subspace of its {total:,} parameters "
            f"through {where} (not the trained weights)"
        ),
        dims=dims,
        num_parameters=total,
        origin=where,
        rows=tuple(rows),
        compression=best_compression,
        pacbayes=best_pacbayes,
        delta=delta,
    )


__all__ = ["SubspaceBound", "SubspaceNetwork", "seeded_initialization", "subspace_bound"]
