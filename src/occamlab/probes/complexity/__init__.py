"""Functional complexity (Molnar, Casalicchio & Bischl 2019): accumulated local effects (Apley &
Zhu), the decomposition of a network's output into main effects and interactions, the number of
features used (NF), interaction strength (IAS), main-effect complexity (MEC), and Friedman's H
statistic for pairs of features."""

from occamlab.probes.complexity.ale import (
    ALECurve,
    ALESurface,
    ale_curves,
    ale_surface,
    main_effects,
    quantile_edges,
)
from occamlab.probes.complexity.decomposition import (
    ComplexitySpec,
    FunctionalComplexity,
    complexity_of,
    functional_complexity,
    subject_function,
)
from occamlab.probes.complexity.measures import (
    Segmentation,
    features_used,
    h_statistic,
    interaction_strength,
    main_effect_complexity,
    segment_effect,
)

__all__ = [
    "ALECurve",
    "ALESurface",
    "ComplexitySpec",
    "FunctionalComplexity",
    "Segmentation",
    "ale_curves",
    "ale_surface",
    "complexity_of",
    "features_used",
    "functional_complexity",
    "h_statistic",
    "interaction_strength",
    "main_effect_complexity",
    "main_effects",
    "quantile_edges",
    "segment_effect",
    "subject_function",
]
