"""Result dataclasses of :func:`occamlab.probes.spectra.weight_spectra`, and their table rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from occamlab.jsonable import jsonable
from occamlab.probes.spectra.marchenko_pastur import MarchenkoPasturFit
from occamlab.probes.spectra.powerlaw import PowerLawFit
from occamlab.probes.spectra.spec import SpectraSpec
from occamlab.probes.spectra.tail_tests import TailComparison

AVERAGED = (
    "alpha",
    "alpha_weighted",
    "log_alpha_norm",
    "log_norm",
    "log_spectral_norm",
    "stable_rank",
    "entropy",
    "mp_soft_rank",
    "num_spikes",
    "rand_distance",
)


@dataclass(frozen=True)
class LayerSpectrum:
    """Spectral metrics of one layer (eigenvalues ``λ`` of ``WᵀW``; see :mod:`.metrics`).

    ``alpha`` and everything derived from it are ``None`` when no tail could be fitted; ``mp``
    when the bulk fit was not asked for; ``rand_distance`` when randomization was off. ``notes``
    explains each gap and flags readings to take with care.
    """

    name: str
    kind: str
    weight_shape: tuple[int, ...]
    method: str
    n: int
    m: int
    num_matrices: int
    num_eigenvalues: int
    num_resolved: int
    lambda_max: float
    log_norm: float
    log_spectral_norm: float
    stable_rank: float
    entropy: float
    fit: PowerLawFit | None
    alpha_weighted: float | None
    log_alpha_norm: float | None
    alpha_interval: tuple[float, float] | None
    interval_method: str | None
    p_value: float | None
    comparisons: tuple[TailComparison, ...]
    mp: MarchenkoPasturFit | None
    rand_distance: float | None
    notes: tuple[str, ...]
    eigenvalues: np.ndarray = field(repr=False, compare=False)

    @property
    def alpha(self) -> float | None:
        return None if self.fit is None else self.fit.alpha

    def value(self, metric: str) -> float | None:
        """A metric by name (those in :data:`AVERAGED`)."""
        if metric == "mp_soft_rank":
            return None if self.mp is None else self.mp.soft_rank
        if metric == "num_spikes":
            return None if self.mp is None else float(self.mp.num_spikes)
        return getattr(self, metric)

    def row(self) -> dict[str, Any]:
        """A flat table row (:func:`layer_row` of :meth:`to_dict`)."""
        return layer_row(self.to_dict())

    def to_dict(self, *, include_eigenvalues: bool = False) -> dict[str, Any]:
        out = {
            "name": self.name,
            "kind": self.kind,
            "weight_shape": list(self.weight_shape),
            "method": self.method,
            "n": self.n,
            "m": self.m,
            "num_matrices": self.num_matrices,
            "num_eigenvalues": self.num_eigenvalues,
            "num_resolved": self.num_resolved,
            "lambda_max": self.lambda_max,
            "alpha": self.alpha,
            "alpha_weighted": self.alpha_weighted,
            "log_alpha_norm": self.log_alpha_norm,
            "log_norm": self.log_norm,
            "log_spectral_norm": self.log_spectral_norm,
            "stable_rank": self.stable_rank,
            "entropy": self.entropy,
            "fit": self.fit,
            "alpha_interval": self.alpha_interval,
            "interval_method": self.interval_method,
            "p_value": self.p_value,
            "comparisons": list(self.comparisons),
            "mp": self.mp,
            "rand_distance": self.rand_distance,
            "notes": list(self.notes),
        }
        if include_eigenvalues:
            out["eigenvalues"] = self.eigenvalues
        return jsonable(out)

    def plot(self, ax=None):
        """Log-log ESD histogram with the fitted power law (dashed) from x_min, and the
        Marchenko–Pastur bulk edge."""
        from occamlab.probes.spectra.plots import plot_esd

        return plot_esd(self.to_dict(include_eigenvalues=True), ax=ax)


@dataclass(frozen=True)
class SpectraReport:
    """Per-layer spectra and their model averages (means over the layers that have the metric).

    Attributes:
        spec: the options used.
        layers: one :class:`LayerSpectrum` per Linear/Conv layer, in module order.
        averages: metric → mean over layers (``None`` if no layer has it).
        averaged_over: metric → number of layers in the mean.
        seconds: wall time.
    """

    spec: SpectraSpec
    layers: tuple[LayerSpectrum, ...]
    averages: dict[str, float | None]
    averaged_over: dict[str, int]
    seconds: float

    def table(self) -> list[dict[str, Any]]:
        return [layer.row() for layer in self.layers]

    def layer(self, name: str) -> LayerSpectrum:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}; layers: {[la.name for la in self.layers]}")

    def to_dict(self, *, include_eigenvalues: bool = False) -> dict[str, Any]:
        return jsonable(
            {
                "spec": self.spec,
                "layers": [
                    layer.to_dict(include_eigenvalues=include_eigenvalues) for layer in self.layers
                ],
                "averages": self.averages,
                "averaged_over": self.averaged_over,
                "seconds": self.seconds,
            }
        )

    def plot(self, *, columns: int = 3):
        """A grid of :meth:`LayerSpectrum.plot`, one panel per layer; returns the figure."""
        from occamlab.probes.spectra.plots import plot_layers

        layers = [layer.to_dict(include_eigenvalues=True) for layer in self.layers]
        return plot_layers(layers, columns=columns)


def model_averages(
    layers: tuple[LayerSpectrum, ...],
) -> tuple[dict[str, float | None], dict[str, int]]:
    """Mean of each metric of :data:`AVERAGED` over the layers that have it."""
    averages: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for metric in AVERAGED:
        present = [v for v in (layer.value(metric) for layer in layers) if v is not None]
        averages[metric] = float(np.mean(present)) if present else None
        counts[metric] = len(present)
    return averages, counts


def layer_row(layer: dict[str, Any]) -> dict[str, Any]:
    """A flat table row of one layer's ``to_dict()`` (also of a stored run's JSON)."""
    fit, mp = layer["fit"] or {}, layer["mp"] or {}
    return {
        "layer": layer["name"],
        "shape": "×".join(map(str, layer["weight_shape"])),
        "eigenvalues": layer["num_eigenvalues"],
        "alpha": layer["alpha"],
        "alpha_weighted": layer["alpha_weighted"],
        "xmin": fit.get("xmin"),
        "tail": fit.get("num_tail"),
        "ks": fit.get("ks_distance"),
        "log_norm": layer["log_norm"],
        "log_spectral_norm": layer["log_spectral_norm"],
        "stable_rank": layer["stable_rank"],
        "entropy": layer["entropy"],
        "mp_soft_rank": mp.get("soft_rank"),
        "spikes": mp.get("num_spikes"),
        "rand_distance": layer["rand_distance"],
    }
