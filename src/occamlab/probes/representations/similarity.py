"""``layer_similarity``: layer-by-layer CKA / Procrustes heatmaps and effective ranks.

Within one model (every pair of its layers) or across two (every layer of one against every
layer of the other: different seeds, widths, depths or training stages of a network on the same
data). Activations are collected with forward hooks and streamed over the data: the whole
computation keeps only :class:`FeatureStats` (second moments of all layers side by side), never
the activations, so the minibatch values equal the full-batch ones exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from occamlab.jsonable import jsonable
from occamlab.probes.representations.activations import (
    check_layers,
    default_layers,
    layer_widths,
    stream_activations,
    subject_inputs,
)
from occamlab.probes.representations.cka import cka_from_hsic, hsic_matrix
from occamlab.probes.representations.feature_stats import FeatureStats
from occamlab.probes.representations.procrustes import procrustes_from_stats
from occamlab.probes.representations.rank import EffectiveRank, effective_rank_from_stats
from occamlab.specs import make_spec
from occamlab.subject import Subject


@dataclass(frozen=True)
class SimilaritySpec:
    """Options of :func:`layer_similarity` (and the flags of ``occam probe similarity``).

    Attributes:
        split: the examples the representations are computed on.
        limit: use the first this many examples (0: all of the split).
        batch_size: examples per forward pass.
        layers: comma-separated module names to compare (empty: every activation module and
            the output layer).
        estimator: HSIC estimator of CKA: unbiased (≈ 0 for independent representations) or
            the biased one of Kornblith et al. 2019.
        procrustes: also the orthogonal Procrustes distance of every pair.
        dtype: precision of the batch products (accumulation is float64).
    """

    split: Literal["train", "test"] = "test"
    limit: int = 2000
    batch_size: int = 500
    layers: str = ""
    estimator: Literal["unbiased", "biased"] = "unbiased"
    procrustes: bool = True
    dtype: Literal["float32", "float64"] = "float32"

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"limit must be >= 0 (0: all examples), got {self.limit}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    def layer_names(self) -> list[str] | None:
        names = [n.strip() for n in self.layers.split(",") if n.strip()]
        return names or None


@dataclass(frozen=True)
class SimilarityReport:
    """Layer-by-layer similarity of representations.

    Attributes:
        spec: options used.
        layers_a: layer names of the first model (rows).
        layers_b: layer names of the second model (columns; the first model's own when one
            model was compared with itself).
        cka: ``len(layers_a) × len(layers_b)`` CKA values.
        procrustes: squared Procrustes distances, same shape (None if not asked).
        ranks_a: effective rank of each layer of the first model.
        ranks_b: of the second model (None within one model).
        num_examples: examples the statistics cover.
        seconds: wall time.
    """

    spec: SimilaritySpec
    layers_a: tuple[str, ...]
    layers_b: tuple[str, ...]
    cka: tuple[tuple[float, ...], ...]
    procrustes: tuple[tuple[float, ...], ...] | None
    ranks_a: tuple[EffectiveRank, ...]
    ranks_b: tuple[EffectiveRank, ...] | None
    num_examples: int
    seconds: float

    @property
    def cross_model(self) -> bool:
        return self.ranks_b is not None

    def diagonal(self) -> list[dict[str, Any]]:
        """Matching layers (same position) with their CKA and distance, for tables."""
        rows = []
        for k in range(min(len(self.layers_a), len(self.layers_b))):
            rows.append(
                {
                    "layer (a)": self.layers_a[k],
                    "layer (b)": self.layers_b[k],
                    "cka": self.cka[k][k],
                    "procrustes d²": None if self.procrustes is None else self.procrustes[k][k],
                }
            )
        return rows

    def rank_rows(self) -> list[dict[str, Any]]:
        rows = []
        for model, names, ranks in (
            ("a", self.layers_a, self.ranks_a),
            ("b", self.layers_b, self.ranks_b or ()),
        ):
            for name, r in zip(names, ranks, strict=False):
                rows.append({"model": model, "layer": name, **r.to_dict()})
        return rows

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "spec": self.spec,
                "layers_a": list(self.layers_a),
                "layers_b": list(self.layers_b),
                "cka": self.cka,
                "procrustes": self.procrustes,
                "ranks_a": list(self.ranks_a),
                "ranks_b": None if self.ranks_b is None else list(self.ranks_b),
                "num_examples": self.num_examples,
                "seconds": self.seconds,
            }
        )

    def plot(self):
        """Heatmaps of CKA (and Procrustes d²) between layers; returns the figure."""
        from occamlab.probes.representations.plots import plot_similarity

        return plot_similarity(self)


def layer_similarity(
    subject: Subject,
    other: Subject | None = None,
    *,
    spec: SimilaritySpec | None = None,
    layers: list[str] | None = None,
    other_layers: list[str] | None = None,
    **options: Any,
) -> SimilarityReport:
    """CKA (and Procrustes) between every pair of layers, plus each layer's effective rank.

    Args:
        subject: the (first) model and its data.
        other: a second model compared on ``subject``'s data (None: the first model with itself).
        spec: options (:class:`SimilaritySpec`); keywords override its fields.
        layers: module names of ``subject.model`` (default: ``spec.layers`` or
            :func:`default_layers`).
        other_layers: module names of ``other.model`` (default as for ``layers``).
    """
    spec = make_spec(SimilaritySpec, {**(spec.__dict__ if spec else {}), **options})
    started = time.perf_counter()
    model_a = subject.model
    names_a = check_layers(model_a, layers or spec.layer_names() or default_layers(model_a))
    names_b: list[str] = []
    if other is not None:
        model_b = other.model
        names_b = check_layers(
            model_b, other_layers or spec.layer_names() or default_layers(model_b)
        )
        if tuple(other.data.input_shape) != tuple(subject.data.input_shape):
            raise ValueError(
                f"the two models take different inputs: {tuple(subject.data.input_shape)} vs "
                f"{tuple(other.data.input_shape)}"
            )
    split = subject.split(spec.split)
    if len(split) == 0:
        raise ValueError(f"the {spec.split} split of {subject.data.name!r} is empty")
    example = split.x[:1]
    dims = layer_widths(model_a, example, names_a)
    if other is not None:
        dims += layer_widths(other.model, example, names_b)
    stats = FeatureStats(dims, dtype=spec.dtype)
    limit = spec.limit or None
    stream_a = stream_activations(
        model_a,
        subject_inputs(subject, split=spec.split, limit=limit, batch_size=spec.batch_size),
        names_a,
    )
    if other is None:
        for acts in stream_a:
            stats.update(acts)
    else:
        stream_b = stream_activations(
            other.model,
            subject_inputs(subject, split=spec.split, limit=limit, batch_size=spec.batch_size),
            names_b,
        )
        for acts_a, acts_b in zip(stream_a, stream_b, strict=True):
            stats.update(acts_a + acts_b)
    if stats.n < 4:
        raise ValueError(f"similarity needs at least 4 examples, got {stats.n}")
    count_a = len(names_a)
    cols = range(count_a) if other is None else range(count_a, len(dims))
    cka = cka_from_hsic(hsic_matrix(stats, estimator=spec.estimator))
    cka_rows = tuple(tuple(float(cka[i, j]) for j in cols) for i in range(count_a))
    procrustes = None
    if spec.procrustes:
        # Within one model the distance matrix is symmetric: each pair is computed once.
        distances: dict[tuple[int, int], float] = {}
        for i in range(count_a):
            for j in cols:
                if other is None and (j, i) in distances:
                    distances[i, j] = distances[j, i]
                else:
                    distances[i, j] = _safe(lambda i=i, j=j: procrustes_from_stats(stats, i, j))
        procrustes = tuple(tuple(distances[i, j] for j in cols) for i in range(count_a))
    ranks = [effective_rank_from_stats(stats, i) for i in range(len(dims))]
    return SimilarityReport(
        spec=spec,
        layers_a=tuple(names_a),
        layers_b=tuple(names_a if other is None else names_b),
        cka=cka_rows,
        procrustes=procrustes,
        ranks_a=tuple(ranks[:count_a]),
        ranks_b=None if other is None else tuple(ranks[count_a:]),
        num_examples=stats.n,
        seconds=time.perf_counter() - started,
    )


def _safe(fn) -> float:
    """A pair involving a constant representation has no distance: NaN (None in JSON)."""
    try:
        return fn()
    except ValueError:
        return float("nan")
