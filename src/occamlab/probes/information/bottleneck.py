"""The HSIC bottleneck (Ma, Lewis & Kleijn 2019, arXiv 1908.01580): training without
backpropagation through the network, in the one training loop.

Each hidden layer ``Z_l = f_l(Z_{l-1})`` of an MLP gets its own objective (the paper's Eq. 5,
with its normalized HSIC)

    nHSIC(Z_l, X) − β · nHSIC(Z_l, Y),

a kernel dependence (:func:`~occamlab.probes.information.estimators.hsic_tensor`, Gaussian
kernels, the median heuristic for σ, ``Y`` one-hot) that keeps the label's information and
drops the rest of the input's. The layer's input ``Z_{l-1}`` is detached, so no gradient crosses
a layer: the sum over layers of these objectives is an ``objective`` for
:func:`occamlab.train.fit` whose gradient is, layer by layer, the local one. The paper then
*formats* the network: a single output layer on the frozen last hidden representation is
trained by SGD on the cross-entropy (:func:`format_objective`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from occamlab.models.layers import FlattenInput, Network
from occamlab.probes.information.estimators import hsic_tensor
from occamlab.subject import Subject, loss_value
from occamlab.train.loop import Objective


def hidden_blocks(model: nn.Module) -> list[nn.Sequential]:
    """The hidden layers of a registry MLP (``Linear`` then its activation, each block), in
    order. Refuses any other model with a message saying what it needs."""
    if not isinstance(model, Network) or not isinstance(model.features, nn.Sequential):
        raise TypeError(
            f"layer-local training needs a registry MLP (model 'mlp'), got {type(model).__name__}"
        )
    layers = [m for m in model.features if not isinstance(m, FlattenInput)]
    blocks, i = [], 0
    while i < len(layers):
        if not isinstance(layers[i], nn.Linear) or i + 1 >= len(layers):
            raise TypeError(
                "layer-local training needs an MLP of Linear-activation blocks without dropout"
            )
        blocks.append(nn.Sequential(layers[i], layers[i + 1]))
        i += 2
    if not blocks:
        raise TypeError("layer-local training needs an MLP with at least one hidden layer")
    return blocks


def hsic_terms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, num_classes: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(nHSIC(Z_l, X), nHSIC(Z_l, Y))`` of every hidden layer, each layer's input detached."""
    inputs = x.reshape(len(x), -1)
    onehot = F.one_hot(y, num_classes).to(inputs.dtype)
    z, out = inputs, []
    for block in hidden_blocks(model):
        z = block(z.detach())
        out.append(
            (hsic_tensor(z, inputs, normalized=True), hsic_tensor(z, onehot, normalized=True))
        )
    return out


def hsic_bottleneck_objective(*, beta: float) -> Objective:
    """``Σ_l nHSIC(Z_l, X) − β nHSIC(Z_l, Y)`` with stop-gradients between layers (an
    ``objective`` for :func:`occamlab.train.fit`; the head gets no gradient)."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")

    def objective(subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        k = subject.model.head.out_features
        terms = hsic_terms(subject.model, x, y, num_classes=k)
        return sum(hx - beta * hy for hx, hy in terms)

    return objective


def format_objective(subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The format step: the subject's loss of the head on the detached last hidden layer (only
    the head gets a gradient)."""
    model = subject.model
    return loss_value(model.head(model.features(x).detach()), y, subject.loss)


__all__ = ["format_objective", "hidden_blocks", "hsic_bottleneck_objective", "hsic_terms"]
