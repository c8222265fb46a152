"""Critical sample ratio (Arpit et al. 2017, arXiv 1706.05394, §4.1): how many inputs lie within
an ℓ∞ distance r of the decision boundary.

An example ``x`` is *critical* at radius ``r`` when some ``x̂`` in the box
``{x̂ : ‖x̂ − x‖_∞ ≤ r}`` is classified differently from ``x``; the critical sample ratio (CSR) is
the fraction of critical examples. A network that fits data by learning patterns keeps most
examples far from its decision boundary (low CSR); one that memorizes noise must carve a boundary
close to many points (high CSR).

Whether a box holds a differently classified point is found by an adversarial search: projected
sign-gradient ascent on the margin ``max_{j≠c} f_j(x̂) − f_c(x̂)`` (``c`` the class predicted at
``x``) from a uniform random start in the box (Madry et al. 2018, arXiv 1706.06083; Arpit et al.
used a similar box-constrained search). A point counts as critical only if a differently
classified ``x̂`` was actually found, so the reported ratio is a lower bound on the true CSR; for
a linear classifier the search finds every critical point whose runner-up class can be reached,
which the tests check against the exact box condition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from occamlab.subject import SplitName, Subject


@dataclass(frozen=True)
class CriticalSamples:
    """The critical sample ratio of a split at one radius.

    Attributes:
        ratio: fraction of examples for which a differently classified point was found within
            ℓ∞ distance ``radius`` (a lower bound on the true ratio).
        critical: per-example verdicts, in split order.
        radius: the ℓ∞ radius r, in input units.
        steps: ascent steps per example.
        step_size: ℓ∞ size of each sign-gradient step.
        split: the split examined; ``n`` its examples used.
        eval_mode: always True: the network is probed in eval mode.
    """

    ratio: float
    critical: tuple[bool, ...]
    radius: float
    steps: int
    step_size: float
    split: str
    n: int
    eval_mode: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "ratio": self.ratio,
            "critical": list(self.critical),
            "radius": self.radius,
            "steps": self.steps,
            "step_size": self.step_size,
            "split": self.split,
            "n": self.n,
            "eval_mode": self.eval_mode,
        }


def critical_sample_ratio(
    subject: Subject,
    *,
    radius: float,
    split: SplitName = "train",
    limit: int | None = None,
    steps: int = 20,
    step_size: float | None = None,
    generator: torch.Generator | None = None,
) -> CriticalSamples:
    """Fraction of examples with a differently classified point in their ℓ∞ box of ``radius``.

    Args:
        subject: a classification subject; its module is not modified (eval mode is set and
            restored, parameters are never written).
        radius: the box half-width r > 0, in the units of the inputs.
        split: ``"train"`` or ``"test"``.
        limit: examine only the first ``limit`` examples of the split.
        steps: sign-gradient ascent steps from the random start.
        step_size: ℓ∞ length of each step; default ``2.5 r / steps`` (Madry et al.).
        generator: source of the random starts (default: a generator seeded with 0).

    Returns:
        A :class:`CriticalSamples`.
    """
    if subject.data.task != "classification":
        raise ValueError("the critical sample ratio needs a classification subject")
    if not (isinstance(radius, int | float) and math.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    size = 2.5 * radius / steps if step_size is None else float(step_size)
    if not size > 0:
        raise ValueError(f"step_size must be positive, got {step_size!r}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    params = {k: v.detach() for k, v in subject.params().items()}
    verdicts = []
    with subject.eval_mode():
        for x, _ in subject.batches(split, limit=limit):
            verdicts.append(_search(subject, params, x, radius, steps, size, gen))
    if not verdicts:
        raise ValueError(f"the {split} split of {subject.data.name!r} is empty")
    critical = torch.cat(verdicts)
    return CriticalSamples(
        ratio=float(critical.double().mean()),
        critical=tuple(bool(v) for v in critical),
        radius=float(radius),
        steps=steps,
        step_size=size,
        split=split,
        n=int(critical.numel()),
    )


def _search(
    subject: Subject,
    params: dict[str, torch.Tensor],
    x0: torch.Tensor,
    radius: float,
    steps: int,
    step_size: float,
    generator: torch.Generator,
) -> torch.Tensor:
    with torch.no_grad():
        predicted = subject.forward(params, x0).argmax(dim=-1)
    low, high = x0 - radius, x0 + radius
    noise = torch.rand(x0.shape, generator=generator, dtype=x0.dtype)
    x = x0 + radius * (2 * noise - 1)
    found = torch.zeros(x0.shape[0], dtype=torch.bool)
    for step in range(steps + 1):
        x = x.detach().requires_grad_(step < steps)
        with torch.set_grad_enabled(step < steps):
            out = subject.forward(params, x)
        found |= out.detach().argmax(dim=-1) != predicted
        if step == steps or bool(found.all()):
            break
        own = out.gather(1, predicted[:, None])[:, 0]
        others = out.scatter(1, predicted[:, None], float("-inf")).amax(dim=1)
        (grad,) = torch.autograd.grad((others - own).sum(), x)
        x = torch.minimum(torch.maximum(x + step_size * grad.sign(), low), high)
    return found


__all__ = ["CriticalSamples", "critical_sample_ratio"]
