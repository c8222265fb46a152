"""A subject's functional complexity: its output decomposed into ALE main effects, and the
measures of Molnar, Casalicchio & Bischl (2019) with Friedman's H statistic for the strongest
features (:func:`complexity_of` for any function of a batch, :func:`functional_complexity` for a
subject)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from occamlab.jsonable import jsonable
from occamlab.probes.complexity.ale import (
    Function,
    ale_curves,
    ale_surface,
    check_inputs,
    evaluate,
    main_effects,
)
from occamlab.probes.complexity.measures import (
    features_used,
    h_statistic,
    interaction_strength,
    main_effect_complexity,
)
from occamlab.specs import make_spec
from occamlab.subject import Subject


@dataclass(frozen=True)
class ComplexitySpec:
    """Options of :func:`functional_complexity` (and the flags of ``occam probe complexity``).

    Attributes:
        output: for a classifier, decompose the class ``probability`` (softmax) or the ``logit``;
            a regression subject's outputs are used as they are.
        target: the output (class) decomposed; None: the class the subject predicts most often
            on the examples. Ignored with ``pool``.
        pool: decompose every output and pool the measures (sums of squares added over outputs).
        bins: quantile bins of each feature's ALE grid.
        epsilon: MEC's tolerance: each main effect is approximated to R² >= 1 − epsilon.
        max_segments: the most linear segments MEC uses for one main effect.
        h_features: Friedman's H² for every pair of this many features, those with the largest
            main-effect variance (0: none).
        h_limit: examples the partial dependences of the H statistic average over (each pair
            costs ``h_limit²`` evaluations).
        curves: main-effect curves kept in the result (the largest variances first).
        tolerance: a feature is used when permuting it moves some output by more than this.
        split: the split whose inputs are the data distribution.
        limit: use the first ``limit`` examples of the split (0: all).
        batch_size: inputs per forward pass.
        seed: seeds the permutations of the NF test and the H statistic's subsample.
    """

    output: Literal["probability", "logit"] = "probability"
    target: int | None = None
    pool: bool = False
    bins: int = 20
    epsilon: float = 0.05
    max_segments: int = 5
    h_features: int = 5
    h_limit: int = 100
    curves: int = 4
    tolerance: float = 0.0
    split: Literal["train", "test"] = "test"
    limit: int = 1000
    batch_size: int = 8192
    seed: int = 0

    def __post_init__(self) -> None:
        if self.output not in ("probability", "logit"):
            raise ValueError(f"output must be probability or logit, got {self.output!r}")
        if self.target is not None and self.target < 0:
            raise ValueError(f"target must be an output index >= 0 (or None), got {self.target}")
        if self.bins < 1 or self.max_segments < 1:
            raise ValueError("bins and max_segments must be >= 1")
        if not 0 < self.epsilon < 1:
            raise ValueError(f"epsilon must be in (0, 1), got {self.epsilon}")
        if self.h_features < 0 or self.curves < 0 or self.tolerance < 0:
            raise ValueError("h_features, curves and tolerance must be >= 0")
        if self.h_limit < 2:
            raise ValueError(f"h_limit must be >= 2, got {self.h_limit}")
        if self.limit < 0 or self.limit == 1 or self.batch_size < 1:
            raise ValueError("limit must be 0 (all) or >= 2, and batch_size >= 1")
        if self.split not in ("train", "test"):
            raise ValueError(f"split must be train or test, got {self.split!r}")


@dataclass(frozen=True)
class FunctionalComplexity:
    """The functional decomposition's measures for one function (or several outputs, pooled).

    Attributes:
        num_features: features of the (flattened) inputs.
        features_used: NF, the features whose permutation changed a prediction.
        used: the indices of those features.
        interaction_strength: IAS, the share of variance the main effects leave unexplained.
        main_effect_complexity: MEC, the variance-weighted mean number of linear pieces
            (plus non-zero slopes, minus one) of the main effects.
        variance: each feature's main-effect variance ``V_j`` (summed over outputs).
        complexity: each feature's ``MEC_j`` (averaged over outputs with weights ``V_jc``).
        curves: the ALE main-effect curves with the largest variances: ``feature``, ``edges``,
            ``effect`` (one list per output), ``complexity``, ``variance``.
        h_features: the features of the H-statistic matrix (largest variances first).
        h2: Friedman's H² for each pair of ``h_features`` (None on the diagonal).
        surface: the second-order ALE of the pair with the largest H² (the first decomposed
            output; at most 10 bins per feature): ``features``, ``edges`` (two grids) and
            ``effect`` (one row per edge of the first feature); None without H statistic.
        outputs: the outputs decomposed.
        output: ``probability``, ``logit`` or ``regression``.
        n: examples the effects average over; ``h_n``: those of the H statistic.
        bins, epsilon, max_segments: the options used.
        split: the split the examples came from.
        seconds: wall time.
    """

    num_features: int
    features_used: int
    used: list[int]
    interaction_strength: float
    main_effect_complexity: float
    variance: list[float]
    complexity: list[float]
    curves: list[dict[str, Any]]
    h_features: list[int]
    h2: list[list[float | None]]
    surface: dict[str, Any] | None
    outputs: list[int]
    output: str
    n: int
    h_n: int
    bins: int
    epsilon: float
    max_segments: int
    split: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))

    def plot(self, ax=None):
        """The main-effect curves of the strongest features (one line per feature and output)."""
        if ax is None:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5.5, 3.8)).subplots()
        for curve in self.curves:
            for c, effect in zip(self.outputs, curve["effect"], strict=True):
                label = f"x{curve['feature']}"
                if len(self.outputs) > 1:
                    label += f" · out {c}"
                ax.plot(curve["edges"], effect, "-", marker=".", label=label)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set(
            xlabel="feature value",
            ylabel=f"ALE main effect ({self.output})",
            title=(
                f"NF={self.features_used}/{self.num_features}, "
                f"IAS={self.interaction_strength:.3f}, MEC={self.main_effect_complexity:.2f}"
            ),
        )
        if self.curves:
            ax.legend(fontsize=7, ncol=2)
        ax.figure.tight_layout()
        return ax

    def plot_surface(self, ax=None):
        """The second-order ALE of the pair with the largest H² (needs ``surface``)."""
        if self.surface is None:
            raise ValueError("no second-order ALE: run with h_features >= 2")
        if ax is None:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib.figure import Figure

            ax = Figure(figsize=(4.8, 3.8)).subplots()
        j, k = self.surface["features"]
        z, w = (np.asarray(e, dtype=float) for e in self.surface["edges"])
        effect = np.asarray(self.surface["effect"], dtype=float)
        top = float(np.abs(effect).max()) or 1.0  # a symmetric scale: white is no interaction
        mesh = ax.pcolormesh(w, z, effect, shading="gouraud", cmap="RdBu_r", vmin=-top, vmax=top)
        ax.figure.colorbar(mesh, ax=ax, label=f"second-order ALE (output {self.outputs[0]})")
        ax.set(xlabel=f"x{k}", ylabel=f"x{j}", title=f"interaction of x{j} and x{k}")
        ax.figure.tight_layout()
        return ax

    def plot_h(self, ax=None):
        """Friedman's H² as a matrix over the strongest features."""
        if ax is None:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib.figure import Figure

            ax = Figure(figsize=(4.6, 3.8)).subplots()
        p = len(self.h_features)
        matrix = np.array([[np.nan if v is None else v for v in row] for row in self.h2])
        image = ax.imshow(matrix.reshape(p, p), cmap="viridis", vmin=0)
        labels = [f"x{j}" for j in self.h_features]
        ax.set_xticks(range(p), labels, fontsize=8)
        ax.set_yticks(range(p), labels, fontsize=8)
        for a in range(p):
            for b in range(p):
                if a != b:
                    ax.text(
                        b, a, f"{matrix[a, b]:.2f}", ha="center", va="center", fontsize=7, color="w"
                    )
        ax.figure.colorbar(image, ax=ax, label="H²")
        ax.set_title(f"Friedman's H² (n={self.h_n})")
        ax.figure.tight_layout()
        return ax


def complexity_of(
    fn: Function,
    x: torch.Tensor,
    *,
    bins: int = 20,
    epsilon: float = 0.05,
    max_segments: int = 5,
    h_features: int = 5,
    h_limit: int = 100,
    curves: int = 4,
    tolerance: float = 0.0,
    batch_size: int = 8192,
    generator: torch.Generator | None = None,
    output: str = "output",
    split: str = "",
) -> FunctionalComplexity:
    """NF, IAS, MEC and H² of ``fn`` (a batch ``(n, d)`` → ``(n, m)``) over the inputs ``x``.

    Costs ``(3d + 1) n`` evaluations (ALE, permutations) plus ``h_limit²`` per H feature and
    pair and ``4 n`` for the second-order ALE of the strongest pair.

    Examples:
        >>> import torch
        >>> x = torch.rand(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> r = complexity_of(lambda b: 2 * b[:, :1] - b[:, 1:2], x, h_features=0)
        >>> r.features_used, round(r.interaction_strength, 12), r.main_effect_complexity
        (2, 0.0, 1.0)
    """
    started = time.perf_counter()
    x = check_inputs(x)
    prediction = evaluate(fn, x, batch_size=batch_size)
    all_curves = ale_curves(fn, x, bins=bins, batch_size=batch_size)
    terms = main_effects(all_curves, x)
    ias, _, _ = interaction_strength(prediction, terms)
    mec, per_mec, weights, _ = main_effect_complexity(
        all_curves, terms, x, epsilon=epsilon, max_segments=max_segments
    )
    used = features_used(
        fn,
        x,
        reference=prediction,
        tolerance=tolerance,
        generator=generator,
        batch_size=batch_size,
    )
    variance = weights.sum(axis=1)
    mec_j = np.divide(
        (weights * per_mec).sum(axis=1), variance, out=np.zeros_like(variance), where=variance > 0
    )
    order = [int(j) for j in np.argsort(-variance, kind="stable")]
    strongest = [j for j in order if variance[j] > 0]
    kept = [
        {
            "feature": j,
            "edges": all_curves[j].edges,
            "effect": all_curves[j].effect.T,
            "complexity": float(mec_j[j]),
            "variance": float(variance[j]),
        }
        for j in strongest[:curves]
    ]
    pairs = strongest[:h_features] if h_features >= 2 else []
    h_n = min(h_limit, len(x))
    if pairs:
        pick = torch.randperm(len(x), generator=generator)[:h_n]
        h2 = h_statistic(fn, x[pick], pairs, batch_size=batch_size)
    else:
        h2 = np.zeros((0, 0))
    surface = None
    if pairs:
        a, b = np.unravel_index(np.nanargmax(np.where(np.isnan(h2), -1.0, h2)), h2.shape)
        pair = (min(pairs[a], pairs[b]), max(pairs[a], pairs[b]))
        s = ale_surface(fn, x, pair, bins=min(bins, 10), batch_size=batch_size)
        surface = {
            "features": list(pair),
            "edges": [s.edges[0], s.edges[1]],
            "effect": s.effect[..., 0],
        }
    return FunctionalComplexity(
        num_features=x.shape[1],
        features_used=int(used.sum()),
        used=[int(j) for j in np.flatnonzero(used)],
        interaction_strength=ias,
        main_effect_complexity=mec,
        variance=variance.tolist(),
        complexity=mec_j.tolist(),
        curves=kept,
        h_features=pairs,
        h2=[
            [None if a == b else float(h2[a, b]) for b in range(len(pairs))]
            for a in range(len(pairs))
        ],
        surface=surface,
        outputs=list(range(prediction.shape[1])),
        output=output,
        n=len(x),
        h_n=h_n if pairs else 0,
        bins=bins,
        epsilon=epsilon,
        max_segments=max_segments,
        split=split,
        seconds=time.perf_counter() - started,
    )


def subject_function(
    subject: Subject, outputs: list[int], *, output: Literal["probability", "logit"]
) -> Function:
    """The subject's network as a function of flattened inputs, restricted to ``outputs``
    (class probabilities or logits for a classifier). Call it inside ``subject.eval_mode()``."""
    shape = subject.data.input_shape
    classification = subject.data.task == "classification"

    def fn(batch: torch.Tensor) -> torch.Tensor:
        out = subject.forward(None, batch.reshape(len(batch), *shape))
        if classification and output == "probability":
            out = torch.softmax(out, dim=-1)
        return out[:, outputs]

    return fn


def functional_complexity(
    subject: Subject, *, spec: ComplexitySpec | None = None, **options: Any
) -> FunctionalComplexity:
    """The functional complexity of ``subject``'s output on a split (options:
    :class:`ComplexitySpec`); the model is evaluated in eval mode and never modified."""
    spec = make_spec(ComplexitySpec, {**(spec.__dict__ if spec else {}), **options})
    data = subject.split(spec.split)
    if not isinstance(data.x, torch.Tensor):
        raise ValueError(
            "functional complexity needs tensor inputs (it permutes input features); "
            f"{subject.data.name!r} has structured inputs"
        )
    n = len(data) if spec.limit == 0 else min(spec.limit, len(data))
    if n < 2:
        raise ValueError(
            f"the {spec.split} split of {subject.data.name!r} has {n} examples; need 2"
        )
    x = data.x[:n].reshape(n, -1)
    m = subject.data.num_outputs
    classification = subject.data.task == "classification"
    with subject.eval_mode():
        if spec.pool:
            outputs = list(range(m))
        elif spec.target is not None:
            if spec.target >= m:
                raise ValueError(
                    f"target {spec.target} is out of range: the subject has {m} outputs"
                )
            outputs = [spec.target]
        elif classification:
            predicted = subject.outputs(spec.split, limit=n).argmax(-1)
            outputs = [int(torch.bincount(predicted, minlength=m).argmax())]
        else:
            outputs = [0]
        fn = subject_function(subject, outputs, output=spec.output)
        result = complexity_of(
            fn,
            x,
            bins=spec.bins,
            epsilon=spec.epsilon,
            max_segments=spec.max_segments,
            h_features=spec.h_features,
            h_limit=spec.h_limit,
            curves=spec.curves,
            tolerance=spec.tolerance,
            batch_size=spec.batch_size,
            generator=torch.Generator().manual_seed(spec.seed),
            output=spec.output if classification else "regression",
            split=spec.split,
        )
    return dataclasses.replace(result, outputs=outputs)


__all__ = [
    "ComplexitySpec",
    "FunctionalComplexity",
    "complexity_of",
    "functional_complexity",
    "subject_function",
]
