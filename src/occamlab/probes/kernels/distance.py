"""How far a kernel moves and how well it fits the labels.

* :func:`kernel_distance` — ``d(K₀, K₁) = 1 − ⟨K₀, K₁⟩_F / (‖K₀‖_F ‖K₁‖_F)`` (Fort et al. 2020,
  arXiv 2010.15110, eq. 3): 0 when the kernels are proportional, up to 1.
* :func:`kernel_alignment` — ``A(K, Y) = ⟨K, YYᵀ⟩_F / (‖K‖_F ‖YYᵀ‖_F)`` (Cristianini et al.
  2002), optionally with both matrices centered (Cortes et al. 2012).
* :class:`KernelDistanceMonitor` — a training callback recording the distance between the NTK
  at the start of training and the NTK now, on fixed inputs: near 0 in the lazy regime, large
  when features are learned (Chizat et al. 2019, arXiv 1812.07956).
"""

from __future__ import annotations

import torch

from occamlab.train.loop import PeriodicCallback, TrainState


def _center(k: torch.Tensor) -> torch.Tensor:
    return k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()


def kernel_distance(k0: torch.Tensor, k1: torch.Tensor) -> float:
    """Fort et al.'s kernel distance between two kernel matrices of the same shape."""
    if k0.shape != k1.shape:
        raise ValueError(f"kernels differ in shape: {tuple(k0.shape)} vs {tuple(k1.shape)}")
    a, b = k0.double().flatten(), k1.double().flatten()
    norm = float(a.norm() * b.norm())
    if norm == 0:
        raise ValueError("kernel distance is undefined for a zero kernel")
    return float(1.0 - (a @ b) / norm)


def kernel_alignment(k: torch.Tensor, y: torch.Tensor, *, centered: bool = True) -> float:
    """Alignment of a kernel ``(n, n)`` with targets ``y`` (``(n,)`` or ``(n, c)``; one-hot
    class labels for classification): the cosine between ``K`` and ``YYᵀ``."""
    k = k.double()
    y = y.double().reshape(y.shape[0], -1)
    if k.shape != (y.shape[0], y.shape[0]):
        raise ValueError(f"kernel {tuple(k.shape)} does not match {y.shape[0]} targets")
    t = y @ y.T
    if centered:
        k, t = _center(k), _center(t)
    norm = float(k.norm() * t.norm())
    if norm == 0:
        raise ValueError("alignment is undefined for a zero (centered) kernel or constant targets")
    return float((k * t).sum() / norm)


class KernelDistanceMonitor(PeriodicCallback):
    """Record the NTK's movement during training on fixed inputs ``x``.

    ``records`` holds ``{"step", "kernel_distance", "parameter_distance"}`` every ``every``
    steps and at the end, with ``kernel_distance = d(Θ₀, Θ_t)`` of the output-traced NTK and
    ``parameter_distance = ‖θ_t − θ₀‖ / ‖θ₀‖``. ``initial_kernel`` and ``kernel`` hold ``Θ₀`` and
    the latest ``Θ_t`` (``(n, n)``, float64).

    Args:
        x: the probe inputs (a few hundred at most; the kernel is ``n × n``).
        every: steps between measurements.
        memory_mb: memory budget of each kernel computation.
    """

    def __init__(self, x: torch.Tensor, *, every: int = 50, memory_mb: float = 512.0):
        super().__init__(every=every)
        self.x, self.memory_mb = x, memory_mb
        self.records: list[dict[str, float]] = []
        self.initial_kernel: torch.Tensor | None = None
        self.kernel: torch.Tensor | None = None
        self._theta0: torch.Tensor | None = None

    def _kernel(self, state: TrainState) -> torch.Tensor:
        from occamlab.probes.kernels.empirical import empirical_ntk

        return empirical_ntk(
            state.subject.model, self.x, mode="trace", memory_mb=self.memory_mb
        ).double()

    def _flat(self, state: TrainState) -> torch.Tensor:
        return torch.cat(
            [p.detach().reshape(-1).double() for p in state.subject.model.parameters()]
        )

    def measure(self, state: TrainState) -> None:
        kernel = self._kernel(state)
        theta = self._flat(state)
        if self.initial_kernel is None:
            self.initial_kernel, self._theta0 = kernel, theta
        assert self._theta0 is not None
        self.kernel = kernel
        self.records.append(
            {
                "step": state.step,
                "kernel_distance": kernel_distance(self.initial_kernel, kernel),
                "parameter_distance": float(
                    (theta - self._theta0).norm() / self._theta0.norm().clamp_min(1e-300)
                ),
            }
        )
