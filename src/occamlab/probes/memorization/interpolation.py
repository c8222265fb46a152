"""A depth-2 ReLU network with 2n + d weights that fits any n labelled points in d dimensions
(Zhang, Bengio, Hardt, Recht & Vinyals 2017, arXiv 1611.03530, Theorem 1 and its proof).

The construction: project the inputs on a random direction ``a ∈ R^d`` so that the projections
``z_i = ⟨a, x_i⟩`` are distinct (almost surely, for distinct inputs), sort them, and place one
ReLU kink ``b_j`` before each projection, interleaving them: ``b_1 < z_1 < b_2 < z_2 < … <
b_n < z_n``. The network ``f(x) = Σ_j w_j max(⟨a, x⟩ − b_j, 0)`` then takes the values
``f(x_i) = (A w)_i`` with ``A_ij = max(z_i − b_j, 0)``: ``A`` is lower triangular (``z_i > b_j``
exactly when ``j ≤ i``) with a positive diagonal, so ``A w = y`` has a unique solution, found by
forward substitution. The weights are ``a`` (d), ``b`` (n) and ``w`` (n): 2n + d in all (with
C outputs, ``w`` is n × C and the count d + n + nC).

Where each kink sits in its gap is free: ``b_j = z_{j−1} + θ (z_j − z_{j−1})`` with
``θ = kink_position ∈ (0, 1)`` (and ``b_1 = z_1 − (1 − θ)(z_2 − z_1)``). It sets how well the
triangular system is conditioned: with ``θ = 1/2`` (midpoints) the slopes of the interpolant
alternate in sign from gap to gap; with ``θ`` near 0 each kink sits just after the previous point
and the interpolant approaches the chord through the points. Either way the smallest gap between
projections, about range/n² for n random points, bounds the conditioning:
``κ(A) ≳ n · range / min gap``.

Float64 honesty: :func:`check_interpolant` evaluates the module itself on the sample and compares
its largest residual with an a-priori rounding bound, ``2 γ_{n+d+2} max_i Σ_j |A_ij w_j|`` (the
backward error of forward substitution plus that of the network's own sums; ``γ_k = k u /
(1 − k u)``, ``u = 2⁻⁵³``): a residual below it is at float64 rounding.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from occamlab.subject import SplitName, Subject

UNIT_ROUNDOFF = 2.0**-53


class Interpolant(nn.Module):
    """``f(x) = Σ_j w_j max(⟨a, x⟩ − b_j, 0)``: one hidden ReLU layer of n units that share the
    input direction ``a``; 2n + d weights for scalar outputs.

    Args:
        direction: ``a``, shape ``(d,)``.
        kinks: ``b``, shape ``(n,)``.
        weights: ``w``, shape ``(n,)`` (scalar outputs) or ``(n, C)``.
    """

    def __init__(self, direction: torch.Tensor, kinks: torch.Tensor, weights: torch.Tensor) -> None:
        super().__init__()
        if direction.ndim != 1 or kinks.ndim != 1 or kinks.shape[0] != weights.shape[0]:
            raise ValueError(
                "direction must be (d,), kinks (n,) and weights (n,) or (n, C), got "
                f"{tuple(direction.shape)}, {tuple(kinks.shape)}, {tuple(weights.shape)}"
            )
        self.direction = nn.Parameter(direction.clone())
        self.kinks = nn.Parameter(kinks.clone())
        self.weights = nn.Parameter(weights.clone())

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden ReLU units ``max(⟨a, x⟩ − b_j, 0)``, shape ``(N, n)``."""
        z = x.reshape(x.shape[0], -1) @ self.direction
        return torch.relu(z[:, None] - self.kinks[None, :])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(x) @ self.weights

    @property
    def num_weights(self) -> int:
        return sum(p.numel() for p in self.parameters())


def interpolant(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    kink_position: float = 0.5,
    generator: torch.Generator | None = None,
) -> Interpolant:
    """The network of Zhang et al.'s Theorem 1 through the points ``(x_i, y_i)`` (float64).

    Args:
        x: inputs, shape ``(n, …)`` (flattened to ``(n, d)``); must be distinct.
        y: targets, shape ``(n,)`` or ``(n, C)``.
        kink_position: θ ∈ (0, 1), where each kink sits in the gap before its point.
        generator: source of the random direction ``a ~ N(0, I_d)`` (default: seeded with 0).

    Returns:
        An :class:`Interpolant` in float64 with ``f(x_i) = y_i`` up to rounding.

    >>> x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    >>> net = interpolant(x, torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64))
    >>> net(x).round(decimals=12).tolist(), net.num_weights
    ([1.0, -1.0, 2.0], 7)
    """
    if not 0.0 < kink_position < 1.0:
        raise ValueError(f"kink_position must lie in (0, 1), got {kink_position!r}")
    x64 = x.reshape(x.shape[0], -1).to(torch.float64)
    y64 = y.to(torch.float64)
    n = x64.shape[0]
    if n < 2 or y64.shape[0] != n or y64.ndim > 2:
        raise ValueError(
            f"need n >= 2 inputs and n targets, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    direction = torch.randn(x64.shape[1], generator=gen, dtype=torch.float64)
    z = x64 @ direction
    order = torch.argsort(z)
    zs = z[order]
    gaps = zs.diff()
    if not bool((gaps > 0).all()):
        i = int(torch.argmin(gaps))
        raise ValueError(
            f"inputs {int(order[i])} and {int(order[i + 1])} project to the same point: "
            "remove duplicate inputs (no function gives one input two values) or draw another "
            "direction (another generator)"
        )
    kinks = torch.empty(n, dtype=torch.float64)
    kinks[1:] = zs[:-1] + kink_position * gaps
    kinks[0] = zs[0] - (1.0 - kink_position) * gaps[0]
    system = torch.relu(zs[:, None] - kinks[None, :])
    rhs = y64[order] if y64.ndim == 2 else y64[order][:, None]
    weights = torch.linalg.solve_triangular(system, rhs, upper=False)
    return Interpolant(direction, kinks, weights if y64.ndim == 2 else weights[:, 0])


@dataclass(frozen=True)
class InterpolationCheck:
    """How exactly an :class:`Interpolant` fits its sample, in float64.

    Attributes:
        n: points; d: input dimension; outputs: target columns (1 for scalar targets).
        num_weights: the network's weights (2n + d for scalar targets).
        expected_weights: d + n + n·outputs.
        lower_triangular: ``A_ij = 0`` for every ``j > i`` (points sorted by projection).
        min_diagonal: the smallest ``A_ii`` (positive: the system is solvable).
        max_residual: ``max_i |f(x_i) − y_i|``, the network evaluated on the sample.
        relative_residual: ``max_residual / max_i |y_i|``.
        rounding_bound: ``2 γ_{n+d+2} max_i Σ_j |A_ij w_j|``: the float64 rounding level.
        condition_number: 2-norm condition number of ``A`` (None if not computed).
        min_gap: the smallest gap between sorted projections; ``spread``: their range.
        max_weight: ``max_j |w_j|``.
        labels_recovered: whether rounding ``f(x_i)`` gives ``y_i`` for every point (integer
            targets; None otherwise).
    """

    n: int
    d: int
    outputs: int
    num_weights: int
    expected_weights: int
    lower_triangular: bool
    min_diagonal: float
    max_residual: float
    relative_residual: float
    rounding_bound: float
    condition_number: float | None
    min_gap: float
    spread: float
    max_weight: float
    labels_recovered: bool | None

    @property
    def exact(self) -> bool:
        """Weights 2n + d (d + n + nC), a triangular system with a positive diagonal, and a
        residual at float64 rounding."""
        return (
            self.num_weights == self.expected_weights
            and self.lower_triangular
            and self.min_diagonal > 0
            and self.max_residual <= self.rounding_bound
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exact": self.exact}


def check_interpolant(
    net: Interpolant, x: torch.Tensor, y: torch.Tensor, *, condition: bool = True
) -> InterpolationCheck:
    """Evaluate ``net`` on its sample in float64 and check it against the construction.

    Args:
        net: an :class:`Interpolant` (from :func:`interpolant`).
        x: the inputs it was built on; y: their targets.
        condition: compute the 2-norm condition number of ``A`` (an SVD, O(n³)).
    """
    x64 = x.reshape(x.shape[0], -1).to(torch.float64)
    y64 = y.to(torch.float64).reshape(x64.shape[0], -1)
    n, d = x64.shape
    with torch.no_grad():
        hidden = net.hidden(x64).detach()  # A with rows in sample order
        out = (hidden @ net.weights).reshape(n, -1)
        w = net.weights.detach().reshape(n, -1)
        z = x64 @ net.direction.detach()
        order = torch.argsort(z)
        system = hidden[order]
        zs = z[order]
    residual = float((out - y64).abs().max())
    scale = float(y64.abs().max())
    k = n + d + 2
    gamma = k * UNIT_ROUNDOFF / (1.0 - k * UNIT_ROUNDOFF)
    bound = 2.0 * gamma * float((system.abs() @ w.abs()).max())
    integer = bool((y64 == y64.round()).all())
    return InterpolationCheck(
        n=n,
        d=d,
        outputs=int(y64.shape[1]),
        num_weights=net.num_weights,
        expected_weights=d + n + n * int(y64.shape[1]),
        lower_triangular=bool((torch.triu(system, diagonal=1) == 0).all()),
        min_diagonal=float(system.diagonal().min()),
        max_residual=residual,
        relative_residual=residual / scale if scale > 0 else residual,
        rounding_bound=bound,
        condition_number=_condition(system) if condition else None,
        min_gap=float(zs.diff().min()),
        spread=float(zs[-1] - zs[0]),
        max_weight=float(w.abs().max()),
        labels_recovered=bool((out.round() == y64).all()) if integer else None,
    )


def _condition(system: torch.Tensor) -> float:
    s = torch.linalg.svdvals(system)
    return float(s[0] / s[-1]) if float(s[-1]) > 0 else math.inf


def interpolate_sample(
    subject: Subject,
    *,
    split: SplitName = "train",
    limit: int | None = None,
    kink_position: float = 0.5,
    condition: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Interpolant, InterpolationCheck]:
    """Fit a subject's split (its labels or regression targets) with the 2n + d construction.

    The subject's own model is not used: the question is whether this sample can be memorized
    by 2n + d weights, and how well conditioned that memorization is in float64.

    Args:
        subject: any subject with tensor inputs.
        split: ``"train"`` or ``"test"``; ``limit``: its first ``limit`` examples.
        kink_position, generator: as :func:`interpolant`.
        condition: compute the condition number (an SVD, O(n³)).
    """
    data = subject.split(split)
    x, y = data.x, data.y
    if not isinstance(x, torch.Tensor):
        raise ValueError("the 2n + d construction needs tensor inputs (not dicts of tensors)")
    if limit is not None:
        x, y = x[:limit], y[:limit]
    net = interpolant(x, y, kink_position=kink_position, generator=generator)
    return net, check_interpolant(net, x, y, condition=condition)


__all__ = [
    "InterpolationCheck",
    "Interpolant",
    "check_interpolant",
    "interpolant",
    "interpolate_sample",
]
