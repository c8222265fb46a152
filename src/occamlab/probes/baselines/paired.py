"""Paired tests of two predictors on the same test examples.

* :func:`mcnemar` — exact McNemar test for accuracy (McNemar 1947; Dietterich 1998 recommends it
  for comparing two classifiers on one test set): only the discordant examples count, ``b``
  (the first right, the second wrong) and ``c`` (the reverse); under the null hypothesis of equal
  accuracy ``b ~ Binomial(b + c, 1/2)``, and the two-sided p-value is
  ``min(1, 2 P(X ≤ min(b, c)))``.
* :func:`paired_loss_test` — for regression: a paired t-test of the per-example losses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PairedTest:
    """A paired comparison of predictor A against predictor B on the same examples.

    Attributes:
        test: ``"mcnemar"`` (exact, accuracy) or ``"paired t"`` (per-example loss).
        difference: A's score minus B's (accuracy, or B's mean loss minus A's: positive when A
            is better either way).
        p_value: two-sided p-value of "no difference".
        a_only, b_only: McNemar's discordant counts (A right and B wrong, and the reverse);
            None for the t-test.
        n: examples compared.
    """

    test: str
    difference: float
    p_value: float
    n: int
    a_only: int | None = None
    b_only: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> PairedTest:
    """Exact two-sided McNemar test of two classifiers' per-example correctness.

    Examples:
        >>> t = mcnemar(np.array([1, 1, 1, 1, 0], bool), np.array([0, 0, 0, 1, 0], bool))
        >>> t.a_only, t.b_only, t.p_value  # 3 vs 0 discordant: 2 · (1/2)³
        (3, 0, 0.25)
    """
    from scipy.stats import binom

    a, b = np.asarray(a_correct, bool), np.asarray(b_correct, bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"expected two equal-length 1-D arrays, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("no examples to compare")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else min(1.0, 2.0 * binom.cdf(min(a_only, b_only), discordant, 0.5))
    return PairedTest("mcnemar", float(a.mean() - b.mean()), float(p), a.size, a_only, b_only)


def paired_loss_test(a_losses: np.ndarray, b_losses: np.ndarray) -> PairedTest:
    """Two-sided paired t-test of per-example losses (``difference``: B's mean minus A's)."""
    from scipy.stats import ttest_rel

    a, b = np.asarray(a_losses, float), np.asarray(b_losses, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"expected two equal-length 1-D arrays, got {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError("a paired t-test needs at least 2 examples")
    diff = b - a
    p = 1.0 if np.all(diff == diff[0]) and diff[0] == 0 else float(ttest_rel(b, a).pvalue)
    return PairedTest("paired t", float(diff.mean()), p, a.size)


__all__ = ["PairedTest", "mcnemar", "paired_loss_test"]
