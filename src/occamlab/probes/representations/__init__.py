"""Representation similarity and dimensionality: what the learned features say.

Linear CKA (unbiased by default; exact streaming minibatch version), RBF CKA, SVCCA/PWCCA/mean
CCA with a permutation null, orthogonal Procrustes distance, effective rank of representations,
and the layer-by-layer probe :func:`layer_similarity`.
"""

from occamlab.probes.representations.activations import default_layers, stream_activations
from occamlab.probes.representations.cca import CCABiasWarning, CCAResult, cca_similarity
from occamlab.probes.representations.cka import StreamingCKA, linear_cka, rbf_cka
from occamlab.probes.representations.feature_stats import FeatureStats
from occamlab.probes.representations.procrustes import procrustes_distance
from occamlab.probes.representations.rank import EffectiveRank, effective_rank
from occamlab.probes.representations.similarity import (
    SimilarityReport,
    SimilaritySpec,
    layer_similarity,
)

__all__ = [
    "CCABiasWarning",
    "CCAResult",
    "EffectiveRank",
    "FeatureStats",
    "SimilarityReport",
    "SimilaritySpec",
    "StreamingCKA",
    "cca_similarity",
    "default_layers",
    "effective_rank",
    "layer_similarity",
    "linear_cka",
    "procrustes_distance",
    "rbf_cka",
    "stream_activations",
]
