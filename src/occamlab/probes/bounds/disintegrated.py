"""A bound for one deterministic network: the disintegrated PAC-Bayes bound.

A PAC-Bayes-kl bound certifies the Gibbs classifier, which draws a fresh network for every
prediction. The *disintegrated* bound (Rivasplata et al. 2020, arXiv 2006.13057, Theorem 1;
Viallard et al. 2021, arXiv 2102.08649) certifies a single network h drawn once from the
posterior Q: with probability at least 1 − δ over the m examples *and* the draw of h,

    kl(ê(h) ‖ e(h)) ≤ (ln[Q(h)/P(h)] + ln(2√m/δ)) / m,

where ê(h) is h's exact error on the m examples (no Monte Carlo) and ln[Q(h)/P(h)] the log
density ratio at the drawn weights (its mean over h is KL(Q‖P)). Once drawn, h is an ordinary
network with fixed weights: every prediction is made by the same function.

>>> import torch
>>> q = Gaussian({"w": torch.zeros(3)}, {"w": torch.ones(3)})
>>> round(log_density_ratio(q, q, {"w": torch.ones(3)}), 12)
0.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from occamlab.data.base import Split
from occamlab.probes.bounds.pacbayes import Gaussian, pac_bayes_kl_bound
from occamlab.probes.bounds.testset import count_errors
from occamlab.subject import Subject


def log_density_ratio(q: Gaussian, p: Gaussian, weights: Mapping[str, torch.Tensor]) -> float:
    """ln Q(w) − ln P(w) for diagonal Gaussians, in float64 (the 2π terms cancel)."""
    total = 0.0
    for name, w in weights.items():
        w = w.double()
        mq, sq = q.mean[name].double(), q.std[name].double()
        mp, sp = p.mean[name].double(), p.std[name].double()
        total += float(
            (torch.log(sp / sq) - 0.5 * ((w - mq) / sq) ** 2 + 0.5 * ((w - mp) / sp) ** 2).sum()
        )
    return total


@dataclass(frozen=True)
class DisintegratedBound:
    """The certificate of one network drawn once from Q.

    Attributes:
        bound: kl⁻¹(ê(h), (max(ln Q(h)/P(h), 0) + ln(2√m/δ))/m).
        empirical_error: h's errors / m on the bound examples (exact).
        log_ratio: ln Q(h)/P(h) at the drawn weights (nats).
        m: bound examples; delta: the failure probability it was computed at.
        test_error: h's error on the test split.
        predictor: what is certified.
        weights: h itself (tensors; left out of ``to_dict``).
    """

    bound: float
    empirical_error: float
    log_ratio: float
    m: int
    delta: float
    test_error: float
    predictor: str = (
        "one deterministic network drawn once from the posterior Q (fixed weights: every "
        "prediction is made by the same network)"
    )
    weights: dict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "weights"}


def disintegrated_bound(
    subject: Subject,
    q: Gaussian,
    p: Gaussian,
    bound: Split,
    *,
    delta: float,
    generator: torch.Generator,
    predictor: str = DisintegratedBound.predictor,
) -> DisintegratedBound:
    """Draw h ~ Q once and certify it on the ``bound`` examples (P fixed before them).

    ``delta`` is the failure probability left after any union bound paid for choosing P's
    scales. A negative log ratio is replaced by 0, which only loosens the bound. ``predictor``
    describes h in words (how Q was made).
    """
    weights = {
        k: (q.mean[k] + q.std[k] * torch.randn(q.mean[k].shape, generator=generator)).to(
            q.mean[k].dtype
        )
        for k in q.mean
    }
    errors, m = count_errors(subject, weights, split=bound)
    ratio = log_density_ratio(q, p, weights)
    test_errors, test_n = count_errors(subject, weights, split="test")
    return DisintegratedBound(
        bound=pac_bayes_kl_bound(errors / m, max(ratio, 0.0), m, delta),
        empirical_error=errors / m,
        log_ratio=ratio,
        m=m,
        delta=delta,
        test_error=test_errors / test_n,
        predictor=predictor,
        weights=weights,
    )


__all__ = ["DisintegratedBound", "disintegrated_bound", "log_density_ratio"]
