"""IRMv1 (Arjovsky et al. 2019): invariant risk minimization as a training objective of
:func:`occamlab.train.fit`.

IRMv1 (arXiv 1907.02893, Eq. IRMv1) trains a predictor ``f`` on environments ``e`` by

    min_f  Σ_e R^e(f) + λ · ‖∇_{w | w=1.0} R^e(w · f)‖²,

where ``w`` is a scalar "dummy" classifier multiplying the outputs: the penalty is small when
``f``'s outputs are already optimally scaled in every environment at once. As in the authors'
code (``colored_mnist/main.py``), the environment risks and penalties are averaged, an L2
penalty ``l2 · Σ ‖θ‖²`` on every parameter is added, λ is 1 for the first ``anneal_steps``
optimizer steps and ``penalty_weight`` afterwards, and the objective is then divided by λ (to
keep the gradients' scale). ``penalty_weight = 0`` is ERM with the same L2 penalty (λ is
``min(1, penalty_weight)`` during the annealing steps).

:class:`IRMv1` is both the ``objective`` and a callback of :func:`~occamlab.train.fit` (the
callback keeps the step count that the annealing needs): pass it as both. The environments are
those of the training split, so it trains full-batch (``batch_size=0``).
"""

from __future__ import annotations

import torch

from occamlab.subject import Subject, loss_value
from occamlab.train.loop import Callback, TrainState


def irm_penalty(outputs: torch.Tensor, targets: torch.Tensor, loss: str) -> torch.Tensor:
    """IRMv1's penalty of one environment, ``(d/dw R(w · outputs) at w = 1)²``.

    The derivative is taken with ``create_graph=True``, so the penalty can be differentiated
    with respect to the network's parameters.

    >>> import math
    >>> z = torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)
    >>> # CE(w z, 1) = log(1 + 3^-w): derivative −ln 3 / 4 at w = 1
    >>> round(float(irm_penalty(z, torch.tensor([1]), "cross_entropy").detach()), 12)
    0.075434310051
    """
    scale = torch.ones((), dtype=outputs.dtype, device=outputs.device, requires_grad=True)
    risk = loss_value(outputs * scale, targets, loss)
    (grad,) = torch.autograd.grad(risk, [scale], create_graph=True)
    return grad.square()


class IRMv1(Callback):
    """The IRMv1 objective over the training split's environments (module docstring).

    Args:
        environments: ``(n,)`` the environment index of each training example.
        penalty_weight: λ after the annealing steps (0: ERM).
        anneal_steps: optimizer steps with λ = 1 before λ = ``penalty_weight``.
        l2: weight of the L2 penalty ``Σ ‖θ‖²`` over every parameter.
    """

    def __init__(
        self,
        environments: torch.Tensor,
        *,
        penalty_weight: float,
        anneal_steps: int = 0,
        l2: float = 0.0,
    ) -> None:
        if penalty_weight < 0 or anneal_steps < 0 or l2 < 0:
            raise ValueError("penalty_weight, anneal_steps and l2 must be >= 0")
        self.environments = environments.long()
        self.groups = [torch.nonzero(self.environments == e).reshape(-1) for e in self.labels]
        self.penalty_weight = float(penalty_weight)
        self.anneal_steps = int(anneal_steps)
        self.l2 = float(l2)
        self.step = 0

    @property
    def labels(self) -> list[int]:
        return sorted(set(self.environments.tolist()))

    def weight(self) -> float:
        """λ at the current step."""
        return (
            self.penalty_weight if self.step >= self.anneal_steps else min(1.0, self.penalty_weight)
        )

    def terms(self, subject: Subject, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The mean environment risk, the mean penalty and the L2 term at the current weights."""
        if x.shape[0] != self.environments.shape[0]:
            raise ValueError(
                f"IRMv1 knows the environments of {self.environments.shape[0]} training examples "
                f"but got a batch of {x.shape[0]}: train full-batch (batch_size=0)"
            )
        outputs = subject.forward(None, x)
        risks, penalties = [], []
        for idx in self.groups:
            risks.append(loss_value(outputs[idx], y[idx], subject.loss))
            penalties.append(irm_penalty(outputs[idx], y[idx], subject.loss))
        l2 = sum(p.square().sum() for p in subject.model.parameters())
        return {
            "risk": torch.stack(risks).mean(),
            "penalty": torch.stack(penalties).mean(),
            "l2": l2,
        }

    def __call__(self, subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = self.terms(subject, x, y)
        weight = self.weight()
        loss = t["risk"] + self.l2 * t["l2"] + weight * t["penalty"]
        return loss / weight if weight > 1.0 else loss

    def on_train_begin(self, state: TrainState) -> None:
        self.step = state.step

    def on_step_end(self, state: TrainState) -> None:
        self.step = state.step


__all__ = ["IRMv1", "irm_penalty"]
