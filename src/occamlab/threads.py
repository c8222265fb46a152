"""How many threads the numerical libraries of this process use."""

from __future__ import annotations

import os

# Read by each BLAS and OpenMP runtime when it loads: SciPy's and scikit-learn's bundle their
# own, loaded on first use, after any limit set on the runtimes already loaded.
_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Run torch, every BLAS (NumPy's, SciPy's) and every OpenMP runtime (torch's,
    scikit-learn's tree ensembles) on ``threads`` threads for the rest of the process, including
    the runtimes that load later (and child processes)."""
    import torch
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    for name in _VARIABLES:
        os.environ[name] = str(threads)
    torch.set_num_threads(threads)
    threadpool_limits(threads)


__all__ = ["limit_threads"]
