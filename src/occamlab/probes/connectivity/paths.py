"""Linear paths between solutions: loss and error along θ(α) = (1 − α)·θ_a + α·θ_b, and barriers.

Goodfellow, Vinyals & Saxe (2015) interpolate from initialization to a solution; Frankle et al.
(2020, arXiv 1912.05671) train two copies of a network from one checkpoint with different data
orders and call the training *stable* when the error does not rise along the line between the
results (linear mode connectivity). Both are this probe with different endpoints.

Barrier of a curve v(α) on the path (α ∈ [0, 1], endpoints included)::

    barrier = max_α [ v(α) − ((1 − α)·v(0) + α·v(1)) ]          (Entezari et al. 2022)
    instability = max_α v(α) − (v(0) + v(1)) / 2                (Frankle et al. 2020)

The two agree when the endpoints have equal values; the first is 0 for a path on which v is
convex or linear, and exactly 0 between identical endpoints. Every point is evaluated as a new
parameter set through the functional view (the module is never written) in eval mode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from occamlab.notebook import HtmlRepr
from occamlab.subject import Params, Subject
from occamlab.train import Callback, TrainSpec, fit


def barrier(values: Sequence[float], alphas: Sequence[float]) -> float:
    """max_α [v(α) − ((1 − α)·v(0) + α·v(1))] over a path sampled at ``alphas`` (0 and 1 included).

    >>> barrier([1.0, 3.0, 1.0], [0.0, 0.5, 1.0])
    2.0
    """
    v, a = np.asarray(values, dtype=np.float64), np.asarray(alphas, dtype=np.float64)
    if v.shape != a.shape or v.ndim != 1 or len(v) < 2:
        raise ValueError("values and alphas must be 1-D of the same length >= 2")
    if a[0] != 0.0 or a[-1] != 1.0:
        raise ValueError("alphas must start at 0 and end at 1 (the endpoints)")
    return float(np.max(v - ((1.0 - a) * v[0] + a * v[-1])))


def _check_alphas(num_points: int) -> np.ndarray:
    if num_points < 2:
        raise ValueError(f"num_points must be >= 2 (the two endpoints), got {num_points}")
    return np.linspace(0.0, 1.0, num_points)


@dataclass(frozen=True)
class PathResult(HtmlRepr):
    """Loss and accuracy along the line between two parameter sets.

    Attributes:
        alphas: the points α (0 and 1 are the endpoints, exactly).
        train_loss, test_loss: mean loss at each α.
        train_accuracy, test_accuracy: accuracy at each α (None for regression).
        loss_barrier: :func:`barrier` of the train loss.
        error_barrier: :func:`barrier` of the test error (None for regression).
        instability: max test error − mean endpoint test error (Frankle et al. 2020).
        limit: examples per split used (None: all).
        reestimate_bn: whether BatchNorm statistics were recomputed at every point.
    """

    alphas: list[float]
    train_loss: list[float]
    test_loss: list[float]
    train_accuracy: list[float] | None
    test_accuracy: list[float] | None
    loss_barrier: float
    error_barrier: float | None
    instability: float | None
    limit: int | None
    reestimate_bn: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def plot(self, ax: Any = None) -> Any:
        """Train/test loss (and test error) against α."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        ax.plot(self.alphas, self.train_loss, "o-", label="train loss")
        ax.plot(self.alphas, self.test_loss, "s-", label="test loss")
        if self.test_accuracy is not None:
            ax.plot(self.alphas, [1 - a for a in self.test_accuracy], "^-", label="test error")
        ax.set_xlabel("α (0: start, 1: end)")
        ax.legend()
        return ax


def evaluate_path(
    subject: Subject,
    fill: Callable[[float, dict[str, torch.Tensor]], None],
    *,
    num_points: int = 11,
    limit: int | None = None,
    reestimate_bn: bool = False,
) -> PathResult:
    """Evaluate ``subject`` along any path θ(α), α ∈ [0, 1], and measure its barriers.

    ``fill(alpha, out)`` writes θ(α) into the tensors of ``out`` (shaped like
    ``subject.params()``). Points are evaluated by the landscape engine
    (:class:`occamlab.probes.landscape.evaluate.PointEvaluator`): functional view, eval mode,
    streamed, spread over torch.distributed ranks when initialized; with ``reestimate_bn`` the
    BatchNorm statistics are recomputed at every point from the training split (Garipov et al.
    2018), which BN networks need for meaningful errors away from the endpoints.
    """
    # Imported here: the landscape package builds on this module (curves use PathResult).
    from occamlab.probes.landscape.evaluate import PointEvaluator

    alphas = _check_alphas(num_points)
    # One point per pass: paths are short, and every point then matches Subject.evaluate to
    # the bit (identical endpoints give an exactly flat path).
    evaluator = PointEvaluator(subject, limit=limit, reestimate_bn=reestimate_bn, points_per_pass=1)
    values = evaluator.run(lambda i, out: fill(float(alphas[i]), out), len(alphas))
    rows = {c: values[:, j].tolist() for j, c in enumerate(evaluator.columns)}
    classification = evaluator.classification
    test_error = [1.0 - a for a in rows["test_accuracy"]] if classification else None
    return PathResult(
        alphas=alphas.tolist(),
        train_loss=rows["train_loss"],
        test_loss=rows["test_loss"],
        train_accuracy=rows["train_accuracy"] if classification else None,
        test_accuracy=rows["test_accuracy"] if classification else None,
        loss_barrier=barrier(rows["train_loss"], alphas),
        error_barrier=barrier(test_error, alphas) if test_error else None,
        instability=(
            max(test_error) - (test_error[0] + test_error[-1]) / 2 if test_error else None
        ),
        limit=limit,
        reestimate_bn=bool(reestimate_bn),
    )


def interpolate(
    subject: Subject,
    start: Params,
    end: Params,
    *,
    num_points: int = 11,
    limit: int | None = None,
    reestimate_bn: bool = False,
) -> PathResult:
    """Evaluate ``subject`` at θ(α) = (1 − α)·start + α·end for ``num_points`` evenly spaced α.

    Args:
        subject: gives the architecture, loss and data; its module is not modified.
        start: the parameter dict at α = 0 (e.g. ``subject.params()``).
        end: the parameter dict at α = 1 (the same names and shapes as ``start``).
        num_points: points on [0, 1], endpoints included (α = 0 and 1 give start and end
            exactly).
        limit: use only the first ``limit`` examples of each split.
        reestimate_bn: recompute BatchNorm statistics at every point (see
            :func:`evaluate_path`).
    """
    if set(start) != set(end):
        raise ValueError("start and end must name the same parameters")
    for name in start:
        if start[name].shape != end[name].shape:
            raise ValueError(f"parameter {name!r} differs in shape between start and end")

    def fill(alpha: float, out: dict[str, torch.Tensor]) -> None:
        for k in start:  # parameters not named keep the module's values
            torch.lerp(start[k].detach(), end[k].detach(), alpha, out=out[k])

    return evaluate_path(
        subject, fill, num_points=num_points, limit=limit, reestimate_bn=reestimate_bn
    )


@dataclass(frozen=True)
class ConnectivityResult(HtmlRepr):
    """Two copies trained from one checkpoint, and the path between them.

    Attributes:
        seeds: the data-order seeds of the two copies.
        path: :class:`PathResult` between their final weights.
        final: final metrics of each copy (train/test loss and accuracy).
    """

    seeds: tuple[int, int]
    path: PathResult
    final: tuple[dict[str, Any], dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"seeds": list(self.seeds), "path": self.path.to_dict(), "final": list(self.final)}


def linear_mode_connectivity(
    subject: Subject,
    train: TrainSpec,
    *,
    checkpoint: Params | None = None,
    seeds: tuple[int, int] = (1, 2),
    num_points: int = 11,
    limit: int | None = None,
    callbacks: Sequence[Callback] = (),
    reestimate_bn: bool = False,
) -> ConnectivityResult:
    """Train two copies from ``checkpoint`` with different data orders; return the path between.

    This is the instability analysis of Frankle et al. (2020): the network is stable at the
    checkpoint when the test error barrier between the two results is ≈ 0.

    Args:
        subject: architecture, loss and data; its module is never modified (copies are trained).
        train: the recipe for both copies; only its ``seed`` (the data order) is replaced.
        checkpoint: the shared starting weights (default: the subject's current weights).
        seeds: data-order seeds of the two copies; they must differ.
        num_points: points on the path, endpoints included.
        limit: examples per split used to evaluate the path.
        callbacks: callbacks for both trainings (e.g. a
            :class:`~occamlab.probes.compression.MaskKeeper` for a sparse subnetwork).
        reestimate_bn: recompute BatchNorm statistics at every point of the path.
    """
    if seeds[0] == seeds[1]:
        raise ValueError("the two copies need different data-order seeds")
    ends, finals = [], []
    for seed in seeds:
        copy = subject.clone(checkpoint)
        result = fit(copy, _with_seed(train, seed), callbacks=list(callbacks))
        ends.append(copy.params())
        finals.append({k: v for k, v in result.final.items() if k not in ("epoch", "step", "lr")})
    path = interpolate(
        subject, ends[0], ends[1], num_points=num_points, limit=limit, reestimate_bn=reestimate_bn
    )
    return ConnectivityResult(seeds=(int(seeds[0]), int(seeds[1])), path=path, final=tuple(finals))


def _with_seed(spec: TrainSpec, seed: int) -> TrainSpec:
    return dataclasses.replace(spec, seed=int(seed))
