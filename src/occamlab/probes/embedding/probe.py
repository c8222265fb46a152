"""``embedding_probe``: a 2-D map of each layer's representation of a seeded subset of a split,
coloured by label, for the subject as it is and (optionally) for checkpoints along a retraining
of a copy of it.

Activations come from :func:`~occamlab.probes.representations.stream_activations` (forward hooks,
eval mode, no gradients; the subject is never modified). Each map is summarized by two numbers:
the leave-one-out accuracy of a 5-nearest-neighbour vote on the map's coordinates (how well the
picture separates the classes; None for regression) and the map's trustworthiness (Venna &
Kaski 2001; sklearn.manifold.trustworthiness: 1 when the map's 5 nearest neighbours of every
point were near it in the layer too). Along training, each checkpoint's map is rotated (or
reflected) onto the previous one by orthogonal Procrustes, so the pictures move only as much as
the representation does; the squared Procrustes distance between successive representations
(:func:`~occamlab.probes.representations.procrustes_distance`) says how much that is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import torch

from occamlab.jsonable import jsonable
from occamlab.probes.embedding.methods import MapOptions, Method, embed
from occamlab.probes.representations.activations import (
    check_layers,
    default_layers,
    stream_activations,
)
from occamlab.probes.representations.procrustes import procrustes_distance
from occamlab.specs import make_spec
from occamlab.subject import Subject
from occamlab.train.loop import Callback

INPUT = "input"
_VOTERS = 5


@dataclass(frozen=True)
class EmbeddingSpec:
    """Options of :func:`embedding_probe` (and the flags of ``occam probe embedding``).

    Attributes:
        method: diffusion (Coifman & Lafon 2006), pca, isomap, tsne or umap (umap-learn).
        layers: comma-separated module names (empty: every activation module and the output).
        inputs: also map the raw inputs (the layer named ``input``).
        split: the split the examples are drawn from.
        n: examples mapped, drawn without replacement with ``seed`` (0: the whole split).
        components: coordinates per map (the pictures show the first two).
        alpha: diffusion maps' density normalization α (1: Laplace–Beltrami).
        epsilon: diffusion maps' kernel scale ε (0: Berry–Giannakis–Harlim choice).
        kernel: diffusion maps' kernel: knn (sparse) or dense.
        neighbors: neighbours of the kNN kernel, Isomap and UMAP.
        bandwidth: diffusion maps' bandwidth: fixed or variable (Berry & Harlim 2016; the
            default, because on a network's representations a fixed bandwidth leaves a few
            outlying points weakly connected and the leading eigenfunctions localize on them).
        time: diffusion time t of the coordinates ``e^{tλ} ψ``.
        perplexity: t-SNE's perplexity.
        min_dist: UMAP's minimum distance.
        epochs: retrain a copy of the subject for this many epochs and map every ``every``-th
            epoch's representations (0: only the subject as it is).
        every: epochs between the maps along training.
        reinit: start the retraining from a fresh initialization (drawn from seed).
        lr: Adam learning rate of the retraining.
        batch_size: minibatch size of the retraining (and of the forward passes).
        seed: draws the examples, the stochastic maps, the fresh initialization and data order.
    """

    method: Method = "diffusion"
    layers: str = ""
    inputs: bool = True
    split: Literal["train", "test"] = "test"
    n: int = 500
    components: int = 2
    alpha: float = 1.0
    epsilon: float = 0.0
    kernel: Literal["knn", "dense"] = "knn"
    neighbors: int = 15
    bandwidth: Literal["fixed", "variable"] = "variable"
    time: float = 0.0
    perplexity: float = 30.0
    min_dist: float = 0.1
    epochs: int = 0
    every: int = 1
    reinit: bool = True
    lr: float = 1e-3
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        from occamlab.probes.embedding.methods import METHODS

        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; valid: {', '.join(METHODS)}")
        if self.n < 0 or 0 < self.n < 3:
            raise ValueError(f"n must be >= 3 (or 0: the whole split), got {self.n}")
        if self.components < 1:
            raise ValueError(f"components must be >= 1, got {self.components}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.epsilon < 0 or self.time < 0:
            raise ValueError("epsilon (0: automatic) and time must be >= 0")
        if self.neighbors < 2 or self.perplexity <= 0 or self.min_dist < 0:
            raise ValueError("need neighbors >= 2, perplexity > 0 and min_dist >= 0")
        if self.epochs < 0 or self.every < 1 or self.lr <= 0 or self.batch_size < 1:
            raise ValueError("need epochs >= 0, every >= 1, lr > 0 and batch_size >= 1")
        if self.split not in ("train", "test"):
            raise ValueError(f"split must be train or test, got {self.split!r}")

    def layer_names(self) -> list[str] | None:
        names = [n.strip() for n in self.layers.split(",") if n.strip()]
        return names or None

    def map_options(self) -> MapOptions:
        """The map's options: the fields of :class:`MapOptions`, read off this spec."""
        return MapOptions(**{f.name: getattr(self, f.name) for f in fields(MapOptions)})


@dataclass(frozen=True)
class LayerMap:
    """One layer's map at one checkpoint.

    Attributes:
        layer: module name (``input`` for the raw inputs).
        epoch: the checkpoint's epoch (None: the subject as it is).
        features: the representation's width.
        coordinates: ``(n, components)`` map coordinates.
        eigenvalues: of the spectral maps (diffusion: λ₁ ≥ λ₂ … of L; PCA: variances).
        knn_accuracy: leave-one-out 5-NN accuracy of the labels on the map (None: regression).
        trustworthiness: of the map against the representation (5 neighbours).
        procrustes_to_previous: squared Procrustes distance of the representation to the previous
            checkpoint's (None at the first).
    """

    layer: str
    epoch: int | None
    features: int
    coordinates: np.ndarray
    eigenvalues: np.ndarray | None
    knn_accuracy: float | None
    trustworthiness: float
    procrustes_to_previous: float | None = None

    def summary(self) -> dict[str, Any]:
        """The numbers without the coordinates."""
        return {
            "layer": self.layer,
            "epoch": self.epoch,
            "features": self.features,
            "eigenvalues": None if self.eigenvalues is None else self.eigenvalues.tolist(),
            "knn_accuracy": self.knn_accuracy,
            "trustworthiness": self.trustworthiness,
            "procrustes_to_previous": self.procrustes_to_previous,
        }


@dataclass(frozen=True)
class EmbeddingReport:
    """The maps of every layer now (``maps``) and along training (``trajectory``).

    Attributes:
        spec: options used.
        layers: layer names, in forward order (``input`` first when mapped).
        indices: the examples mapped (positions in the split).
        labels: their labels (class indices, or regression targets' first column).
        classification: whether ``labels`` are classes.
        maps: one :class:`LayerMap` per layer for the subject as it is.
        trajectory: one per (checkpoint, layer) of the retraining, epoch by epoch.
        seconds: wall time.
    """

    spec: EmbeddingSpec
    layers: list[str]
    indices: list[int]
    labels: list[float]
    classification: bool
    maps: list[LayerMap]
    trajectory: list[LayerMap]
    seconds: float

    def epochs(self) -> list[int]:
        """The checkpoints' epochs along the retraining (empty without one)."""
        return sorted({m.epoch for m in self.trajectory if m.epoch is not None})

    def to_dict(self) -> dict[str, Any]:
        def full(m: LayerMap) -> dict[str, Any]:
            return {**m.summary(), "coordinates": m.coordinates.tolist()}

        return jsonable(
            {
                "spec": self.spec,
                "layers": self.layers,
                "n": len(self.indices),
                "indices": self.indices,
                "labels": self.labels,
                "classification": self.classification,
                "maps": [full(m) for m in self.maps],
                "trajectory": [full(m) for m in self.trajectory],
                "evaluated_in_eval_mode": True,
                "seconds": self.seconds,
            }
        )

    def plot(self, ax=None):
        """One panel per layer of the maps now (``ax`` ignored: the figure has its own grid)."""
        from occamlab.probes.embedding.plots import draw_maps

        return draw_maps(self.to_dict(), trajectory=False)

    def plot_trajectory(self):
        """Layers (rows) by checkpoints (columns) along the retraining."""
        from occamlab.probes.embedding.plots import draw_maps

        if not self.trajectory:
            raise ValueError("no trajectory: run the probe with epochs > 0")
        return draw_maps(self.to_dict(), trajectory=True)


def _subset(subject: Subject, spec: EmbeddingSpec) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    split = subject.split(spec.split)
    if not isinstance(split.x, torch.Tensor):
        raise ValueError("the embedding probe reads tensor inputs; this subject's inputs are not")
    total = len(split)
    if total < 3:
        raise ValueError(f"the {spec.split} split has {total} examples; a map needs at least 3")
    n = total if spec.n == 0 else min(spec.n, total)
    order = torch.randperm(total, generator=torch.Generator().manual_seed(spec.seed))
    indices = sorted(order[:n].tolist())
    return split.x[indices], split.y[indices], indices


def _activations(model, x: torch.Tensor, layers: list[str], batch: int) -> list[np.ndarray]:
    chunks = [x[i : i + batch] for i in range(0, len(x), batch)]
    parts = list(stream_activations(model, chunks, layers))
    return [torch.cat([p[j] for p in parts]).double().numpy() for j in range(len(layers))]


def _knn_accuracy(coordinates: np.ndarray, labels: np.ndarray) -> float:
    """Leave-one-out accuracy of a 5-nearest-neighbour majority vote (ties: smallest class)."""
    from scipy.spatial.distance import cdist

    d = cdist(coordinates, coordinates)
    np.fill_diagonal(d, np.inf)
    voters = min(_VOTERS, len(labels) - 1)
    near = np.argsort(d, axis=1, kind="stable")[:, :voters]
    classes = int(labels.max()) + 1
    votes = np.zeros((len(labels), classes))
    np.add.at(votes, (np.repeat(np.arange(len(labels)), voters), labels[near].ravel()), 1.0)
    return float((votes.argmax(axis=1) == labels).mean())


def _layer_map(
    name: str,
    rep: np.ndarray,
    labels: np.ndarray,
    spec: EmbeddingSpec,
    *,
    classification: bool,
    epoch: int | None,
) -> LayerMap:
    from sklearn.manifold import trustworthiness

    if not np.isfinite(rep).all():
        raise ValueError(f"layer {name!r} has NaN or infinite activations; check the model")
    features = int(rep.shape[1])
    if features < spec.components:  # e.g. a regression output: (value, 0) on the plane
        rep = np.pad(rep, ((0, 0), (0, spec.components - features)))
    m = embed(rep, spec.method, spec.map_options())
    neighbours = min(_VOTERS, (len(rep) - 1) // 2)
    return LayerMap(
        layer=name,
        epoch=epoch,
        features=features,
        coordinates=m.coordinates,
        eigenvalues=m.eigenvalues,
        knn_accuracy=_knn_accuracy(m.coordinates, labels) if classification else None,
        trustworthiness=float(trustworthiness(rep, m.coordinates, n_neighbors=neighbours)),
    )


def align(coordinates: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``coordinates`` rotated or reflected (about its mean) to best match ``reference``
    (orthogonal Procrustes; Schönemann 1966), keeping its scale and centre."""
    from scipy.linalg import orthogonal_procrustes

    mean = coordinates.mean(axis=0)
    q, _ = orthogonal_procrustes(coordinates - mean, reference - reference.mean(axis=0))
    return (coordinates - mean) @ q + mean


class _Recorder(Callback):
    """A training callback keeping each layer's activations every ``every`` epochs."""

    def __init__(self, x: torch.Tensor, layers: list[str], every: int, batch: int):
        self.x, self.layers, self.every, self.batch = x, layers, every, batch
        self.records: list[tuple[int, list[np.ndarray]]] = []

    def _keep(self, model, epoch: int) -> None:
        self.records.append((epoch, _activations(model, self.x, self.layers, self.batch)))

    def on_train_begin(self, state) -> None:
        self._keep(state.subject.model, 0)

    def on_epoch_end(self, state) -> None:
        if state.epoch % self.every == 0 or state.epoch == state.spec.epochs:
            self._keep(state.subject.model, state.epoch)


def _trajectory(
    subject: Subject, x: torch.Tensor, labels: np.ndarray, layers: list[str], spec: EmbeddingSpec
) -> list[LayerMap]:
    from occamlab.train.replay import retrain_copy

    recorder = _Recorder(x, layers, spec.every, spec.batch_size)
    retrain_copy(
        subject,
        epochs=spec.epochs,
        lr=spec.lr,
        batch_size=spec.batch_size,
        seed=spec.seed,
        reinit=spec.reinit,
        callbacks=[recorder],
    )
    out: list[LayerMap] = []
    previous: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    classification = subject.data.task == "classification"
    for epoch, reps in recorder.records:
        for name, rep in zip(layers, reps, strict=True):
            m = _layer_map(name, rep, labels, spec, classification=classification, epoch=epoch)
            distance = None
            if name in previous:
                before_rep, before_map = previous[name]
                coordinates = align(m.coordinates, before_map)
                distance = procrustes_distance(
                    torch.from_numpy(rep), torch.from_numpy(before_rep), dtype="float64"
                )
                m = LayerMap(
                    layer=m.layer,
                    epoch=m.epoch,
                    features=m.features,
                    coordinates=coordinates,
                    eigenvalues=m.eigenvalues,
                    knn_accuracy=m.knn_accuracy,
                    trustworthiness=m.trustworthiness,
                    procrustes_to_previous=distance,
                )
            previous[name] = (rep, m.coordinates)
            out.append(m)
    return out


def embedding_probe(
    subject: Subject, *, spec: EmbeddingSpec | None = None, **options: Any
) -> EmbeddingReport:
    """Maps of ``subject``'s layer representations (options: :class:`EmbeddingSpec`); with
    ``epochs > 0`` also of a retrained copy every ``every`` epochs, aligned by Procrustes."""
    spec = make_spec(EmbeddingSpec, {**(spec.__dict__ if spec else {}), **options})
    started = time.perf_counter()
    model = subject.model
    names = spec.layer_names()
    if names is not None and INPUT in names:
        raise ValueError(f"{INPUT!r} is not a module: use --inputs to map the raw inputs")
    hidden = check_layers(model, names) if names is not None else default_layers(model)
    layers = ([INPUT] if spec.inputs else []) + hidden
    x, y, indices = _subset(subject, spec)
    classification = subject.data.task == "classification"
    labels = y.numpy() if classification else y.reshape(len(y), -1)[:, 0].double().numpy()
    reps = _activations(model, x, hidden, spec.batch_size)
    if spec.inputs:
        reps.insert(0, x.reshape(len(x), -1).double().numpy())
    maps = [
        _layer_map(name, rep, labels, spec, classification=classification, epoch=None)
        for name, rep in zip(layers, reps, strict=True)
    ]
    # The inputs do not change along training: the trajectory maps the modules only.
    trajectory = _trajectory(subject, x, labels, hidden, spec) if spec.epochs else []
    return EmbeddingReport(
        spec=spec,
        layers=layers,
        indices=indices,
        labels=[float(v) for v in labels] if not classification else [int(v) for v in labels],
        classification=classification,
        maps=maps,
        trajectory=trajectory,
        seconds=time.perf_counter() - started,
    )


__all__ = ["INPUT", "EmbeddingReport", "EmbeddingSpec", "LayerMap", "align", "embedding_probe"]
