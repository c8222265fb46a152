"""The squared-loss decomposition of an ensemble's error (Krogh & Vedelsby 1995).

For K member outputs ``f_1, …, f_K`` at an input with target ``y`` and their average
``f̄ = (1/K) Σ_k f_k``, expanding ``f_k − y = (f_k − f̄) + (f̄ − y)`` (the cross terms sum to 0):

    ‖f̄ − y‖² = (1/K) Σ_k ‖f_k − y‖² − (1/K) Σ_k ‖f_k − f̄‖²

ensemble error = mean member error − diversity, exactly, at every input and so averaged over a
test set. The ensemble is never worse than its average member under squared loss, and gains
exactly the members' spread. When the members differ only in their random initialization the
diversity estimates the variance of the output function over initializations,
``E‖f − ⟨f⟩‖²`` (Geiger et al. 2020, arXiv 1901.01608, who find it peaks at the interpolation
threshold): ``K/(K − 1)`` times the diversity is its unbiased estimate.

For classifiers the outputs are the predicted class probabilities and the targets one-hot
vectors (the squared loss is then the Brier score); the zero-one errors of the members and of
the averaged probabilities are reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from occamlab.jsonable import jsonable
from occamlab.subject import SplitName, Subject


@dataclass(frozen=True)
class EnsembleDecomposition:
    """An ensemble's squared error split into its members' mean error and their diversity.

    Attributes:
        members: K, the number of members.
        ensemble_loss: mean over inputs of ‖f̄ − y‖².
        mean_member_loss: mean over inputs and members of ‖f_k − y‖².
        diversity: mean over inputs of (1/K) Σ_k ‖f_k − f̄‖²; equals
            ``mean_member_loss − ensemble_loss``.
        output_variance: ``K/(K − 1)·diversity``, the unbiased estimate of the variance of the
            output over the members' randomness (NaN for one member).
        member_errors: each member's zero-one error (empty without labels).
        ensemble_error: the zero-one error of the averaged outputs (None without labels).
    """

    members: int
    ensemble_loss: float
    mean_member_loss: float
    diversity: float
    output_variance: float
    member_errors: tuple[float, ...] = ()
    ensemble_error: float | None = None

    @property
    def mean_member_error(self) -> float | None:
        if not self.member_errors:
            return None
        return sum(self.member_errors) / len(self.member_errors)

    def to_dict(self) -> dict:
        return jsonable({**asdict(self), "mean_member_error": self.mean_member_error})


def decompose(
    outputs: torch.Tensor, targets: torch.Tensor, *, labels: torch.Tensor | None = None
) -> EnsembleDecomposition:
    """The decomposition of :mod:`this module <occamlab.probes.ensembles.decomposition>`.

    Args:
        outputs: member outputs, shape ``(K, n, C)`` (or ``(K, n)`` for one output).
        targets: targets, shape ``(n, C)`` (or ``(n,)``).
        labels: class labels ``(n,)``: the zero-one errors of the members' and the averaged
            outputs' argmax are reported too.

    Computed in float64.

    >>> d = decompose(torch.tensor([[0.0], [2.0]]), torch.tensor([0.0]))
    >>> d.ensemble_loss, d.mean_member_loss, d.diversity, d.output_variance
    (1.0, 2.0, 1.0, 2.0)
    """
    f = outputs.detach().to(torch.float64)
    y = targets.detach().to(torch.float64)
    if f.dim() == 2:
        f = f.unsqueeze(-1)
    if y.dim() == 1:
        y = y.unsqueeze(-1)
    if f.dim() != 3 or f.shape[1:] != y.shape:
        raise ValueError(
            f"outputs must have shape (K, n, C) matching targets (n, C); got "
            f"{tuple(outputs.shape)} and {tuple(targets.shape)}"
        )
    k = f.shape[0]
    if k == 0 or f.shape[1] == 0:
        raise ValueError("need at least one member and one input")
    mean = f.mean(0)
    ensemble = float((mean - y).pow(2).sum(-1).mean())
    member = float((f - y).pow(2).sum(-1).mean())
    diversity = float((f - mean).pow(2).sum(-1).mean())
    errors: tuple[float, ...] = ()
    ensemble_error = None
    if labels is not None:
        if labels.shape != (f.shape[1],):
            raise ValueError(f"labels must have shape ({f.shape[1]},), got {tuple(labels.shape)}")
        errors = tuple(float(e) for e in (f.argmax(-1) != labels).double().mean(-1))
        ensemble_error = float((mean.argmax(-1) != labels).double().mean())
    return EnsembleDecomposition(
        members=k,
        ensemble_loss=ensemble,
        mean_member_loss=member,
        diversity=diversity,
        output_variance=k / (k - 1) * diversity if k > 1 else float("nan"),
        member_errors=errors,
        ensemble_error=ensemble_error,
    )


def member_outputs(
    subjects: Sequence[Subject], *, split: SplitName = "test", probabilities: bool = True
) -> torch.Tensor:
    """The members' outputs on ``split`` (all of one data set), shape ``(K, n, C)``: softmax
    probabilities of classifiers if ``probabilities``, else raw outputs (eval mode, no grad)."""
    if not subjects:
        raise ValueError("need at least one member")
    x = subjects[0].split(split).x
    outs = []
    for s in subjects:
        if not torch.equal(s.split(split).x, x):
            raise ValueError(f"members must share the {split} inputs")
        out = s.outputs(split)
        classifier = s.data.task == "classification"
        outs.append(torch.softmax(out.double(), -1) if classifier and probabilities else out)
    return torch.stack(outs).double()


def ensemble_decomposition(
    subjects: Sequence[Subject], *, split: SplitName = "test"
) -> EnsembleDecomposition:
    """:func:`decompose` of trained members on ``split``: for classifiers the squared error of
    their class probabilities against one-hot labels (the Brier score) and their zero-one
    errors; for regression that of their outputs.

    The members share the split (inputs and targets): an ensemble of seeds on one data set.
    """
    outputs = member_outputs(subjects, split=split)
    data = subjects[0].split(split)
    if subjects[0].data.task == "classification":
        onehot = torch.nn.functional.one_hot(data.y, outputs.shape[-1])
        return decompose(outputs, onehot, labels=data.y)
    return decompose(outputs, data.y.reshape(len(data.y), -1))
