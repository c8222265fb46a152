"""Output-based measures (Jiang et al. 2019, §4 "output-based" / C.2): what the outputs look like.

On the training split, in eval mode, streamed:

* ``cross_entropy``: the mean training cross-entropy (1/m) Σ −ln softmax(f(x_i))_{y_i}.
* ``margin``: γ, the 10th percentile of the multiclass margins f(x)_y − max_{j≠y} f(x)_j (the
  ⌊m/10⌋-th smallest, as Jiang et al. and their public code take it). It is the γ of every
  "over margin" measure.
* ``inverse_margin``: 1/γ² (undefined, reported as None, if γ ≤ 0: more than 10% of the
  training set is misclassified).
* ``output_entropy``: the mean Shannon entropy (nats) of softmax(f(x)) over training examples
  (low for confident networks).
"""

from __future__ import annotations

import math

import torch

from occamlab.subject import Params, SplitName, Subject


def margins(subject: Subject, params: Params | None = None, *, split: SplitName = "train"):
    """The multiclass margin f(x)_y − max_{j≠y} f(x)_j of every example (float64, eval mode)."""
    if subject.data.task != "classification":
        raise ValueError("margins need a classification task")
    out = []
    with torch.no_grad(), subject.eval_mode():
        for x, y in subject.batches(split):
            logits = subject.forward(params, x).double()
            correct = logits.gather(1, y.unsqueeze(1)).squeeze(1)
            others = logits.scatter(1, y.unsqueeze(1), -math.inf).amax(dim=1)
            out.append(correct - others)
    if not out:
        raise ValueError(f"the {split} split is empty")
    return torch.cat(out)


def margin_percentile(values: torch.Tensor, *, fraction: float = 0.1) -> float:
    """The ⌊fraction·m⌋-th smallest value (at least the first): Jiang et al.'s γ.

    >>> margin_percentile(torch.arange(1.0, 21.0))
    2.0
    """
    k = max(1, int(fraction * values.numel()))
    return float(values.kthvalue(k).values)


def output_measures(subject: Subject, params: Params | None = None) -> dict[str, float | None]:
    """Cross-entropy, γ, 1/γ² and mean output entropy on the training split."""
    ce, entropy, n = 0.0, 0.0, 0
    with torch.no_grad(), subject.eval_mode():
        for x, y in subject.batches("train"):
            logits = subject.forward(params, x).double()
            log_p = torch.log_softmax(logits, dim=1)
            ce -= float(log_p.gather(1, y.unsqueeze(1)).sum())
            entropy -= float((log_p.exp() * log_p).sum())
            n += len(y)
    gamma = margin_percentile(margins(subject, params))
    return {
        "cross_entropy": ce / n,
        "margin": gamma,
        "inverse_margin": 1.0 / gamma**2 if gamma > 0 else None,
        "output_entropy": entropy / n,
    }


__all__ = ["margin_percentile", "margins", "output_measures"]
