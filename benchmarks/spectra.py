"""Weight spectra: ours against WeightWatcher 0.7.7 and the eigvalsh floor, in one process.

Models: an MLP 40-512-512-512-10, and a "big" model with Linear layers up to 2048×2048 plus a
Conv2d(64, 128, 3). The floor is a float32 ``eigvalsh(WᵀW)`` (the smaller Gram) of every layer
(each kernel position of the conv), which any ESD-based tool must pay. WeightWatcher runs with
its ``analyze()`` defaults. One thread (BLAS too); best-of-N CPU seconds of this process.

WeightWatcher needs an older ``powerlaw`` (1.5 here): with powerlaw 2.0 its fits return α = −1.
"""

from __future__ import annotations

import os

# One thread everywhere (also the anchors' numpy/scipy BLAS), set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, report, row  # noqa: E402

from occamlab.probes.spectra import fit_power_law, weight_spectra  # noqa: E402

# Timings count this process's CPU time: on a shared machine, wall time mostly measures the
# other processes.
CPU = time.process_time


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(40, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10),
    )  # fmt: skip


def big() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(64, 128, 3), nn.Flatten(), nn.Linear(1024, 2048), nn.ReLU(),
        nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
        nn.Linear(2048, 512), nn.ReLU(), nn.Linear(512, 10),
    )  # fmt: skip


def many_small(count: int = 200) -> nn.Module:
    torch.manual_seed(2)
    return nn.Sequential(*[nn.Linear(16, 16) for _ in range(count)])


def floor(model: nn.Module) -> None:
    """float32 eigvalsh of the smaller Gram of every matrix: the unavoidable cost."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            w = m.weight.detach()
            w = w.reshape(w.shape[0], w.shape[1], -1).permute(2, 0, 1)
            g = w.mT @ w if w.shape[1] >= w.shape[2] else w @ w.mT
            torch.linalg.eigvalsh(g)


def import_weightwatcher():
    filters = list(warnings.filters)
    import weightwatcher as ww  # noqa: PLC0415

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    silenced = warnings.filters != filters
    warnings.filters[:] = filters  # it installs "ignore" for every warning process-wide
    return ww, silenced


def ww_analyze(ww, model, **options):
    return ww.WeightWatcher(model=model).analyze(**options)


def main() -> None:
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ww, silenced = import_weightwatcher()
    rows = []
    for name, model, ww_target in (("MLP 40-512-512-512-10", mlp(), 0.25), ("big", big(), 1 / 3)):
        weight_spectra(model)  # warm up
        t_floor = best_of(lambda m=model: floor(m), repeats=3, clock=CPU)
        t_ours = best_of(lambda m=model: weight_spectra(m), repeats=3, clock=CPU)
        t_ww = best_of(lambda m=model: ww_analyze(ww, m), repeats=2, clock=CPU)
        rows.append(row(f"{name}: ours vs eigvalsh floor", t_ours, "eigvalsh floor", t_floor, 1.2))
        rows.append(row(f"{name}: ours vs WeightWatcher", t_ours, "WeightWatcher", t_ww, ww_target))
        plain = best_of(lambda m=model: weight_spectra(m, mp_fit=False), repeats=3, clock=CPU)
        rows.append(row(f"{name}: with MP fit vs without", t_ours, "ours, no MP fit", plain, 2.0))

        # α equal to WeightWatcher's where both choose the same x_min (float64 eigenvalues).
        # WeightWatcher rescales conv weights (conv2d_norm), so tails are matched by their size;
        # below 20 eigenvalues it silently switches to a bias-corrected estimator: left out.
        details = ww_analyze(ww, model)
        ours = weight_spectra(model, precision="float64")
        same, standard, diffs = 0, 0, []
        for layer, (_, d) in zip(ours.layers, details.iterrows(), strict=True):
            if layer.fit is None or d["alpha"] <= 0 or d["num_evals"] < 20:
                continue
            standard += 1
            values = layer.eigenvalues[layer.eigenvalues > 0]
            tail = int(d["num_pl_spikes"])
            at_ww = fit_power_law(values, xmin=float(np.sort(values)[-tail]))
            diffs.append(abs(at_ww.alpha - d["alpha"]) / d["alpha"])
            same += layer.fit.num_tail == tail
        print(
            f"{name}: same x_min in {same}/{standard} layers where WeightWatcher uses the "
            f"Clauset estimator; WeightWatcher α {[round(float(a), 3) for a in details['alpha']]}"
            f", ours {[None if la.alpha is None else round(la.alpha, 3) for la in ours.layers]}"
        )
        rows.append(
            row(f"{name}: |Δα|/α vs WeightWatcher at its x_min", max(diffs), "tolerance", 1e-6, 1.0)
        )

    small = many_small()
    weight_spectra(small)
    t_small = best_of(lambda: weight_spectra(small), repeats=7, clock=CPU)
    t_small_floor = best_of(lambda: floor(small), repeats=7, clock=CPU)
    overhead_ms = (t_small - t_small_floor) / 200 * 1e3
    rows.append(
        row("per-layer overhead, 200 × Linear(16,16) (ms)", overhead_ms, "budget", 0.2, 1.0)
    )

    rng = np.random.default_rng(0)
    sample = np.sort(rng.standard_normal(2000) ** 2 + (1 - rng.random(2000)) ** -0.5)
    t_fit = best_of(lambda: fit_power_law(sample), repeats=20, clock=CPU)
    rows.append(row("Clauset fit, 2,000 values, all x_min (s)", t_fit, "budget", 0.010, 1.0))

    worst = 0.0
    for alpha in (2.0, 3.5, 5.0, 7.0):
        x = (1 - rng.random(20000)) ** (-1 / (alpha - 1))
        worst = max(worst, abs(fit_power_law(x).alpha - alpha))
    rows.append(row("|α − α_true|, Pareto n=20k, α ∈ {2,3.5,5,7}", worst, "tolerance", 0.1, 1.0))

    conv = nn.Sequential(nn.Conv2d(128, 64, 2))
    ours_count = weight_spectra(conv).layers[0].num_eigenvalues
    ww_count = int(ww_analyze(ww, conv)["num_evals"].iloc[0])
    print(
        f"Conv2d(128,64,2): ours {ours_count} eigenvalues, WeightWatcher {ww_count}, expected 256"
    )
    rows.append(
        row("Conv2d(128,64,2) eigenvalues / expected 256", ours_count, "expected", 256, 1.0)
    )
    print(f"importing weightwatcher changed the warning filters: {silenced}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    report("spectra", rows)


if __name__ == "__main__":
    main()
