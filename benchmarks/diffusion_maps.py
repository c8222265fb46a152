"""Diffusion maps: ours against pydiffmap 0.2.0.1 (``pydiffmap.diffusion_map.DiffusionMap``),
in one process, on the same points.

Cases: a swiss roll (1,500 points) and a noisy circle (1,000 points), with the kNN kernel of 64
neighbours, ε chosen by the Berry–Giannakis–Harlim rule, α = 1 and α = ½, and the variable
bandwidth (β = −1/(d + 2), pydiffmap's ``bandwidth_type="-1/(d+2)"`` with
``bandwidth_normalize=True``). Compared: the chosen ε, the 4 leading eigenvalues of the generator
L (relative difference), and the eigenvectors up to sign and scale (each scaled to unit norm).
Timings are CPU seconds of this process, one thread, best of three.
"""

from __future__ import annotations

import os

# One thread everywhere (also the anchor's numpy BLAS), set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import make_swiss_roll  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row, timed  # noqa: E402

from occamlab.probes.embedding import diffusion_map  # noqa: E402

CPU = time.process_time
K = 64
COMPONENTS = 4


def points() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    roll, _ = make_swiss_roll(1500, noise=0.0, random_state=0)
    theta = rng.uniform(0, 2 * np.pi, 1000)
    circle = np.c_[np.cos(theta), np.sin(theta)] + 0.02 * rng.normal(size=(1000, 2))
    return {"swiss roll 1500": roll, "noisy circle 1000": circle}


def anchor(x: np.ndarray, alpha: float, bandwidth: str):
    from pydiffmap.diffusion_map import DiffusionMap

    extra = (
        {"bandwidth_type": "-1/(d+2)", "bandwidth_normalize": True}
        if bandwidth == "variable"
        else {}
    )
    return DiffusionMap.from_sklearn(
        n_evecs=COMPONENTS, k=K, alpha=alpha, epsilon="bgh", **extra
    ).fit(x)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=0)


def main() -> None:
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for name, x in points().items():
        for alpha, bandwidth in ((1.0, "fixed"), (0.5, "fixed"), (0.5, "variable")):
            t_ours, ours = timed(
                lambda x=x, a=alpha, b=bandwidth: diffusion_map(
                    x, components=COMPONENTS, alpha=a, k=K, bandwidth=b
                ),
                clock=CPU,
            )
            t_anchor, theirs = timed(lambda x=x, a=alpha, b=bandwidth: anchor(x, a, b), clock=CPU)
            values = float(np.max(np.abs(ours.eigenvalues / theirs.evals - 1.0)))
            a, b = unit(ours.eigenvectors), unit(np.real(theirs.evecs))
            vectors = float(np.abs(a * np.sign((a * b).sum(axis=0)) - b).max())
            eps = abs(ours.epsilon / theirs.epsilon_fitted - 1.0)
            print(
                f"{name}, α={alpha}, {bandwidth} bandwidth: ε ours {ours.epsilon:.4g} "
                f"pydiffmap {theirs.epsilon_fitted:.4g}; λ ours {np.round(ours.eigenvalues, 6)} "
                f"pydiffmap {np.round(theirs.evals, 6)}; max rel |Δλ| {values:.1e}, "
                f"max |Δψ| {vectors:.1e}"
            )
            label = f"{name}, α={alpha}, {bandwidth}"
            rows.append(row(f"{label} vs pydiffmap", t_ours, "pydiffmap 0.2.0.1", t_anchor, 1.5))
            rows.append(row(f"{label}: max rel |λ − λ_pdm|", values, "tolerance", 1e-8, 1.0))
            rows.append(row(f"{label}: max |ψ − ψ_pdm|", vectors, "tolerance", 1e-6, 1.0))
            rows.append(row(f"{label}: rel |ε − ε_pdm|", eps, "tolerance", 1e-12, 1.0))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    report("diffusion_maps", rows)


if __name__ == "__main__":
    main()
