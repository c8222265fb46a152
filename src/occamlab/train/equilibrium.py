"""Equilibrium propagation (Scellier & Bengio 2017, arXiv 1602.05179) in the one training loop.

A layered Hopfield-like network holds a state ``s = (s_1, …, s_L)`` (hidden layers and the
output layer) with the input ``x = s_0`` clamped, and the energy of the paper's Eq. 1 with the
hard sigmoid ``ρ(s) = min(max(s, 0), 1)``:

    E(θ, s) = ½ Σ_l ‖s_l‖² − Σ_l ρ(s_{l-1})ᵀ W_l ρ(s_l) − Σ_l b_lᵀ ρ(s_l),   ρ(s_0) := x,

the cost ``C(s) = ½ ‖s_L − onehot(y)‖²`` and the total energy ``F = E + β C``. The states
relax by the paper's projected gradient dynamics ``s ← ρ(s − ε ∂F/∂s)`` (states stay in
``[0, 1]``, where ``ρ(s) = s``, so ``E`` is quadratic on the box and ``∂E/∂s_l = s_l − W_l s_{l-1}
− b_l − W_{l+1}ᵀ s_{l+1}``). The *free phase* (β = 0) reaches ``s⁰``, the prediction is
``argmax s⁰_L``; the *nudged phase* starts there with β > 0 and reaches ``s^β``. The learning rule
(the paper's Eq. 10)

    Δθ ∝ −(∂E/∂θ(θ, s^β) − ∂E/∂θ(θ, s⁰)) / β

tends, as β → 0, to minus the gradient of the equilibrium loss ``L(θ) = C(s⁰(θ))`` (the paper's
Theorem 1; Ernoult et al. 2019, arXiv 1905.13633, show step by step that it equals the gradient
of backpropagation through time over the converged relaxation). With nudges ±β (symmetric
nudging, Laborieux et al. 2021, arXiv 2006.03824) the difference quotient is centred and its
bias shrinks like β² instead of β.

:func:`ep_objective` is an ``objective`` for :func:`occamlab.train.fit`: it relaxes both phases
without gradients (the inner solver :meth:`EnergyNetwork.relax`) and returns the surrogate
``(E(θ, s^β) − E(θ, s⁰)) / β``, whose gradient in θ (the states held fixed) is the EP estimate,
so the one loop's optimizer takes the EP step. :func:`equilibrium_loss` differentiated by
autograd through a long relaxation is the reference gradient; :func:`implicit_gradient` gives the
same gradient by the implicit function theorem at the fixed point (a dense solve, for tests), and
:func:`exact_equilibrium` finishes a relaxation at its fixed point to machine precision (``E``
is quadratic on the box, so an active-set linear solve), which the gradient check needs where
the relaxation converges slowly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from occamlab.subject import Subject
from occamlab.train.loop import Objective


class EnergyNetwork(nn.Module):
    """The layered energy network of the module docstring.

    ``forward(x)`` runs the free phase from zero states for ``free_steps`` steps and returns the
    output layer's state (``(n, sizes[-1])``, in ``[0, 1]``); with autograd on, it is
    differentiable through the unrolled relaxation.

    Args:
        sizes: layer widths, input first, output last (at least one hidden layer).
        step_size: the relaxation's step ε (in (0, 1]).
        free_steps: free-phase relaxation steps.
        nudged_steps: nudged-phase relaxation steps (from the free equilibrium).
        generator: draws the initial weights (Glorot-uniform, as in the paper); biases start at 0.
        dtype: parameter dtype.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        step_size: float = 0.5,
        free_steps: int = 20,
        nudged_steps: int = 4,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 3 or min(sizes) < 1:
            raise ValueError(
                f"sizes must list the input, at least one hidden and the output width, all >= 1; "
                f"got {list(sizes)}"
            )
        if not 0 < step_size <= 1:
            raise ValueError(f"step_size must be in (0, 1], got {step_size}")
        if free_steps < 1 or nudged_steps < 1:
            raise ValueError("free_steps and nudged_steps must be >= 1")
        self.sizes = sizes
        self.step_size = float(step_size)
        self.free_steps = int(free_steps)
        self.nudged_steps = int(nudged_steps)
        self.layers = nn.ModuleList()
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layer = nn.Linear(a, b, dtype=dtype)
            bound = (6.0 / (a + b)) ** 0.5
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.zero_()
            self.layers.append(layer)

    def zero_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All-zero hidden and output states for the batch ``x``."""
        return [x.new_zeros(len(x), s) for s in self.sizes[1:]]

    def energy(self, x: torch.Tensor, states: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-example ``E(θ, s)`` (``(n,)``) for states in ``[0, 1]`` (where ``ρ(s) = s``)."""
        below = [x.flatten(1), *states[:-1]]
        out = sum(0.5 * s.pow(2).sum(1) for s in states)
        for layer, a, s in zip(self.layers, below, states, strict=True):
            out = out - (layer(a) * s).sum(1)
        return out

    def state_gradient(
        self,
        x: torch.Tensor,
        states: Sequence[torch.Tensor],
        *,
        target: torch.Tensor | None = None,
        beta: float = 0.0,
    ) -> list[torch.Tensor]:
        """``∂F/∂s_l = s_l − W_l s_{l-1} − b_l − W_{l+1}ᵀ s_{l+1} (+ β (s_L − target))`` per layer
        (states in ``[0, 1]``, ``s_0 = x``)."""
        out = []
        for i, layer in enumerate(self.layers):
            drive = layer(x.flatten(1) if i == 0 else states[i - 1])
            if i + 1 < len(self.layers):
                drive = drive + states[i + 1] @ self.layers[i + 1].weight
            grad = states[i] - drive
            if i + 1 == len(self.layers) and beta != 0.0:
                grad = grad + beta * (states[i] - target)
            out.append(grad)
        return out

    def relax(
        self,
        x: torch.Tensor,
        states: Sequence[torch.Tensor] | None = None,
        *,
        steps: int,
        target: torch.Tensor | None = None,
        beta: float = 0.0,
    ) -> list[torch.Tensor]:
        """``steps`` of ``s ← clip(s − ε ∂F/∂s, 0, 1)`` from ``states`` (zeros when None), all
        layers at once; ``target`` (one-hot, ``(n, sizes[-1])``) and ``beta`` nudge the output
        layer. Differentiable when autograd is on (backpropagation through the relaxation)."""
        if beta != 0.0 and target is None:
            raise ValueError("a nudged relaxation (beta != 0) needs the one-hot target")
        s = self.zero_states(x) if states is None else list(states)
        for _ in range(steps):
            grads = self.state_gradient(x, s, target=target, beta=beta)
            s = [(t - self.step_size * g).clamp(0.0, 1.0) for t, g in zip(s, grads, strict=True)]
        return s

    def state_hessian(self) -> torch.Tensor:
        """``∂²E/∂s²`` over the concatenated states (the same for every example: ``E`` is
        quadratic on the box): the identity minus the symmetric coupling ``W_l``."""
        widths = self.sizes[1:]
        offsets = [sum(widths[:i]) for i in range(len(widths) + 1)]
        weight = self.layers[0].weight
        out = torch.eye(offsets[-1], dtype=weight.dtype, device=weight.device)
        for i in range(1, len(widths)):
            w = self.layers[i].weight.detach()  # couples states i-1 (input) and i (output)
            a, b = slice(offsets[i - 1], offsets[i]), slice(offsets[i], offsets[i + 1])
            out[b, a] = -w
            out[a, b] = -w.T
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relax(x, steps=self.free_steps)[-1]


def _onehot(y: torch.Tensor, k: int, dtype: torch.dtype) -> torch.Tensor:
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
        raise ValueError(
            f"labels must lie in [0, {k}) for an output layer of {k} units; got "
            f"{int(y.min())}..{int(y.max())}"
        )
    return F.one_hot(y, k).to(dtype)


def cost(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example ``C = ½ ‖s_L − onehot(y)‖²``."""
    return 0.5 * (output - _onehot(y, output.shape[1], output.dtype)).pow(2).sum(1)


def fixed_point_residual(
    net: EnergyNetwork,
    x: torch.Tensor,
    states: Sequence[torch.Tensor],
    *,
    target: torch.Tensor | None = None,
    beta: float = 0.0,
) -> float:
    """``max |s − clip(s − ∂F/∂s, 0, 1)|``: 0 exactly at a fixed point of the relaxation (the
    box-constrained stationarity conditions)."""
    grads = net.state_gradient(x, states, target=target, beta=beta)
    return max(
        float((t - (t - g).clamp(0.0, 1.0)).abs().max()) for t, g in zip(states, grads, strict=True)
    )


def exact_equilibrium(
    net: EnergyNetwork,
    x: torch.Tensor,
    states: Sequence[torch.Tensor],
    *,
    target: torch.Tensor | None = None,
    beta: float = 0.0,
    iterations: int = 50,
) -> list[torch.Tensor]:
    """The fixed point near ``states`` (a relaxation's end) to machine precision.

    ``F`` is quadratic on the box ``[0, 1]``, so once the units at a bound are known the others
    solve a linear system: per example, an active-set iteration (units at a bound whose gradient
    pushes outward stay there; the rest solve ``∂F/∂s = 0``, and any that leave the box are
    clipped) until the active set repeats. Slowly converging relaxations (a Hessian close to
    singular) end here exactly; the gradient check needs that."""
    widths = net.sizes[1:]
    hessian = net.state_hessian()
    k = widths[-1]
    with torch.no_grad():
        zero = [torch.zeros_like(t) for t in states]
        linear = -torch.cat(net.state_gradient(x, zero, target=target, beta=beta), dim=1)
        if beta != 0.0:
            hessian = hessian.clone()
            idx = torch.arange(hessian.shape[0] - k, hessian.shape[0])
            hessian[idx, idx] += beta
        s = torch.cat(list(states), dim=1).clone()
        for n in range(len(x)):
            v = s[n]
            for _ in range(iterations):
                g = hessian @ v - linear[n]
                low, high = (v <= 0) & (g > 0), (v >= 1) & (g < 0)
                free = ~(low | high)
                new = torch.where(low, 0.0, torch.where(high, 1.0, v))
                bound = ~free
                rhs = linear[n, free] - hessian[free][:, bound] @ new[bound]
                new[free] = torch.linalg.solve(hessian[free][:, free], rhs)
                new = new.clamp(0.0, 1.0)
                if torch.equal(new, v):
                    break
                v = new
            s[n] = v
    return list(s.split(widths, dim=1))


def ep_surrogate(
    net: EnergyNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    beta: float,
    symmetric: bool = False,
    free: Sequence[torch.Tensor] | None = None,
    free_steps: int | None = None,
    nudged_steps: int | None = None,
    exact: bool = False,
) -> torch.Tensor:
    """The scalar whose gradient in θ is the batch-mean EP estimate of ``∂L/∂θ``.

    One-sided: ``mean(E(s^β) − E(s⁰)) / β``; symmetric: ``mean(E(s^β) − E(s^{−β})) / (2β)``.
    The states are relaxed without gradients (``free`` reuses a free equilibrium already found);
    ``exact`` finishes each nudged relaxation with :func:`exact_equilibrium`.
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    target = _onehot(y, net.sizes[-1], x.dtype)
    with torch.no_grad():
        s0 = list(free) if free is not None else net.relax(x, steps=free_steps or net.free_steps)
        steps = nudged_steps or net.nudged_steps
        plus = net.relax(x, s0, steps=steps, target=target, beta=beta)
        minus = net.relax(x, s0, steps=steps, target=target, beta=-beta) if symmetric else s0
        if exact:
            plus = exact_equilibrium(net, x, plus, target=target, beta=beta)
            if symmetric:
                minus = exact_equilibrium(net, x, minus, target=target, beta=-beta)
    if symmetric:
        return (net.energy(x, plus) - net.energy(x, minus)).mean() / (2 * beta)
    return (net.energy(x, plus) - net.energy(x, s0)).mean() / beta


def ep_objective(*, beta: float, symmetric: bool = False) -> Objective:
    """The EP step as an ``objective`` for :func:`occamlab.train.fit` (module docstring)."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")

    def objective(subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        net = subject.model
        if not isinstance(net, EnergyNetwork):
            raise TypeError(f"ep_objective trains an EnergyNetwork, got {type(net).__name__}")
        return ep_surrogate(net, x, y, beta=beta, symmetric=symmetric)

    return objective


def equilibrium_loss(net: EnergyNetwork, x: torch.Tensor, y: torch.Tensor, *, steps: int):
    """``mean C(s⁰)`` after ``steps`` free-phase steps from zero, differentiable through the
    relaxation: with a long, converged relaxation its gradient is that of the equilibrium loss."""
    return cost(net.relax(x, steps=steps)[-1], y).mean()


def ep_gradient(net: EnergyNetwork, x: torch.Tensor, y: torch.Tensor, **kwargs) -> torch.Tensor:
    """The EP estimate of ``∂L/∂θ`` as one flat vector (keyword arguments of
    :func:`ep_surrogate`)."""
    surrogate = ep_surrogate(net, x, y, **kwargs)
    return _flat(torch.autograd.grad(surrogate, list(net.parameters())))


def implicit_gradient(
    net: EnergyNetwork, x: torch.Tensor, y: torch.Tensor, free: Sequence[torch.Tensor]
) -> torch.Tensor:
    """``∂L/∂θ`` at the free equilibrium ``free`` by the implicit function theorem, flat.

    On the units strictly inside ``(0, 1)`` the fixed point solves ``∂E/∂s = 0``; units at a
    bound stay there under small changes of θ. ``E`` is quadratic in the states, so its Hessian
    ``H`` is the same for every example; with ``λ_n = H_n⁻¹ ∂C_n/∂s`` (``H`` restricted to the
    example's inside units), ``∂L/∂θ = −(1/n) ∂/∂θ Σ_n λ_nᵀ ∂E_n/∂s``. Dense solves: for small
    networks (tests and the gradient check)."""
    widths = net.sizes[1:]
    hessian = net.state_hessian()
    s = [t.detach().clone().requires_grad_(True) for t in free]
    state = torch.cat(s, dim=1).detach()
    inside = (state > 0) & (state < 1)
    dc = torch.zeros_like(state)
    dc[:, -widths[-1] :] = free[-1].detach() - _onehot(y, widths[-1], x.dtype)  # output only
    lam = torch.zeros_like(state)
    for n in range(len(x)):
        keep = inside[n]
        if keep.any():  # an example with every unit at a bound has no gradient
            lam[n, keep] = torch.linalg.solve(hessian[keep][:, keep], dc[n, keep])
    grads = torch.autograd.grad(net.energy(x, s).sum(), s, create_graph=True)
    inner = (torch.cat(grads, dim=1) * lam).sum()
    return -_flat(torch.autograd.grad(inner, list(net.parameters()))) / len(x)


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


__all__ = [
    "EnergyNetwork",
    "cost",
    "exact_equilibrium",
    "fixed_point_residual",
    "ep_gradient",
    "ep_objective",
    "ep_surrogate",
    "equilibrium_loss",
    "implicit_gradient",
]
