"""Spectral bias on the circle: the NTK's eigenvalues per frequency, the residual's Fourier
amplitudes during training, and the time each frequency takes to be learned.

A rotation-invariant kernel on the unit circle, ``k(x, x') = κ(θ − θ')`` with ``x = (cos θ,
sin θ)``, has the Fourier modes ``cos kθ, sin kθ`` as eigenfunctions of its integral operator
on the uniform distribution, with eigenvalue ``λ_k = (1/2π) ∫ κ(φ) cos kφ dφ`` (Basri et al.
2019, arXiv 1906.00425; Basri et al. 2020, arXiv 2003.04560). On ``n`` equispaced points the
Gram matrix is circulant and its eigenvalues are exactly ``n`` times the discrete Fourier
coefficients of ``κ`` on the grid (:func:`circle_spectrum`), which converge to ``λ_k``.

Full-batch gradient descent on ``L = (1/n) Σ (f(x_i) − y_i)²`` with step ``η`` moves a network
in its kernel regime by ``r ← (I − (2η/n) K) r`` (``r = f − y`` on the training points), so the
residual's Fourier component at frequency ``k`` shrinks by ``1 − 2ηλ_k`` per step and halves
after :func:`kernel_half_time` steps: a frequency is learned in a time ∝ 1/λ_k, which grows
like k² for the two-layer ReLU NTK (its coefficients fall like k^-2 on the circle; without
biases the odd ones from 3 on vanish).

:class:`ResidualRecorder` records ``f − y`` on fixed inputs during training;
:func:`fourier_amplitudes` reads each frequency's amplitude off it (on all the points, or on a
region of the circle: a least-squares fit of the frequencies' sines and cosines there), and
:func:`half_times` the step at which each amplitude first falls to half its initial value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from occamlab.probes.dynamics.deep_linear import crossing_time
from occamlab.probes.kernels.analytic import analytic_ntk
from occamlab.train.loop import PeriodicCallback, TrainState


def circle_inputs(
    theta: np.ndarray | Sequence[float], *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The points ``(cos θ, sin θ)`` of the unit circle, ``(n, 2)``."""
    t = np.asarray(theta, dtype=np.float64)
    return torch.from_numpy(np.stack([np.cos(t), np.sin(t)], axis=1)).to(dtype)


def circle_spectrum(values: np.ndarray | Sequence[float]) -> np.ndarray:
    """Eigenvalues per frequency of a rotation-invariant kernel on the circle.

    Args:
        values: ``κ(2πj/n)`` for ``j = 0, …, n − 1`` (the kernel between the point at angle 0
            and ``n`` equispaced points).

    Returns:
        ``λ_k = (1/n) Σ_j κ(2πj/n) cos(2πjk/n)`` for ``k = 0, …, n // 2``: the eigenvalues of
        the circulant Gram matrix divided by ``n`` (each ``k ≥ 1`` below ``n/2`` twice, for its
        cosine and its sine), a quadrature of ``(1/2π) ∫ κ(φ) cos kφ dφ`` exact for
        trigonometric polynomials of degree < n − k.

    >>> circle_spectrum(1.0 + 2.0 * np.cos(2 * np.pi * np.arange(8) / 8)).round(12).tolist()
    [1.0, 1.0, 0.0, 0.0, 0.0]
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size < 2:
        raise ValueError("circle_spectrum needs the kernel at 2 or more equispaced angles")
    return np.fft.rfft(v).real / v.size


def ntk_circle_spectrum(
    frequencies: Sequence[int],
    *,
    depth: int = 1,
    bias_std: float = 1.0,
    weight_std: float = 1.0,
    activation: str = "relu",
    grid: int = 4096,
) -> np.ndarray:
    """Eigenvalues ``λ_k`` of the infinite-width NTK (:func:`~occamlab.probes.kernels.analytic.
    analytic_ntk`, NTK parameterization) on the uniform circle, at ``frequencies``.

    Computed by :func:`circle_spectrum` on ``grid`` equispaced angles (the kernel is
    continuous with a kink at 0, so its coefficients fall like k^-2 and the quadrature's
    aliasing error like ``grid^-2``).
    """
    ks = np.asarray(frequencies, dtype=np.int64)
    if ks.size == 0 or ks.min() < 0 or ks.max() >= grid // 2:
        raise ValueError(f"frequencies must lie in [0, {grid // 2}), got {list(frequencies)}")
    x = circle_inputs(2 * np.pi * np.arange(grid) / grid, dtype=torch.float64)
    row = analytic_ntk(
        x[:1],
        x,
        depth=depth,
        activation=activation,  # type: ignore[arg-type]
        weight_std=weight_std,
        bias_std=bias_std,
    ).ntk[0]
    return circle_spectrum(row.numpy())[ks]


def kernel_half_time(eigenvalue: float | np.ndarray, lr: float) -> np.ndarray:
    """Steps of GD on ``(1/n) Σ (f − y)²`` in the kernel regime until a mode of eigenvalue
    ``λ`` has halved: ``ln 2 / −ln|1 − 2ηλ|`` (≈ ln 2 / (2ηλ) for small ``ηλ``).

    >>> float(kernel_half_time(0.25, 1.0))
    1.0
    """
    lam = np.asarray(eigenvalue, dtype=np.float64)
    factor = np.abs(1.0 - 2.0 * lr * lam)
    with np.errstate(divide="ignore"):
        return np.where(factor < 1.0, math.log(2.0) / -np.log(factor), np.inf)


def fourier_amplitudes(
    residuals: np.ndarray,
    theta: np.ndarray,
    frequencies: Sequence[int],
    *,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """Amplitude ``√(a_k² + b_k²)`` of each frequency in ``residuals`` (``(T, n)`` or ``(n,)``)
    on the points at angles ``theta``, from the least-squares fit of ``c + Σ_k a_k cos kθ +
    b_k sin kθ`` (on the points selected by the mask ``where``, if given).

    On ``n`` equispaced points (all of them) with frequencies below ``n/2`` the fit is the
    discrete Fourier projection, ``a_k = (2/n) Σ r_i cos kθ_i``, and other frequencies do not
    leak in; on a region it is the local amplitude of each frequency.

    Returns:
        ``(T, len(frequencies))`` (or ``(len(frequencies),)`` for one residual).
    """
    r = np.asarray(residuals, dtype=np.float64)
    t = np.asarray(theta, dtype=np.float64)
    single = r.ndim == 1
    r = r.reshape(-1, t.size)
    if where is not None:
        mask = np.asarray(where, dtype=bool)
        r, t = r[:, mask], t[mask]
    ks = np.asarray(frequencies, dtype=np.float64)
    basis = np.concatenate(
        [np.ones((t.size, 1)), np.cos(np.outer(t, ks)), np.sin(np.outer(t, ks))], axis=1
    )
    if t.size < basis.shape[1] or np.linalg.matrix_rank(basis) < basis.shape[1]:
        raise ValueError(
            f"{t.size} points cannot separate frequencies {list(frequencies)}; use more points"
        )
    coef, *_ = np.linalg.lstsq(basis, r.T, rcond=None)
    m = ks.size
    amp = np.sqrt(coef[1 : 1 + m] ** 2 + coef[1 + m :] ** 2).T
    return amp[0] if single else amp


def half_times(steps: Sequence[float], amplitudes: np.ndarray, *, fraction: float = 0.5):
    """For each column of ``amplitudes`` (``(T, m)``, recorded at ``steps``), the first step at
    which it has fallen to ``fraction`` of its initial value (log-linear interpolation between
    records; NaN if it never does)."""
    a = np.asarray(amplitudes, dtype=np.float64)
    s = np.asarray(steps, dtype=np.float64)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction}")
    logs = -np.log(np.maximum(a, 1e-300))
    return np.array(
        [crossing_time(s, logs[:, j], logs[0, j] - math.log(fraction)) for j in range(a.shape[1])]
    )


class ResidualRecorder(PeriodicCallback):
    """Record the residual ``f(x) − y`` of a one-output model on fixed inputs every ``every``
    steps (and at the start and end of training): ``residuals()`` is ``(T, n)`` float64, and
    ``steps`` the step of each row.

    Args:
        x: inputs ``(n, d)``.
        y: targets ``(n,)`` or ``(n, 1)``.
        every: steps between records.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, every: int) -> None:
        super().__init__(every=every)
        self.x = x
        self.y = y.detach().reshape(-1).double()
        if self.y.numel() != x.shape[0]:
            raise ValueError(f"{x.shape[0]} inputs but {self.y.numel()} targets")
        self._rows: list[torch.Tensor] = []

    def measure(self, state: TrainState) -> None:
        model = state.subject.model
        with torch.no_grad():
            out = model(self.x.to(next(model.parameters()).dtype))
        if out.reshape(len(self.x), -1).shape[1] != 1:
            raise ValueError("ResidualRecorder needs a model with one output")
        self._rows.append(out.reshape(-1).double() - self.y)

    def residuals(self) -> np.ndarray:
        if not self._rows:
            raise RuntimeError("nothing recorded yet; pass the recorder to fit(callbacks=[...])")
        return torch.stack(self._rows).numpy()


__all__ = [
    "ResidualRecorder",
    "circle_inputs",
    "circle_spectrum",
    "fourier_amplitudes",
    "half_times",
    "kernel_half_time",
    "ntk_circle_spectrum",
]
