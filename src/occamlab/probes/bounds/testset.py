"""The test-set bound (Langford 2005): exact binomial-tail inversion on held-out errors.

A classifier fixed before the m held-out examples are drawn makes k ~ Binomial(m, e) errors on
them, e its true error. The bound is the largest error that still makes k or fewer errors
plausible at level δ:

    Bin⁻¹(k, m, δ) = max{p : P[Binomial(m, p) ≤ k] ≥ δ},

so P[e > Bin⁻¹(k, m, δ)] ≤ δ. This is the one-sided Clopper–Pearson bound; it is exact (no
Hoeffding or normal approximation). Reference value: 100 errors of 10,000 at δ = 0.05 give
1.18%.

The inversion works with ln δ, so it also serves the Occam bound, where δ is multiplied by a
prior weight 2^(−bits) far below the smallest float: the binomial CDF is summed in log space
(log-sum-exp of the k + 1 log-probabilities) and p is bisected on [k/m, 1] to an absolute width
of 1e-13 (the upper end of the bracket is returned, so the bound never undershoots).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import gammaln, logsumexp

from occamlab.data.base import Split
from occamlab.jsonable import jsonable
from occamlab.subject import SplitName, Subject

_WIDTH = 1e-13


def _check_counts(k: int, m: int) -> tuple[int, int]:
    if isinstance(k, bool) or isinstance(m, bool) or int(k) != k or int(m) != m:
        raise TypeError(f"k and m must be integers, got k={k!r}, m={m!r}")
    k, m = int(k), int(m)
    if m < 1 or not 0 <= k <= m:
        raise ValueError(f"need 0 <= k <= m and m >= 1, got k={k}, m={m}")
    return k, m


def log_binomial_cdf(k: int, m: int, p: float) -> float:
    """ln P[Binomial(m, p) ≤ k], summed in log space (exact up to rounding, no underflow).

    >>> round(math.exp(log_binomial_cdf(1, 3, 0.5)), 12)
    0.5
    """
    k, m = _check_counts(k, m)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    if k == m or p == 0.0:
        return 0.0
    if p == 1.0:
        return -math.inf
    j = np.arange(k + 1, dtype=np.float64)
    log_pmf = (
        gammaln(m + 1.0)
        - gammaln(j + 1.0)
        - gammaln(m - j + 1.0)
        + j * math.log(p)
        + (m - j) * math.log1p(-p)
    )
    return float(logsumexp(log_pmf))


def binomial_tail_inverse(k: int, m: int, *, delta: float | None = None, log_delta=None) -> float:
    """Bin⁻¹(k, m, δ): the largest p with P[Binomial(m, p) ≤ k] ≥ δ.

    Args:
        k: observed errors.
        m: examples (independent of the classifier).
        delta: confidence parameter in (0, 1); or give ``log_delta`` = ln δ instead (for δ
            below the smallest float, as in the Occam bound).

    >>> round(binomial_tail_inverse(100, 10_000, delta=0.05), 4)
    0.0118
    """
    k, m = _check_counts(k, m)
    if (delta is None) == (log_delta is None):
        raise ValueError("give exactly one of delta and log_delta")
    if delta is not None:
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
        log_delta = math.log(delta)
    log_delta = float(log_delta)
    if math.isnan(log_delta) or log_delta >= 0.0:
        raise ValueError(f"log_delta must be < 0, got {log_delta!r}")
    if k == m:
        return 1.0
    lo, hi = k / m, 1.0
    while hi - lo > _WIDTH:
        mid = 0.5 * (lo + hi)
        if log_binomial_cdf(k, m, mid) >= log_delta:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class TestSetBound:
    """The test-set bound on a subject's held-out split.

    Attributes:
        bound: Bin⁻¹(errors, n, δ), an upper bound on the network's true error.
        test_error: errors / n (the network's error on the split).
        errors: k, misclassified held-out examples.
        n: m, held-out examples.
        delta: the bound fails with probability at most δ.
        search_bits: 0 (nothing was searched: one classifier, one bound).
        split, eval_mode: the split used and that the network was evaluated in eval mode.
        predictor: what is certified (the network as given).
    """

    __test__ = False  # not a pytest test class

    bound: float
    test_error: float
    errors: int
    n: int
    delta: float
    search_bits: float = 0.0
    split: str = "test"
    eval_mode: bool = True
    predictor: str = "the network"

    def to_dict(self) -> dict:
        return jsonable(self.__dict__)


def count_errors(
    subject: Subject, params=None, *, split: SplitName | Split = "test"
) -> tuple[int, int]:
    """(misclassified examples, examples) of a split (by name, or any :class:`Split` of
    examples, e.g. a certificate's bound examples), streamed in eval mode."""
    if subject.data.task != "classification":
        raise ValueError(
            f"error bounds need a classification task; {subject.data.name!r} is a regression task"
        )
    if isinstance(split, Split):
        size = subject.eval_batch_size
        batches = (
            (split.x[i : i + size], split.y[i : i + size]) for i in range(0, len(split), size)
        )
        where = "the given examples"
    else:
        batches = subject.batches(split)
        where = f"the {split} split of {subject.data.name!r}"
    wrong, n = 0, 0
    with torch.no_grad(), subject.eval_mode():
        for x, y in batches:
            wrong += int((subject.forward(params, x).argmax(dim=-1) != y).sum())
            n += len(y)
    if n == 0:
        raise ValueError(f"{where} are empty" if isinstance(split, Split) else f"{where} is empty")
    return wrong, n


def testset_bound(subject: Subject, *, delta: float = 0.05, split: SplitName = "test"):
    """Langford's test-set bound for ``subject`` on its held-out ``split``.

    Valid only if nothing about the network (training, early stopping, model selection) used
    that split.
    """
    errors, n = count_errors(subject, split=split)
    return TestSetBound(
        bound=binomial_tail_inverse(errors, n, delta=delta),
        test_error=errors / n,
        errors=errors,
        n=n,
        delta=delta,
        split=split,
    )


testset_bound.__test__ = False  # type: ignore[attr-defined]  # a probe, not a pytest test

__all__ = [
    "TestSetBound",
    "binomial_tail_inverse",
    "count_errors",
    "log_binomial_cdf",
    "testset_bound",
]
