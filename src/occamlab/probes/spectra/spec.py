"""The options of a weight-spectra probe (:class:`SpectraSpec`): what the probe computes and
what its result records, so both import it from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SpectraSpec:
    """Options of :func:`~occamlab.probes.spectra.probe.weight_spectra` (and the flags of
    ``occam probe spectra``).

    Attributes:
        conv: how a convolution becomes matrices: one per kernel position (data-free) or the
            exact singular values of the circular convolution operator by FFT.
        fft_size: input length/side for conv='fft' (0: each layer's input size, read from the
            subject's data).
        precision: arithmetic of the eigenvalue solves.
        min_tail: fewest eigenvalues a power-law tail may have.
        max_candidates: most x_min candidates scored per layer (evenly spaced ranks when a
            layer has more; 0: all).
        mp_fit: fit the Marchenko–Pastur bulk and count the spikes outside it.
        randomize: also compute rand_distance (one more eigenvalue solve per layer).
        bootstrap: bootstrap resamples for an interval of α (0: the asymptotic interval only).
        gof_samples: synthetic samples for Clauset's goodness-of-fit p-value (0: skip).
        compare_tails: likelihood-ratio tests against exponential and log-normal tails.
        seed: seeds the shuffles and resamples.
    """

    conv: Literal["per_position", "fft"] = "per_position"
    fft_size: int = 0
    precision: Literal["float32", "float64"] = "float32"
    min_tail: int = 10
    max_candidates: int = 4096
    mp_fit: bool = True
    randomize: bool = False
    bootstrap: int = 0
    gof_samples: int = 0
    compare_tails: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.fft_size >= 0, f"fft_size must be >= 0, got {self.fft_size}"),
            (self.min_tail >= 2, f"min_tail must be >= 2, got {self.min_tail}"),
            (self.max_candidates >= 0, "max_candidates must be >= 0 (0: all)"),
            (self.bootstrap == 0 or self.bootstrap >= 10, "bootstrap needs 0 or >= 10 samples"),
            (self.gof_samples >= 0, f"gof_samples must be >= 0, got {self.gof_samples}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
