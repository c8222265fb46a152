"""Maps of representations: diffusion maps (Coifman & Lafon 2006, with the variable bandwidth of
Berry & Harlim 2016), PCA, Isomap, t-SNE (scikit-learn) and UMAP (umap-learn), drawn layer by
layer for a subject's representations and along its training (:func:`embedding_probe`)."""

from occamlab.probes.embedding.diffusion import (
    DiffusionMap,
    bgh_epsilon,
    diffusion_map,
    variable_bandwidth,
)
from occamlab.probes.embedding.methods import METHODS, Map, MapOptions, Method, embed, fix_signs
from occamlab.probes.embedding.probe import (
    EmbeddingReport,
    EmbeddingSpec,
    LayerMap,
    align,
    embedding_probe,
)

__all__ = [
    "METHODS",
    "DiffusionMap",
    "EmbeddingReport",
    "EmbeddingSpec",
    "LayerMap",
    "Map",
    "MapOptions",
    "Method",
    "align",
    "bgh_epsilon",
    "diffusion_map",
    "embed",
    "embedding_probe",
    "fix_signs",
    "variable_bandwidth",
]
