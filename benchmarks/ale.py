"""First-order ALE: ours against PyALE 1.2.0 (``PyALE.ale``, continuous features), in one process.

The same trained MLP on MNIST-1D (the probability of class 0, evaluated in float64), the same 1,000
test inputs, 20 bins, every one of the 40 features. The conventions match: both grids are the
data's quantiles at k/20 (PyALE's R-type-1 variant and NumPy's ``lower`` quantile agree whenever
``(n − 1)·k/20`` is not an integer, true for n = 1,000), points fall in ``(z_{k−1}, z_k]``,
and both centre by the count-weighted mean of the bin midpoints. The effects at every edge must
agree to float64 rounding of the same network outputs. Timings are CPU seconds of this process,
one thread, best of three.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row, timed  # noqa: E402

from occamlab import make_subject  # noqa: E402
from occamlab.data import data_spec  # noqa: E402
from occamlab.models import model_spec  # noqa: E402
from occamlab.probes.complexity import ale_curves  # noqa: E402
from occamlab.train import TrainSpec, fit  # noqa: E402

CPU = time.process_time
N, BINS, CLASS = 1000, 20, 0


class Wrapped:
    """The network as the scikit-learn-style model PyALE calls (``predict`` on a DataFrame)."""

    def __init__(self, fn):
        self.fn = fn

    def predict(self, frame):
        with torch.no_grad():
            return self.fn(torch.as_tensor(frame.to_numpy(dtype=np.float64))).numpy()[:, 0]


def pyale_curves(fn, x: np.ndarray) -> list[np.ndarray]:
    import logging

    import pandas as pd
    from PyALE import ale

    logging.getLogger("PyALE").setLevel(logging.WARNING)  # one INFO line per feature otherwise

    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])
    model = Wrapped(fn)
    return [
        ale(
            X=frame,
            model=model,
            feature=[f"x{j}"],
            grid_size=BINS,
            include_CI=False,
            plot=False,
        )
        for j in range(x.shape[1])
    ]


def main() -> None:
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    subject = make_subject(
        model=model_spec("mlp", width=100, depth=2), data=data_spec("mnist1d"), seed=0
    )
    fit(subject, TrainSpec(optimizer="adam", lr=3e-3, batch_size=128, epochs=10, seed=0))
    # In float64: a float32 network's outputs depend on the batch's size (blocked matrix
    # products) by ~1e-8, which would hide the comparison of the two estimators.
    model = subject.model.eval().double()

    def fn(batch: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(batch), dim=-1)[:, CLASS : CLASS + 1]

    x = subject.data.test.x[:N].double()
    t_ours, ours = timed(lambda: ale_curves(fn, x, bins=BINS), clock=CPU)
    t_anchor, anchor = timed(lambda: pyale_curves(fn, x.numpy()), clock=CPU)
    edges = max(
        float(np.abs(np.asarray(a.index, dtype=np.float64) - o.edges).max())
        for o, a in zip(ours, anchor, strict=True)
    )
    diff = max(
        float(np.abs(a["eff"].to_numpy() - o.effect[:, 0]).max())
        for o, a in zip(ours, anchor, strict=True)
    )
    scale = max(float(np.abs(o.effect).max()) for o in ours)
    print(
        f"40 features, {N} inputs, {BINS} bins: max |edges ours − PyALE| {edges:.2e}, "
        f"max |ALE ours − PyALE| {diff:.2e} (largest |ALE| {scale:.3f})"
    )
    label = f"ALE, 40 MNIST-1D features, {N} ex., {BINS} bins"
    rows = [
        row(f"{label} vs PyALE", t_ours, "PyALE 1.2.0", t_anchor, 1.0),
        row(f"{label}: max |edge ours − PyALE|", edges, "tolerance", 1e-12, 1.0),
        row(f"{label}: max |ALE ours − PyALE|", diff, "tolerance", 1e-12, 1.0),
    ]
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    report("ale", rows)


if __name__ == "__main__":
    main()
