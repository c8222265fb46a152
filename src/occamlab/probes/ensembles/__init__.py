"""Ensembles and bagging: what averaging many predictors does to their error and variance.

:mod:`~occamlab.probes.ensembles.decomposition` splits an ensemble's squared error into the mean
error of its members minus their diversity (an identity), for any stacked member outputs or for
trained subjects; :mod:`~occamlab.probes.ensembles.bagging` is the bagging estimator (the average
of a predictor refit on bootstrap resamples, Breiman 1996) and the variance of a predictor over
independent training sets (Bühlmann & Yu 2002).
"""

from occamlab.probes.ensembles.bagging import (
    bagged_predict,
    bootstrap_indices,
    prediction_variance,
)
from occamlab.probes.ensembles.decomposition import (
    EnsembleDecomposition,
    decompose,
    ensemble_decomposition,
    member_outputs,
)

__all__ = [
    "EnsembleDecomposition",
    "bagged_predict",
    "bootstrap_indices",
    "decompose",
    "ensemble_decomposition",
    "member_outputs",
    "prediction_variance",
]
