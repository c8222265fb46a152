"""One registry of the maps: diffusion maps (ours), PCA, Isomap and t-SNE (scikit-learn) and
UMAP (umap-learn, the optional ``embedding`` extra). Each takes float64 points ``(n, features)``
and returns ``(n, components)`` coordinates with fixed signs (largest-magnitude entry of each
column positive) and, for the spectral maps, their eigenvalues."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from occamlab.probes.embedding.diffusion import diffusion_map

Method = Literal["diffusion", "pca", "isomap", "tsne", "umap"]
METHODS: tuple[str, ...] = ("diffusion", "pca", "isomap", "tsne", "umap")


@dataclass(frozen=True)
class MapOptions:
    """The options every map reads (the probe's spec passes them through)."""

    components: int = 2
    alpha: float = 1.0
    epsilon: float = 0.0
    kernel: Literal["knn", "dense"] = "knn"
    neighbors: int = 15
    bandwidth: Literal["fixed", "variable"] = "fixed"
    time: float = 0.0
    perplexity: float = 30.0
    min_dist: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class Map:
    """Coordinates of one map, and the eigenvalues of the spectral ones (else None)."""

    coordinates: np.ndarray
    eigenvalues: np.ndarray | None = None


def fix_signs(coordinates: np.ndarray) -> np.ndarray:
    """Flip each column so that its largest-magnitude entry is positive."""
    top = np.abs(coordinates).argmax(axis=0)
    signs = np.sign(coordinates[top, np.arange(coordinates.shape[1])])
    return coordinates * np.where(signs == 0, 1.0, signs)


def _diffusion(x: np.ndarray, o: MapOptions) -> Map:
    m = diffusion_map(
        x,
        components=o.components,
        alpha=o.alpha,
        epsilon=o.epsilon or None,
        kernel=o.kernel,
        k=o.neighbors,
        bandwidth=o.bandwidth,
        time=o.time,
        seed=o.seed,
    )
    return Map(m.coordinates, m.eigenvalues)


def _pca(x: np.ndarray, o: MapOptions) -> Map:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=o.components, svd_solver="full")
    return Map(fix_signs(pca.fit_transform(x)), pca.explained_variance_)


def _isomap(x: np.ndarray, o: MapOptions) -> Map:
    from sklearn.manifold import Isomap

    return Map(
        fix_signs(Isomap(n_neighbors=o.neighbors, n_components=o.components).fit_transform(x))
    )


def _tsne(x: np.ndarray, o: MapOptions) -> Map:
    from sklearn.manifold import TSNE

    if o.perplexity >= len(x):
        raise ValueError(
            f"t-SNE's perplexity ({o.perplexity}) must be below the number of points ({len(x)})"
        )
    tsne = TSNE(
        n_components=o.components,
        perplexity=o.perplexity,
        init="pca",
        random_state=o.seed,
    )
    return Map(fix_signs(tsne.fit_transform(x)))


def _umap(x: np.ndarray, o: MapOptions) -> Map:
    import warnings

    try:
        with warnings.catch_warnings():
            # umap-learn warns on import that its TensorFlow variant is unavailable: not used.
            warnings.simplefilter("ignore", ImportWarning)
            import umap
    except ImportError:
        raise ImportError(
            "UMAP needs umap-learn: install occamlab[embedding] (pip install 'umap-learn>=0.5')"
        ) from None
    with warnings.catch_warnings():
        # umap-learn warns that a fixed random_state disables its parallelism: that is asked.
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        reducer = umap.UMAP(
            n_components=o.components,
            n_neighbors=o.neighbors,
            min_dist=o.min_dist,
            random_state=o.seed,
        )
        return Map(fix_signs(np.asarray(reducer.fit_transform(x), dtype=np.float64)))


_REGISTRY: dict[str, Callable[[np.ndarray, MapOptions], Map]] = {
    "diffusion": _diffusion,
    "pca": _pca,
    "isomap": _isomap,
    "tsne": _tsne,
    "umap": _umap,
}


def embed(x: Any, method: Method = "diffusion", options: MapOptions | None = None) -> Map:
    """The ``method`` map of the rows of ``x`` (float64).

    Three points on the diagonal: one principal axis, variance 2, coordinates −√2, 0, √2.

    >>> m = embed([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], "pca", MapOptions(components=1))
    >>> m.eigenvalues.round(12).tolist(), (m.coordinates[:, 0] / np.sqrt(2)).round(12).tolist()
    ([2.0], [-1.0, 0.0, 1.0])
    """
    if method not in _REGISTRY:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    options = options or MapOptions()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least 2 points as a 2-D array (n, features), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("the points contain NaN or infinite values; clean or drop them first")
    if options.components < 1 or options.components >= x.shape[0]:
        raise ValueError(f"components must be in [1, n - 1] for n = {x.shape[0]} points")
    return _REGISTRY[method](x, options)


__all__ = ["METHODS", "Map", "MapOptions", "Method", "embed", "fix_signs"]
