"""``weight_spectra``: heavy-tailed self-regularization metrics of every Linear/Conv layer.

Martin & Mahoney (arXiv 1810.01075, 1901.08276; Nature Communications 12:4122, 2021) read a
network's quality from the eigenvalue spectrum of each layer's correlation matrix, without data:
well-trained layers have power-law tails with exponent α ≈ 2–6, and the model average of
α̂ = α log₁₀ λ_max tracks test accuracy across models of one family. This probe computes, per
layer: the ESD (:mod:`.esd`), the power-law fit of its tail (:mod:`.powerlaw`, with optional
bootstrap interval, goodness-of-fit p-value and likelihood-ratio tests from :mod:`.tail_tests`),
the norm metrics (:mod:`.metrics`), the Marchenko–Pastur bulk and spikes
(:mod:`.marchenko_pastur`) and the distance to the ESD of the entry-shuffled matrix; and their
model averages. Results never carry sentinel values: what was not computed is ``None`` and the
layer's ``notes`` say why.

Examples:
    >>> from torch import nn
    >>> from occamlab.probes.spectra import weight_spectra
    >>> report = weight_spectra(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
    >>> [layer.num_eigenvalues for layer in report.layers]
    [64, 10]
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from occamlab.probes.spectra.esd import (
    LayerMatrices,
    Precision,
    eigenvalues,
    layer_matrices,
    resolution,
    weight_layers,
)
from occamlab.probes.spectra.marchenko_pastur import fit_marchenko_pastur
from occamlab.probes.spectra.metrics import js_distance, log_alpha_norm, norm_metrics
from occamlab.probes.spectra.powerlaw import PowerLawFit, fit_power_laws
from occamlab.probes.spectra.results import LayerSpectrum, SpectraReport, model_averages
from occamlab.probes.spectra.spec import SpectraSpec
from occamlab.probes.spectra.tail_tests import (
    TailComparison,
    bootstrap_alpha,
    compare_tails,
    goodness_of_fit,
)
from occamlab.specs import make_spec
from occamlab.subject import Subject


def _input_sizes(subject: Subject, names: list[str]) -> dict[str, tuple[int, ...]]:
    """Spatial input size of each named conv layer, from one training example (eval mode)."""
    modules = dict(subject.model.named_modules())
    sizes: dict[str, tuple[int, ...]] = {}
    handles = [
        modules[name].register_forward_pre_hook(
            lambda mod, args, name=name: sizes.__setitem__(name, tuple(args[0].shape[2:]))
        )
        for name in names
    ]
    try:
        with torch.no_grad(), subject.eval_mode():
            subject.model(subject.data.train.x[:1])
    finally:
        for handle in handles:
            handle.remove()
    return sizes


def _layers(
    target: Subject | nn.Module, spec: SpectraSpec, *, generator: torch.Generator | None = None
) -> list[LayerMatrices]:
    """The matrices of every Linear/Conv layer; with ``generator``, of the layer's weight with
    its entries randomly permuted (for conv='fft' the kernel is shuffled before the FFT)."""
    model = target.model if isinstance(target, Subject) else target
    found = weight_layers(model)
    if not found:
        raise ValueError("the model has no Linear or Conv layers with weights to analyze")
    sizes: dict[str, tuple[int, ...]] = {}
    convs = [name for name, m in found if not isinstance(m, nn.Linear)]
    if spec.conv == "fft" and convs:
        if spec.fft_size:
            sizes = {
                name: (spec.fft_size,) * (m.weight.dim() - 2)
                for name, m in found
                if not isinstance(m, nn.Linear)
            }
        elif isinstance(target, Subject):
            sizes = _input_sizes(target, convs)
        else:
            raise ValueError("conv='fft' on a bare module needs fft_size (or pass a Subject)")
    out = []
    for name, module in found:
        weight = module.weight.detach()
        if not math.isfinite(float(weight.sum(dtype=torch.float64))):  # one pass, no overflow
            raise ValueError(f"layer {name!r} has non-finite weights")
        if generator is not None:
            flat = weight.reshape(-1)
            weight = flat[torch.randperm(flat.numel(), generator=generator)].reshape(weight.shape)
        out.append(
            layer_matrices(
                name,
                module,
                conv=spec.conv,
                input_size=sizes.get(name),
                precision=spec.precision,
                weight=weight,
            )
        )
    return out


def _resolved(layer: LayerMatrices, values: np.ndarray, precision: Precision) -> np.ndarray:
    if values.size == 0 or values[-1] <= 0:
        raise ValueError(f"layer {layer.name!r} is all zeros: its spectrum is empty")
    return values[values > resolution(values, layer.m, precision)]


def _analyze(
    layer: LayerMatrices,
    values: np.ndarray,
    resolved: np.ndarray,
    fit: PowerLawFit | None,
    random_values: np.ndarray | None,
    spec: SpectraSpec,
    generator: torch.Generator,
    grids: dict,
) -> LayerSpectrum:
    """Everything about one layer, given its eigenvalues and (batched) tail fit."""
    precision: Precision = spec.precision
    metrics = norm_metrics(values, resolved)
    notes: list[str] = []
    unresolved = values.size - resolved.size
    if unresolved:
        notes.append(
            f"{unresolved} eigenvalues at rounding level (rank-deficient or below "
            f"M·ε·λ_max in {precision}); left out of the fit and entropy"
        )
    interval = p_value = None
    interval_method = None
    comparisons: tuple[TailComparison, ...] = ()
    alpha_weighted = alpha_norm = None
    if resolved.size < spec.min_tail:
        notes.append(
            f"α not fitted: {resolved.size} resolved eigenvalues < min_tail={spec.min_tail}"
        )
    elif fit is None:
        notes.append("α not fitted: every candidate tail has equal values (no exponent)")
    if fit is not None:
        alpha_weighted = fit.alpha * metrics["log_spectral_norm"]
        alpha_norm = log_alpha_norm(resolved, fit.alpha)
        if metrics["lambda_max"] < 1:
            notes.append("λ_max < 1: α̂ = α·log₁₀λ_max is negative and falls as α grows")
        if fit.num_tail < 50:
            notes.append(f"tail of {fit.num_tail} eigenvalues: α is uncertain (σ={fit.sigma:.2g})")
        if fit.candidates < resolved.size - spec.min_tail + 1:
            notes.append(f"x_min searched over {fit.candidates} evenly spaced candidates")
        options = {"min_tail": spec.min_tail, "max_candidates": spec.max_candidates or None}
        if spec.bootstrap:
            interval = bootstrap_alpha(
                resolved, num_samples=spec.bootstrap, generator=generator, **options
            )
            interval_method = f"bootstrap ({spec.bootstrap} resamples, 95%)"
        else:
            interval = fit.interval()
            interval_method = "asymptotic (α−1)/√n, 95%"
        if spec.gof_samples:
            p_value = goodness_of_fit(
                resolved, fit, num_samples=spec.gof_samples, generator=generator, **options
            )
        if spec.compare_tails:
            comparisons = compare_tails(resolved, fit)
    mp = None
    if spec.mp_fit:
        mp = fit_marchenko_pastur(values / layer.n, n=layer.n, m=layer.m, grids=grids)
    rand = None if random_values is None else js_distance(values, random_values)
    return LayerSpectrum(
        name=layer.name,
        kind=layer.kind,
        weight_shape=layer.weight_shape,
        method=layer.method,
        n=layer.n,
        m=layer.m,
        num_matrices=layer.num_matrices,
        num_eigenvalues=int(values.size),
        num_resolved=int(metrics["num_resolved"]),
        lambda_max=metrics["lambda_max"],
        log_norm=metrics["log_norm"],
        log_spectral_norm=metrics["log_spectral_norm"],
        stable_rank=metrics["stable_rank"],
        entropy=metrics["entropy"],
        fit=fit,
        alpha_weighted=alpha_weighted,
        log_alpha_norm=alpha_norm,
        alpha_interval=interval,
        interval_method=interval_method,
        p_value=p_value,
        comparisons=comparisons,
        mp=mp,
        rand_distance=rand,
        notes=tuple(notes),
        eigenvalues=values,
    )


def weight_spectra(
    target: Subject | nn.Module,
    *,
    spec: SpectraSpec | None = None,
    generator: torch.Generator | None = None,
    **options: Any,
) -> SpectraReport:
    """ESD, power-law fit and WeightWatcher's metrics for every Linear/Conv layer of a model.

    Args:
        target: a :class:`~occamlab.Subject` (needed only for conv='fft' without fft_size, to
            read each layer's input size) or any ``nn.Module``. Weights are read, never changed.
        spec: options (:class:`SpectraSpec`); keywords override its fields.
        generator: randomness for shuffles and resamples (default: seeded by ``spec.seed``).

    Returns:
        A :class:`SpectraReport`: per-layer :class:`LayerSpectrum` rows and model averages.
    """
    spec = make_spec(SpectraSpec, {**(spec.__dict__ if spec else {}), **options})
    started = time.perf_counter()
    gen = generator if generator is not None else torch.Generator().manual_seed(spec.seed)
    layers = _layers(target, spec)
    values = eigenvalues(layers, precision=spec.precision)
    random_values: list[np.ndarray | None] = [None] * len(layers)
    if spec.randomize:
        random_values = list(
            eigenvalues(_layers(target, spec, generator=gen), precision=spec.precision)
        )
    resolved = [
        _resolved(layer, ev, spec.precision) for layer, ev in zip(layers, values, strict=True)
    ]
    fittable = [i for i, r in enumerate(resolved) if r.size >= spec.min_tail]
    fits: list[PowerLawFit | None] = [None] * len(layers)
    batch = fit_power_laws(
        [resolved[i] for i in fittable],
        min_tail=spec.min_tail,
        max_candidates=spec.max_candidates or None,
    )
    for i, fit in zip(fittable, batch, strict=True):
        fits[i] = fit
    grids: dict = {}  # Marchenko–Pastur CDF grids shared by layers of one aspect ratio
    results = tuple(
        _analyze(layer, ev, res, fit, rv, spec, gen, grids)
        for layer, ev, res, fit, rv in zip(
            layers, values, resolved, fits, random_values, strict=True
        )
    )
    averages, counts = model_averages(results)
    return SpectraReport(spec, results, averages, counts, time.perf_counter() - started)
