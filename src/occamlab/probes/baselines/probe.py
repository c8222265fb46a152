"""``baselines``: the subject's network against simpler model families fitted on its own data.

Each family (:data:`~occamlab.probes.baselines.families.FAMILIES`) tries its small grid on a
validation split of the *training* examples, keeps the best grid point, is refitted on all the
training examples and scored once on the test split, where it is compared with the network by a
paired test (:mod:`~occamlab.probes.baselines.paired`). The answer names the smallest family
within ``tolerance`` of the network, or, if none is, the best one and by how much the network
wins.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from occamlab.data.base import Data, Split
from occamlab.data.holdout import split_train
from occamlab.jsonable import jsonable
from occamlab.probes.baselines.families import (
    FAMILIES,
    NETWORK_KERNELS,
    Family,
    Problem,
    mlp_architecture,
)
from occamlab.probes.baselines.paired import PairedTest, mcnemar, paired_loss_test
from occamlab.probes.compression.frontier import score, within
from occamlab.specs import spec_to_dict
from occamlab.subject import Subject, loss_value

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class BaselinesSpec:
    """Options of :func:`baselines` (and the flags of ``occam probe baselines``).

    Attributes:
        families: comma-separated family names, or ``all`` (the network's own kernels only
            when it is a plain MLP; asking for them by name on another network is an error).
        validation: share of the training examples held out to choose each family's
            hyper-parameters (never the test split).
        limit: training examples the baselines see (0: all; a seeded random subset otherwise).
        kernel_limit: at most this many of them for the kernel machines, whose ``n × n``
            kernel grows with the square of the examples (0: no cap; a seeded random subset).
        tolerance: largest drop of test accuracy still "as good as the network" (regression:
            largest relative rise of the test loss).
        seed: seeds the validation split, the subset and the randomized families.
    """

    families: str = "all"
    validation: float = 0.2
    limit: int = 0
    kernel_limit: int = 5000
    tolerance: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.names) - set(FAMILIES)
        checks = [
            (not unknown, f"unknown families {sorted(unknown)}; valid: all, {', '.join(FAMILIES)}"),
            (bool(self.names), "families must name at least one family (or all)"),
            (0 < self.validation < 1, f"validation must be in (0, 1), got {self.validation}"),
            (self.limit >= 0, f"limit must be >= 0 (0: all), got {self.limit}"),
            (
                self.kernel_limit >= 0,
                f"kernel_limit must be >= 0 (0: all), got {self.kernel_limit}",
            ),
            (0 <= self.tolerance < 1, f"tolerance must be in [0, 1), got {self.tolerance}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def names(self) -> tuple[str, ...]:
        if self.families.strip() == "all":
            return tuple(FAMILIES)
        return tuple(n.strip() for n in self.families.split(",") if n.strip())


@dataclass(frozen=True)
class BaselinesResult:
    """Simpler families against the network.

    Attributes:
        network: the network's frontier point (``num_parameters``, ``test_accuracy``,
            ``test_loss``).
        fits: one dict per family: ``name``, ``label``, ``setting`` (the chosen grid point),
            ``validation_score`` (accuracy, or minus the loss), ``fitted_on`` (training examples
            of the final fit), ``test_accuracy``,
            ``test_loss`` (regression), ``num_parameters`` (numbers it predicts with),
            ``fraction`` (of the network's parameters), ``fit_seconds`` (CPU seconds of the
            final fit), ``search_seconds`` (CPU seconds of the grid search and final fit),
            ``grid`` (points tried) and ``paired`` (its paired test against the network).
        named: the family the answer names.
        matched: whether it is within tolerance of the network.
        answer: the finding in one sentence.
        notes: families skipped and why.
        num_train, num_validation, num_test: examples fitted on, validated on, tested on.
        spec: the options.
        seconds: wall time.
    """

    network: dict[str, Any]
    fits: list[dict[str, Any]]
    named: str
    matched: bool
    answer: str
    notes: list[str]
    num_train: int
    num_validation: int
    num_test: int
    spec: BaselinesSpec = field(default_factory=BaselinesSpec)
    seconds: float = 0.0

    def fit(self, name: str) -> dict[str, Any]:
        """The fit of family ``name``."""
        for f in self.fits:
            if f["name"] == name:
                return f
        raise KeyError(f"no baseline {name!r}; fitted: {[f['name'] for f in self.fits]}")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return jsonable({**data, "spec": spec_to_dict(self.spec)})

    def plot(self, axes: Any = None) -> Any:
        from occamlab.probes.baselines.page import plot_baselines

        return plot_baselines(self.to_dict(), axes=axes)


def _numpy(split: Split, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    x = split.x.reshape(len(split.x), -1).double().numpy()
    y = split.y.numpy() if classification else split.y.double().reshape(len(split.y), -1).numpy()
    return x, y


def _families(spec: BaselinesSpec, architecture: tuple[int, str] | None) -> tuple[list, list]:
    explicit = spec.families.strip() != "all"
    chosen, notes = [], []
    for name in spec.names:
        if name in NETWORK_KERNELS and architecture is None:
            message = (
                f"{name}: the network is not a plain MLP (Linear layers and one ReLU/tanh/erf "
                "activation), so it has no closed-form kernel here"
            )
            if explicit:
                raise ValueError(message + "; leave it out of --families")
            notes.append(message + "; skipped")
            continue
        chosen.append(FAMILIES[name])
    return chosen, notes


def _predict(estimator: Any, x: np.ndarray, problem: Problem) -> np.ndarray:
    out = estimator.predict(x)
    return out if problem.classification else out.reshape(len(x), problem.num_outputs)


def _targets(y: np.ndarray, problem: Problem) -> np.ndarray:
    return y.ravel() if not problem.classification and problem.num_outputs == 1 else y


def _search(
    family: Family,
    problem: Problem,
    fit: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    full: tuple[np.ndarray, np.ndarray],
    measure: Callable[[np.ndarray, np.ndarray], float],
) -> tuple[Any, dict[str, Any], float, float]:
    """Choose the grid point with the best validation score, refit it on all the training
    examples; return the fitted estimator, its grid point, validation score and fit seconds.

    A grid point scikit-learn refuses on data this small (more neighbours than examples, an
    early-stopping split without every class) is skipped; if it refuses all of them, the
    ``ValueError`` says why."""
    best, best_score, refusal = None, -np.inf, None
    for point in family.grid:
        try:
            estimator = family.build(point, problem).fit(fit[0], _targets(fit[1], problem))
        except ValueError as error:
            refusal = error
            continue
        value = measure(_predict(estimator, val[0], problem), val[1])
        if best is None or value > best_score:
            best, best_score = point, value
    if best is None:
        raise ValueError(f"{len(fit[0])} training examples are too few: {refusal}")
    started = time.process_time()
    estimator = family.build(best, problem).fit(full[0], _targets(full[1], problem))
    return estimator, best, float(best_score), time.process_time() - started


def baselines(
    subject: Subject,
    *,
    spec: BaselinesSpec | None = None,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> BaselinesResult:
    """Fit simpler model families on the subject's training data and compare them with it.

    Args:
        subject: a trained subject (evaluated in eval mode; never modified).
        spec: options (:class:`BaselinesSpec`), or pass its fields as keyword ``options``.
        log: called with a short line as each family starts.

    Examples:
        >>> from occamlab import TrainSpec, fit, make_subject
        >>> s = make_subject(model="mlp", data="gaussian_mixture", model_options={"width": 16},
        ...                  data_options={"num_train": 200, "num_test": 100})
        >>> _ = fit(s, TrainSpec(epochs=20))
        >>> r = baselines(s, families="linear,knn")
        >>> [f["name"] for f in r.fits]
        ['linear', 'knn']
    """
    if spec is not None and options:
        raise TypeError(f"pass either spec or its fields, not both (got {sorted(options)})")
    spec = spec or BaselinesSpec(**options)
    say = log or (lambda _line: None)
    started = time.perf_counter()
    data = subject.data
    classification = data.task == "classification"
    if spec.limit and spec.limit < len(data.train):
        data, _ = split_train(data, fraction=spec.limit / len(data.train), seed=spec.seed)
    architecture = mlp_architecture(subject.model)
    families, notes = _families(spec, architecture)

    def parts(source: Data) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """All the training examples, the part fitted on and the validation part."""
        fit_part, val_part = split_train(source, fraction=1 - spec.validation, seed=spec.seed)
        return tuple(_numpy(d.train, classification) for d in (source, fit_part, val_part))

    train, fit, val = plain = parts(data)
    kernel_parts, n = plain, len(data.train)
    if spec.kernel_limit and spec.kernel_limit < n and any(f.kernel for f in families):
        capped, _ = split_train(data, fraction=spec.kernel_limit / n, seed=spec.seed)
        kernel_parts = parts(capped)
        names = ", ".join(f.name for f in families if f.kernel)
        notes.append(
            f"{names}: fitted on a random {len(capped.train):,} of the {n:,} training examples "
            "(an n × n kernel; kernel_limit 0 uses all)"
        )
    test_x, test_y = _numpy(data.test, classification)
    problem = Problem(data.task, train[0].shape[1], data.num_outputs, spec.seed, architecture)

    outputs = subject.outputs("test")
    if classification:
        net_right = (outputs.argmax(dim=-1) == data.test.y).numpy()
        network = {"test_accuracy": float(net_right.mean())}
    else:
        net_losses = loss_value(outputs, data.test.y, subject.loss, reduction="none").numpy()
        network = {"test_accuracy": None, "test_loss": float(net_losses.mean())}
    network["num_parameters"] = subject.num_parameters

    def per_example(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
        if classification:
            return pred == y
        out, target = torch.from_numpy(pred), torch.from_numpy(y)
        return -loss_value(out, target, subject.loss, reduction="none").numpy()

    def measure(pred: np.ndarray, y: np.ndarray) -> float:
        return float(per_example(pred, y).mean())

    fits = []
    for family in families:
        say(f"baselines: {family.label}")
        begun = time.process_time()
        full, part, held = kernel_parts if family.kernel else plain
        try:
            estimator, point, val_score, fit_seconds = _search(
                family, problem, part, held, full, measure
            )
        except ValueError as error:
            notes.append(f"{family.name}: skipped: {error}")
            continue
        scores = per_example(_predict(estimator, test_x, problem), test_y)
        paired: PairedTest = (
            mcnemar(net_right, scores) if classification else paired_loss_test(net_losses, -scores)
        )
        count = int(family.count(estimator, problem))
        fits.append(
            {
                "name": family.name,
                "label": family.label,
                "setting": ", ".join(f"{k} {v:g}" for k, v in point.items()),
                "validation_score": val_score,
                "fitted_on": len(full[0]),
                "test_accuracy": float(scores.mean()) if classification else None,
                "test_loss": None if classification else float(-scores.mean()),
                "num_parameters": count,
                "fraction": count / network["num_parameters"],
                "fit_seconds": fit_seconds,
                "search_seconds": time.process_time() - begun,
                "grid": len(family.grid),
                "paired": paired.to_dict(),
            }
        )
    if not fits:
        raise ValueError("no baseline family could be fitted: " + "; ".join(notes))
    named, matched = choose(fits, network, spec.tolerance)
    return BaselinesResult(
        network=network,
        fits=fits,
        named=named["name"],
        matched=matched,
        answer=answer(named, matched, network, spec.tolerance),
        notes=notes,
        num_train=len(fit[0]),
        num_validation=len(val[0]),
        num_test=len(test_x),
        spec=spec,
        seconds=time.perf_counter() - started,
    )


def choose(
    fits: list[dict[str, Any]], network: dict[str, Any], tolerance: float
) -> tuple[dict[str, Any], bool]:
    """The family to name: the one with the fewest parameters among those within tolerance of
    the network (and whether there is one), else the best-scoring one.

    >>> net = {"test_accuracy": 0.9, "num_parameters": 100}
    >>> fits = [{"name": "a", "test_accuracy": 0.895, "num_parameters": 50},
    ...         {"name": "b", "test_accuracy": 0.95, "num_parameters": 80}]
    >>> choose(fits, net, 0.01)[0]["name"], choose(fits, net, 0.001)[0]["name"]
    ('a', 'b')
    """
    good = [f for f in fits if within(f, network, tolerance)]
    if good:
        return min(good, key=lambda f: (f["num_parameters"], -score(f))), True
    return max(fits, key=score), False


def _size(fit: dict[str, Any], network: dict[str, Any]) -> str:
    ratio = fit["num_parameters"] / network["num_parameters"]
    share = f"{ratio:.1%} of" if ratio < 1 else f"{ratio:.1f}×"
    return (
        f"{fit['num_parameters']:,} numbers ({share} the network's {network['num_parameters']:,})"
    )


def _examples(n: int) -> str:
    return f"{n} test example{'s' * (n != 1)}"


def answer(named: dict[str, Any], matched: bool, network: dict[str, Any], tolerance: float) -> str:
    """The finding in one sentence, every clause chosen by the numbers."""
    classification = network.get("test_accuracy") is not None
    test = named["paired"]
    metric = "test accuracy" if classification else "test loss"
    key = "test_accuracy" if classification else "test_loss"
    what = f"{named['label']} ({named['setting']})"
    values = f"{metric} {named[key]:.4g} against the network's {network[key]:.4g}"
    if classification:
        evidence = (
            f"exact McNemar test p = {test['p_value']:.2g}: {_examples(test['a_only'])} only "
            f"the network gets right, {test['b_only']} only the baseline"
        )
    else:
        evidence = f"paired t-test on per-example losses p = {test['p_value']:.2g}"
    if matched:
        return (
            f"Yes, a simpler family already matches the network within the tolerance of "
            f"{tolerance:g}: {what} reaches {values}, with {_size(named, network)}, fitted in "
            f"{named['fit_seconds']:.2g} s of CPU ({evidence})."
        )
    gap = test["difference"]
    if test["p_value"] < SIGNIFICANCE:
        return (
            f"No simpler family matches the network: the best, {what}, reaches {values}; the "
            f"network wins by {gap:.3g} ({evidence})."
        )
    return (
        f"No simpler family is within the tolerance of {tolerance:g}, but the network's lead of "
        f"{gap:.3g} over the best, {what} ({values}), is not significant ({evidence})."
    )


__all__ = ["BaselinesResult", "BaselinesSpec", "answer", "baselines", "choose"]
