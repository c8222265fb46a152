"""Generalization measures of Jiang et al. (2019, "Fantastic generalization measures and where
to find them", arXiv 1912.02178), by family:

* :mod:`~occamlab.probes.measures.size` — #params, VC-dimension proxy;
* :mod:`~occamlab.probes.measures.output` — cross-entropy, inverse margin, output entropy;
* :mod:`~occamlab.probes.measures.norms` — spectral/Frobenius products and sums (with and
  without margin), distances from initialization, parameter norm, path-norm;
* :mod:`~occamlab.probes.measures.sharpness` — PAC-Bayes flatness σ and magnitude-aware σ′,
  worst-case sharpness α and α′, and their bound forms;
* :mod:`~occamlab.probes.measures.optimization` — steps to cross-entropy 0.1, 0.1 → 0.01,
  gradient noise.

:func:`generalization_measures` computes all of them (:data:`CATALOG` defines each one).
"""

from occamlab.probes.measures.summary import (
    CATALOG,
    MeasuresReport,
    MeasuresSpec,
    generalization_measures,
)

__all__ = ["CATALOG", "MeasuresReport", "MeasuresSpec", "generalization_measures"]
