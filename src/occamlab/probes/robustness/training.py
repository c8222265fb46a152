"""PGD adversarial training (Madry et al. 2018, arXiv 1706.06083, eq. 2.1):
``min_θ E_(x,y) max_{‖δ‖ ≤ ε} L(θ, x + δ, y)``, the inner maximum approximated by PGD on every
minibatch.

It runs in the one training loop: :func:`adversarial_objective` is an ``objective`` for
:func:`occamlab.train.fit`, which calls it on each minibatch in place of the subject's loss. The
attack sees the network in eval mode (the function as it stands at that step); the returned loss
is the subject's own, on the adversarial minibatch, in the loop's training mode.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from occamlab.probes.robustness.pgd import PGDSpec, pgd
from occamlab.subject import Subject
from occamlab.train import Callback, TrainResult, TrainSpec, fit
from occamlab.train.loop import Objective


def adversarial_objective(attack: PGDSpec, *, seed: int = 0) -> Objective:
    """The minibatch objective ``L(θ, PGD(x), y)``; random starts come from one generator
    seeded with ``seed`` (the same seed and recipe train bitwise the same weights)."""
    generator = torch.Generator().manual_seed(seed)

    def objective(subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        adversarial = pgd(subject.model, x, y, attack, loss=subject.loss, generator=generator)
        return subject.loss_of(None, adversarial, y)

    return objective


def adversarial_fit(
    subject: Subject,
    spec: TrainSpec,
    attack: PGDSpec,
    *,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
) -> TrainResult:
    """Train ``subject`` in place with PGD adversarial training: :func:`occamlab.train.fit` with
    :func:`adversarial_objective` (its random starts seeded by ``spec.seed``). With ``eps = 0``
    this is ordinary training."""
    objective = adversarial_objective(attack, seed=spec.seed) if attack.eps > 0 else None
    return fit(subject, spec, callbacks=list(callbacks), progress=progress, objective=objective)


__all__ = ["adversarial_fit", "adversarial_objective"]
