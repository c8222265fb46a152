"""Adam's preconditioned sharpness λ_max(P⁻¹H) at a trained subject.

Adam divides each gradient coordinate by ``√v + ε``, where ``v`` is an exponential moving average
of squared minibatch gradients. With the weights held at their final values, that average's
fixed point is the mean of the squared minibatch gradient over the minibatches the recipe draws,
so :func:`adam_second_moment` estimates ``v`` as that mean over one epoch of the recipe's batches
(eval mode, like every probe; the coupled L2 term of Adam's ``weight_decay`` included, AdamW's
decoupled decay not). ``P = diag(√v + ε)``, and the eigenvalues of ``P⁻¹H`` are those of the
symmetric ``P^{-1/2} H P^{-1/2}`` (:class:`PreconditionedOperator`), which Lanczos can solve.
"""

from __future__ import annotations

import torch

from occamlab.linalg.operator import Operator
from occamlab.linalg.params import flatten
from occamlab.subject import Subject
from occamlab.train.spec import TrainSpec


def adam_second_moment(
    subject: Subject, recipe: TrainSpec, *, limit: int | None = None
) -> dict[str, torch.Tensor]:
    """The mean squared minibatch gradient at ``subject``'s weights over one epoch of
    ``recipe``'s minibatches (of the first ``limit`` training examples; order from
    ``recipe.seed``): the fixed point of Adam's second-moment average at these weights."""
    params = subject.params()
    n = subject.num_examples("train", limit)
    size = recipe.batch_size or n
    order = torch.randperm(n, generator=torch.Generator().manual_seed(recipe.seed))
    x_all, y_all = subject.data.train.x[:n], subject.data.train.y[:n]
    total = {k: torch.zeros_like(p) for k, p in params.items()}
    batches = 0
    grad = torch.func.grad(lambda p, x, y: subject.loss_of(p, x, y))
    with subject.eval_mode():
        for start in range(0, n, size):
            index = order[start : start + size]
            if len(index) < size and batches:  # a last partial batch would weigh as much
                break
            g = grad(params, x_all[index], y_all[index])
            for k in total:
                step = g[k]
                if recipe.optimizer == "adam" and recipe.weight_decay:
                    step = step + recipe.weight_decay * params[k]
                total[k] += step.pow(2)
            batches += 1
    return {k: v / batches for k, v in total.items()}


def preconditioner(
    subject: Subject, recipe: TrainSpec, *, limit: int | None = None
) -> torch.Tensor:
    """Adam's preconditioner ``√v + ε`` as one flat vector (parameter order of
    ``subject.params()``)."""
    v = adam_second_moment(subject, recipe, limit=limit)
    return flatten(v).sqrt() + recipe.eps


class PreconditionedOperator(Operator):
    """``P^{-1/2} A P^{-1/2}`` for a symmetric operator ``A`` and a positive diagonal ``P``:
    symmetric, with the eigenvalues of ``P⁻¹A``."""

    def __init__(self, op: Operator, diagonal: torch.Tensor) -> None:
        if diagonal.shape != (op.n,) or not bool((diagonal > 0).all()):
            raise ValueError(f"the preconditioner must be a positive vector of length {op.n}")
        super().__init__(op.n, dtype=op.dtype, symmetric=True)
        self.op = op
        self.scale = diagonal.to(op.dtype).rsqrt()

    def _matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.scale * self.op.matvec(self.scale * v)

    def _matmat(self, m: torch.Tensor) -> torch.Tensor:
        return self.scale[:, None] * self.op.matmat(self.scale[:, None] * m)


__all__ = ["PreconditionedOperator", "adam_second_moment", "preconditioner"]
