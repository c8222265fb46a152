"""Weight-matrix spectra: what the learned parameters say, without data.

Heavy-tailed self-regularization (Martin & Mahoney): per-layer ESDs, power-law tail exponents α
and α̂, norm metrics, Marchenko–Pastur bulk and spikes, distance to a randomized matrix, and their
model averages. Entry point: :func:`weight_spectra`.
"""

from occamlab.probes.spectra.conv_spectra import fft_matrices, per_position_matrices
from occamlab.probes.spectra.esd import LayerMatrices, eigenvalues, layer_matrices, weight_layers
from occamlab.probes.spectra.marchenko_pastur import (
    MarchenkoPasturFit,
    fit_marchenko_pastur,
    mp_cdf,
    mp_density,
    mp_edges,
)
from occamlab.probes.spectra.powerlaw import PowerLawFit, fit_power_law
from occamlab.probes.spectra.probe import SpectraSpec, weight_spectra
from occamlab.probes.spectra.results import (
    AVERAGED,
    LayerSpectrum,
    SpectraReport,
    layer_row,
    model_averages,
)
from occamlab.probes.spectra.tail_tests import (
    TailComparison,
    bootstrap_alpha,
    compare_tails,
    goodness_of_fit,
)

__all__ = [
    "AVERAGED",
    "LayerMatrices",
    "LayerSpectrum",
    "MarchenkoPasturFit",
    "PowerLawFit",
    "SpectraReport",
    "SpectraSpec",
    "TailComparison",
    "bootstrap_alpha",
    "compare_tails",
    "eigenvalues",
    "fft_matrices",
    "fit_marchenko_pastur",
    "fit_power_law",
    "goodness_of_fit",
    "layer_row",
    "layer_matrices",
    "model_averages",
    "mp_cdf",
    "mp_density",
    "mp_edges",
    "per_position_matrices",
    "weight_layers",
    "weight_spectra",
]
