"""Representation similarity: ours against torch-cka 0.21, in one process.

Linear CKA at n = 10,000 examples and d = 512 / 2,048 features (one thread, CPU seconds):
ours accumulates
the d×d feature-space statistics; torch-cka's full-batch path forms n×n Gram matrices and
computes trace(K·L) (O(n³)). Accuracy is checked against a direct float64 computation of the
unbiased estimator on the same inputs, centred in float64.
"""

from __future__ import annotations

import os

# One thread everywhere (also the anchors' numpy/scipy BLAS), set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, report, row, timed  # noqa: E402

from occamlab.probes.representations import StreamingCKA, linear_cka, rbf_cka  # noqa: E402

N = 10_000
# Timings count this process's CPU time: on a shared machine, wall time mostly measures the
# other processes.
CPU = time.process_time


def pair(d: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, d, generator=g)
    y = 0.1 * x @ torch.randn(d, d, generator=g) / d**0.5 + torch.randn(N, d, generator=g)
    return torch.relu(x), torch.relu(y)


def reference(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased linear CKA in float64, feature space, inputs centred in float64."""
    x, y = x.double(), y.double()
    x, y = x - x.mean(0), y - y.mean(0)
    n = x.shape[0]

    def hsic(a, b):
        ka, kb = (a * a).sum(1), (b * b).sum(1)
        trace = float(((a.T @ b) ** 2).sum()) - float(ka @ kb)
        sa, sb = -float(ka.sum()), -float(kb.sum())  # 1ᵀK̃1 for centred data
        cross = float(ka @ kb)  # 1ᵀK̃L̃1 = Σ k_n l_n for centred data
        value = trace + sa * sb / ((n - 1) * (n - 2)) - 2 / (n - 2) * cross
        return value / (n * (n - 3))

    return hsic(x, y) / (hsic(x, x) * hsic(y, y)) ** 0.5


class Columns(nn.Module):
    """Hands torch-cka one block of columns of its input as a layer's features."""

    def __init__(self, start: int, stop: int) -> None:
        super().__init__()
        self.start, self.stop = start, stop
        self.out = nn.Identity()

    def forward(self, z):
        return self.out(z[:, self.start : self.stop])


def torch_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    from torch.utils.data import DataLoader, TensorDataset
    from torch_cka import CKA

    d = x.shape[1]
    z = torch.cat([x, y], dim=1)
    loader = DataLoader(TensorDataset(z), batch_size=len(z))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cka = CKA(Columns(0, d), Columns(d, z.shape[1]), "a", "b", ["out"], ["out"])
        cka.compare(loader)
    return float(cka.export()["CKA"][0, 0])


def main() -> None:
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for d in (512, 2048):
        x, y = pair(d)
        t_ours = best_of(lambda x=x, y=y: linear_cka(x, y), repeats=2, clock=CPU)
        # torch-cka takes minutes: run it once.
        t_anchor, v_anchor = timed(lambda x=x, y=y: torch_cka(x, y), repeats=1, clock=CPU)
        v_ours = linear_cka(x, y)
        print(f"d={d}: ours {v_ours:.9f}, torch-cka {v_anchor:.9f}")
        rows.append(row(f"linear CKA n=10k d={d} vs torch-cka", t_ours, "torch-cka", t_anchor, 0.1))
        if d == 2048:
            rows.append(row("linear CKA n=10k d=2048 (<= 3 s)", t_ours, "budget", 3.0, 1.0))
            # Context: the three float32 products any feature-space formula needs.
            t_floor = best_of(lambda x=x, y=y: (x.T @ x, x.T @ y, y.T @ y), repeats=2, clock=CPU)
            rows.append(
                row("linear CKA d=2048 vs XᵀX, XᵀY, YᵀY alone", t_ours, "3 products", t_floor, 1.0)
            )
        for offset in (0.0, 10.0, 1e4):
            xo, yo = x + offset, y - offset
            err = abs(linear_cka(xo, yo) - reference(xo, yo))
            rows.append(
                row(f"|CKA − float64|, d={d}, offset {offset:g}", err, "tolerance", 1e-6, 1.0)
            )
        if d == 512:
            small_x, small_y = x[:2000] + 10, y[:2000] + 10  # its O(n³) path: a small n
            try:
                value = torch_cka(small_x, small_y)
                ours = linear_cka(small_x, small_y)
                print(f"torch-cka at offset 10 (n=2000): {value:.6f}, ours {ours:.6f}")
            except AssertionError as exc:
                print(f"torch-cka at offset 10 (n=2000): {exc}")
            stream = StreamingCKA()
            for start in range(0, N, 256):
                stream.update(x[start : start + 256], y[start : start + 256])
            err = abs(stream.compute() - v_ours)
            rows.append(row("streaming (256/batch) vs full batch", err, "tolerance", 1e-6, 1.0))
            g = torch.Generator().manual_seed(1)
            a, b = torch.randn(N, d, generator=g), torch.randn(N, d, generator=g)
            unbiased, biased = linear_cka(a, b), linear_cka(a, b, estimator="biased")
            print(f"independent data: unbiased {unbiased:.4f}, biased {biased:.4f}")
            rows.append(row("|unbiased CKA| of independent data", abs(unbiased), "tolerance",
                            0.003, 1.0))  # fmt: skip
            t_rbf = best_of(lambda x=x, y=y: rbf_cka(x, y), repeats=1, clock=CPU)
            rows.append(row("RBF CKA n=10k d=512 (<= 10 s)", t_rbf, "budget", 10.0, 1.0))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    report("representations", rows)


if __name__ == "__main__":
    main()
