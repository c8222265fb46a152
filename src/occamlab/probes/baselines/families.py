"""The simpler model families a network is compared with, each a small grid of scikit-learn
estimators.

A family builds an unfitted estimator from one grid point and counts the numbers a fitted one
needs to predict (:attr:`Family.count`): its coefficients, and for the non-parametric families
the training inputs they keep (k-nearest neighbours and kernel machines predict from them), the
random projection of random features, the split features, thresholds and leaf values of a tree
ensemble, and the feature scaler's means and scales where there is one. That is the count put
beside the network's parameters on the accuracy-vs-parameters frontier.

========================  ==========================================================  ==========
family                    estimator (scikit-learn)                                    grid
========================  ==========================================================  ==========
``linear``                logistic regression (classification) / ridge (regression)   C or α
``knn``                   k-nearest neighbours                                        k
``rbf``                   kernel ridge, Gaussian kernel (one-hot targets)             γ × λ
``ntk``, ``nngp``         kernel ridge with the network's own infinite-width NTK /    λ
                          NNGP (MLPs only: depth and activation read off the module)
``random_features``       random Fourier features + ridge (Rahimi & Recht 2007)       width × α
``boosted_trees``         histogram gradient-boosted trees, early-stopped on an       leaves
                          internal tenth of the training data
========================  ==========================================================  ==========

Inputs are flattened; every family but the tree ensemble and the network's kernels sees them
standardized (the network's kernels see the inputs the network saw).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from torch import nn

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Problem:
    """What every family's estimator needs to know: the task, the input size, the number of
    classes (or regression outputs), the network's architecture for its kernels, and a seed.

    ``kernels`` keeps the network's kernels between the arrays they were computed on, so a
    family computes its kernel once per pair of arrays for all its grid points (each family
    pays for its own kernel: its fit time is honest).
    """

    task: Task
    num_features: int
    num_outputs: int
    seed: int = 0
    architecture: tuple[int, str] | None = None
    kernels: dict[tuple[str, int, int], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def classification(self) -> bool:
        return self.task == "classification"


@dataclass(frozen=True)
class Family:
    """One simpler model family.

    Attributes:
        name: short name (``--families``).
        label: what it is, in words.
        grid: the hyper-parameters tried, chosen on the validation split.
        build: an unfitted estimator for one grid point.
        count: numbers a fitted estimator needs to predict (see the module docstring).
        kernel: a kernel machine (an ``n × n`` kernel: its training examples are capped by
            ``BaselinesSpec.kernel_limit``).
    """

    name: str
    label: str
    grid: tuple[dict[str, Any], ...]
    build: Callable[[dict[str, Any], Problem], Any]
    count: Callable[[Any, Problem], int]
    kernel: bool = False


def mlp_architecture(model: nn.Module) -> tuple[int, str] | None:
    """``(hidden layers, activation)`` of a plain fully connected network, else None.

    A plain MLP's leaf modules are Linear layers, one activation (ReLU, Tanh, or occamlab's
    Erf) after every hidden Linear, and layers without parameters that do not change the
    function in eval mode (flattening, dropout, identity). Anything else (convolutions,
    normalization, other activations) has no closed-form kernel here.
    """
    from occamlab.models.layers import Erf, FlattenInput, SeededDropout

    named = {nn.ReLU: "relu", nn.Tanh: "tanh", Erf: "erf"}
    neutral = (nn.Flatten, FlattenInput, nn.Dropout, SeededDropout, nn.Identity)
    linear, activations = 0, []
    for module in model.modules():
        if next(module.children(), None) is not None:
            continue
        if isinstance(module, nn.Linear):
            linear += 1
        elif type(module) in named:
            activations.append(named[type(module)])
        elif not isinstance(module, neutral):
            return None
    depth = linear - 1
    if depth < 0:
        return None
    if not activations:
        return (depth, "identity")
    if len(set(activations)) != 1 or len(activations) != depth:
        return None
    return (depth, activations[0])


def _network_kernel(which: str, problem: Problem) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import torch

    from occamlab.probes.kernels.analytic import analytic_ntk

    assert problem.architecture is not None
    depth, activation = problem.architecture
    weight_std = 2**0.5 if activation == "relu" else 1.0

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        kept = problem.kernels.get((which, id(a), id(b)))
        if kept is None or kept[0] is not a or kept[1] is not b:
            k = analytic_ntk(
                torch.from_numpy(a),
                torch.from_numpy(b),
                depth=depth,
                activation=activation,
                weight_std=weight_std,
            )
            kept = (a, b, getattr(k, which).numpy())
            problem.kernels[(which, id(a), id(b))] = kept
        return kept[2]

    return kernel


def _scaled(*steps: Any) -> Any:
    """``steps`` after a standardization of the inputs (one scikit-learn pipeline)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), *steps)


def _linear(params: dict[str, Any], p: Problem) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if p.classification:
        return _scaled(LogisticRegression(C=params["C"], max_iter=2000))
    return _scaled(Ridge(alpha=1.0 / params["C"]))


def _knn(params: dict[str, Any], p: Problem) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if p.classification else KNeighborsRegressor
    return _scaled(cls(n_neighbors=params["k"]))


def _rbf(params: dict[str, Any], p: Problem) -> Any:
    from sklearn.metrics.pairwise import rbf_kernel

    gamma = params["gamma"] / p.num_features

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return rbf_kernel(a, b, gamma=gamma)

    classes = p.num_outputs if p.classification else None
    from occamlab.probes.baselines.kernel_machine import KernelMachine

    return _scaled(KernelMachine(kernel, params["ridge"], classes))


def _network(which: str) -> Callable[[dict[str, Any], Problem], Any]:
    def build(params: dict[str, Any], p: Problem) -> Any:
        classes = p.num_outputs if p.classification else None
        from occamlab.probes.baselines.kernel_machine import KernelMachine

        return KernelMachine(_network_kernel(which, p), params["ridge"], classes)

    return build


def _random_features(params: dict[str, Any], p: Problem) -> Any:
    from sklearn.kernel_approximation import RBFSampler
    from sklearn.linear_model import Ridge, RidgeClassifier

    features = RBFSampler(
        gamma=1.0 / p.num_features, n_components=params["width"], random_state=p.seed
    )
    head = (RidgeClassifier if p.classification else Ridge)(alpha=params["alpha"])
    return _scaled(features, head)


def _boosted_trees(params: dict[str, Any], p: Problem) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.multioutput import MultiOutputRegressor

    # A step of 0.2 with patience 5: on digits as accurate as 0.1 with patience 10 (0.969 test
    # accuracy both) at a third of the time (multi-class boosting grows a tree per class).
    options = {
        "max_leaf_nodes": params["leaves"],
        "learning_rate": 0.2,
        "max_iter": 200,
        "early_stopping": True,
        "validation_fraction": 0.1,
        "n_iter_no_change": 5,
        "random_state": p.seed,
    }
    if p.classification:
        return HistGradientBoostingClassifier(**options)
    if p.num_outputs == 1:
        return HistGradientBoostingRegressor(**options)
    return MultiOutputRegressor(HistGradientBoostingRegressor(**options))


def _scaler_numbers(estimator: Any, p: Problem) -> int:
    return 2 * p.num_features if hasattr(estimator, "steps") else 0


def _final(estimator: Any) -> Any:
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _count_linear(estimator: Any, p: Problem) -> int:
    head = _final(estimator)
    return head.coef_.size + np.size(head.intercept_) + _scaler_numbers(estimator, p)


def _count_knn(estimator: Any, p: Problem) -> int:
    n = _final(estimator).n_samples_fit_
    outputs = 1 if p.classification else p.num_outputs
    return n * (p.num_features + outputs) + _scaler_numbers(estimator, p)


def _count_kernel(estimator: Any, p: Problem) -> int:
    machine = _final(estimator)
    return machine.x_.size + machine.model_.dual_coef_.size + _scaler_numbers(estimator, p)


def _count_random_features(estimator: Any, p: Problem) -> int:
    sampler, head = estimator.steps[1][1], estimator.steps[2][1]
    projection = sampler.random_weights_.size + sampler.random_offset_.size
    return projection + head.coef_.size + np.size(head.intercept_) + _scaler_numbers(estimator, p)


def tree_numbers(estimator: Any) -> int:
    """Numbers a fitted histogram gradient-boosted ensemble predicts with: a feature index and
    a threshold per split node, a value per leaf, and the baseline prediction per output."""
    models = getattr(estimator, "estimators_", [estimator])
    total = 0
    for model in models:
        for trees in model._predictors:
            for tree in trees:
                leaves = int(tree.nodes["is_leaf"].sum())
                total += 2 * (len(tree.nodes) - leaves) + leaves
        total += np.size(model._baseline_prediction)
    return total


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "linear",
            "logistic / ridge regression",
            tuple({"C": c} for c in (0.01, 0.1, 1.0, 10.0)),
            _linear,
            _count_linear,
        ),
        Family(
            "knn",
            "k-nearest neighbours",
            tuple({"k": k} for k in (1, 3, 5, 9, 15)),
            _knn,
            _count_knn,
        ),
        Family(
            "rbf",
            "kernel ridge, Gaussian kernel",
            tuple({"gamma": g, "ridge": r} for g in (0.5, 2.0) for r in (1e-3, 1e-1)),
            _rbf,
            _count_kernel,
            kernel=True,
        ),
        Family(
            "ntk",
            "kernel ridge, the network's infinite-width NTK",
            tuple({"ridge": r} for r in (1e-4, 1e-2, 1.0)),
            _network("ntk"),
            _count_kernel,
            kernel=True,
        ),
        Family(
            "nngp",
            "kernel ridge, the network's infinite-width NNGP",
            tuple({"ridge": r} for r in (1e-4, 1e-2, 1.0)),
            _network("nngp"),
            _count_kernel,
            kernel=True,
        ),
        Family(
            "random_features",
            "random Fourier features + ridge",
            tuple({"width": w, "alpha": a} for w in (512, 4096) for a in (1e-2, 1.0)),
            _random_features,
            _count_random_features,
        ),
        Family(
            "boosted_trees",
            "gradient-boosted trees",
            tuple({"leaves": n} for n in (7, 31)),
            _boosted_trees,
            lambda estimator, p: tree_numbers(estimator),
        ),
    )
}

NETWORK_KERNELS = ("ntk", "nngp")


__all__ = ["FAMILIES", "Family", "Problem", "mlp_architecture", "tree_numbers"]
