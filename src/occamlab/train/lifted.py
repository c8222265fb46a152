"""Fenchel lifted networks (Gu, Askari & El Ghaoui 2018, arXiv 1805.01532) in the one training
loop.

A ReLU MLP ``x_{l+1} = relu(W_l x_l + b_l)`` is *lifted*: the activations ``x_1, …, x_L`` become
free variables, and each layer's equation is replaced by the Fenchel–Young gap of the ReLU

    B(u, v) = ½ ‖u‖² + ½ ‖relu(v)‖² − uᵀv   (u ≥ 0),

which is ≥ 0, is 0 exactly when ``u = relu(v)``, and is convex in ``u`` and in ``v`` (hence
biconvex in the weights and the activations). A minibatch's lifted objective is

    ℓ(y, W_L x_L + b_L) + Σ_{l<L} λ · B(x_{l+1}, W_l x_l + b_l),   x_0 = input, x_l ≥ 0,

minimized by block-coordinate descent (the paper's Algorithm 1): with the weights fixed, the
activations (initialized by a forward pass) take ``activation_steps`` sweeps of projected
gradient steps, from the last hidden layer back to the first (:func:`solve_activations`, the
small inner solver); with the activations fixed, every layer's weights take a gradient step on
their own convex term. :func:`lifted_objective` is that weight step as an ``objective`` for
:func:`occamlab.train.fit`: it solves the activations without gradients reaching the weights and
returns the objective with the activations detached. At test time the network is the ordinary
feedforward ReLU MLP.
"""

from __future__ import annotations

import torch
from torch import nn

from occamlab.models.layers import FlattenInput, Network
from occamlab.subject import Subject, loss_value
from occamlab.train.loop import Objective


def fenchel_gap(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per-example ``B(u, v) = ½‖u‖² + ½‖relu(v)‖² − uᵀv`` (``(n,)``; ``u ≥ 0`` expected).

    >>> u = torch.tensor([[0.0, 2.0]]); v = torch.tensor([[-1.0, 2.0]])
    >>> fenchel_gap(u, v)  # u = relu(v): no gap
    tensor([0.])
    >>> fenchel_gap(torch.tensor([[1.0, 2.0]]), v)  # ½·1 + ½·4 + ½·4 − (−1 + 4)
    tensor([1.5000])
    """
    return 0.5 * u.pow(2).sum(1) + 0.5 * torch.relu(v).pow(2).sum(1) - (u * v).sum(1)


def _layers(model: nn.Module) -> tuple[list[nn.Linear], nn.Linear]:
    """The hidden Linear layers and the head of a registry ReLU MLP (refuses anything else)."""
    if not isinstance(model, Network) or not isinstance(model.features, nn.Sequential):
        raise TypeError(
            f"lifted training needs a registry MLP (model 'mlp'), got {type(model).__name__}"
        )
    layers = [m for m in model.features if not isinstance(m, FlattenInput)]
    linears = layers[0::2]
    ok = all(isinstance(m, nn.Linear) for m in linears) and all(
        isinstance(m, nn.ReLU) for m in layers[1::2]
    )
    if not ok or len(layers) != 2 * len(linears) or not linears:
        raise TypeError(
            "lifted training needs a ReLU MLP of Linear-ReLU blocks (activation='relu', no "
            "dropout, at least one hidden layer)"
        )
    return linears, model.head


def lifted_loss(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    activations: list[torch.Tensor],
    *,
    penalty: float,
    loss: str = "cross_entropy",
) -> torch.Tensor:
    """The minibatch's lifted objective (module docstring) at the given hidden activations."""
    linears, head = _layers(model)
    below = [x.reshape(len(x), -1), *activations[:-1]]
    gaps = sum(
        fenchel_gap(a, layer(b)).mean()
        for layer, a, b in zip(linears, activations, below, strict=True)
    )
    return loss_value(head(activations[-1]), y, loss) + penalty * gaps


def solve_activations(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    penalty: float,
    steps: int,
    step_size: float,
    loss: str = "cross_entropy",
) -> list[torch.Tensor]:
    """The activation block of the block-coordinate descent: a forward pass, then ``steps``
    sweeps from the last hidden layer to the first, each a projected gradient step
    ``x_l ← max(0, x_l − step_size · n · ∂(lifted loss)/∂x_l)`` with the weights fixed (the
    factor ``n`` undoes the batch mean: each example's activations move by their own
    objective's gradient). Returns the detached activations."""
    linears, _ = _layers(model)
    with torch.no_grad():
        acts, z = [], x.reshape(len(x), -1)
        for layer in linears:
            z = torch.relu(layer(z))
            acts.append(z)
    n = len(x)
    for _ in range(steps):
        for i in reversed(range(len(acts))):
            var = acts[i].clone().requires_grad_(True)
            trial = [*acts[:i], var, *acts[i + 1 :]]
            with torch.enable_grad():
                value = lifted_loss(model, x, y, trial, penalty=penalty, loss=loss)
                (grad,) = torch.autograd.grad(value, [var])
            acts[i] = (var.detach() - step_size * n * grad).clamp_min(0.0)
    return acts


def lifted_objective(*, penalty: float, steps: int, step_size: float) -> Objective:
    """The weight block of the block-coordinate descent as an ``objective`` for
    :func:`occamlab.train.fit`: the lifted objective at activations solved by
    :func:`solve_activations` (detached), so each layer's gradient is that of its own term."""
    if penalty <= 0 or step_size <= 0 or steps < 0:
        raise ValueError("penalty and step_size must be > 0 and steps >= 0")

    def objective(subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        acts = solve_activations(
            subject.model,
            x,
            y,
            penalty=penalty,
            steps=steps,
            step_size=step_size,
            loss=subject.loss,
        )
        return lifted_loss(subject.model, x, y, acts, penalty=penalty, loss=subject.loss)

    return objective


__all__ = ["fenchel_gap", "lifted_loss", "lifted_objective", "solve_activations"]
