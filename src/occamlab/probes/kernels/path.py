"""The path kernel of a gradient-descent trajectory (Domingos 2020, arXiv 2012.00152).

Along gradient flow ``dw/dt = −∇_w L`` on ``L(w) = Σ_i ℓ(f(x_i; w), y_i)``, the output at any
input ``x`` moves as ``df(x)/dt = Σ_i Θ_t(x, x_i) (−∂L/∂f(x_i))`` with ``Θ_t`` the tangent
kernel at ``w(t)``, so after training

    ``f(x; w_T) − f(x; w_0) = Σ_i ∫ Θ_t(x, x_i) (−∂L/∂f(x_i; w(t))) dt``

exactly: a kernel machine over the training points whose kernel is the *path kernel*
``K(x, x_i) = ∫ Θ_t(x, x_i) dt`` (Domingos's Theorem 1 writes the same sum as
``Σ_i a_i K(x, x_i)`` with ``a_i`` the path-averaged loss derivatives). Gradient descent with
steps ``η_t`` discretizes the integrals:

    ``K(x, x_i) ≈ Σ_t η_t Θ(x, x_i; w_t)``,
    ``Δf(x) ≈ Σ_t η_t Σ_i Θ(x, x_i; w_t) (−∂L/∂f(x_i; w_t))``,

and each step's first-order Taylor error is ``O(η²)``, so over a fixed training time
``T = Σ_t η_t`` the kernel machine misses the network's change by ``O(η)``.

:class:`PathKernelMonitor` accumulates both sums during :func:`occamlab.train.fit` (full-batch
plain gradient descent), computing each step's kernel with :func:`empirical_ntk`;
:func:`path_kernel` trains a copy of a subject with it and returns a :class:`PathKernelResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from occamlab.linalg.hessian import prepare_forward_ad
from occamlab.notebook import HtmlRepr
from occamlab.probes.kernels.cost import NTKPlan
from occamlab.probes.kernels.distance import kernel_distance
from occamlab.probes.kernels.empirical import compute, plan_ntk
from occamlab.probes.kernels.functional import FunctionalModel, eval_mode
from occamlab.subject import Subject, loss_value
from occamlab.train.loop import Callback, TrainState, fit
from occamlab.train.spec import TrainSpec


def _check_plain_gd(state: TrainState) -> None:
    spec = state.spec
    n = len(state.subject.data.train)
    problems = []
    if spec.optimizer != "sgd" or spec.momentum != 0:
        problems.append("optimizer='sgd' with momentum=0")
    if 0 < spec.batch_size < n:
        problems.append("batch_size=0 (full batch)")
    if spec.weight_decay != 0:
        problems.append("weight_decay=0")
    if spec.grad_clip != 0:
        problems.append("grad_clip=0")
    if state.objective is not None:
        problems.append("the subject's own loss (no objective)")
    if len(state.optimizer.param_groups) != 1:
        problems.append("one parameter group")
    model = state.subject.model
    if state.subject.stochastic_layers or any(isinstance(m, _BatchNorm) for m in model.modules()):
        # the step runs in training mode, the tangent kernel in evaluation mode: they must agree
        problems.append("a model without dropout or batch norm")
    if problems:
        raise ValueError(
            "the path kernel follows plain full-batch gradient descent; train with "
            + ", ".join(problems)
        )


class PathKernelMonitor(Callback):
    """Accumulate the path kernel and the kernel machine's prediction at inputs ``x``.

    Before every gradient step (at ``w_t``) the monitor computes the tangent kernel
    ``Θ_t = Θ(x, X; w_t)`` between ``x`` and the training inputs ``X`` (``(m, n, k, k)``, as
    :func:`~occamlab.probes.kernels.empirical_ntk` does, following one plan made at the start:
    the method and chunks depend on the shapes, not on the weights) and the loss derivative
    ``g_t = ∂L/∂f(X; w_t)`` (``(n, k)``, of the subject's mean loss, the one the step
    descends); after the step it adds ``η_t Θ_t`` to ``kernel`` and
    ``η_t Σ_i Θ_t[:, i] (−g_t[i])`` to ``prediction``.

    Attributes (after training):
        kernel: the discretized path kernel ``Σ_t η_t Θ_t`` ``(m, n, k, k)``, float64.
        initial_ntk: ``Θ_0`` ``(m, n, k, k)``, float64.
        prediction: the kernel machine's change of the outputs at ``x`` ``(m, k)``.
        initial_prediction: the same sum with the kernel frozen at ``Θ_0``,
            ``Σ_t η_t Σ_i Θ_0[:, i] (−g_t[i])`` (what the initial NTK alone explains).
        initial_output, final_output: ``f(x; w_0)`` and ``f(x; w_T)`` ``(m, k)``.
        time: the training time ``Σ_t η_t``.
        steps: gradient steps accumulated.

    Args:
        x: the query inputs ``(m, *input_shape)`` (a few dozen: one ``m × n`` kernel per step).
        memory_mb: memory budget of each kernel computation.

    Raises:
        ValueError: at the start of training, when the recipe is not plain full-batch gradient
            descent (SGD without momentum, weight decay or clipping, on the subject's loss).
    """

    def __init__(self, x: torch.Tensor, *, memory_mb: float = 256.0) -> None:
        self.x = x
        self.memory_mb = memory_mb
        self.kernel: torch.Tensor | None = None
        self.initial_ntk: torch.Tensor | None = None
        self.prediction: torch.Tensor | None = None
        self.initial_prediction: torch.Tensor | None = None
        self.initial_output: torch.Tensor | None = None
        self.final_output: torch.Tensor | None = None
        self.time = 0.0
        self.steps = 0
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None
        self._plan: NTKPlan | None = None

    def _outputs(self, state: TrainState, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), state.subject.eval_mode():
            return state.subject.model(x).double()

    def _snapshot(self, state: TrainState) -> tuple[torch.Tensor, torch.Tensor]:
        """``Θ(x, X; w)`` and ``−∂L/∂f(X; w)`` at the current weights."""
        subject = state.subject
        train = subject.data.train
        model = subject.model
        if self._plan is None:
            self._plan = plan_ntk(model, self.x, train.x, memory_mb=self.memory_mb)
            prepare_forward_ad()
        fm = FunctionalModel.of(model)
        with eval_mode(model):
            theta = compute(fm, self._plan, fm.inputs(self.x), fm.inputs(train.x)).double()
        with torch.enable_grad(), subject.eval_mode():
            out = subject.model(train.x).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(loss_value(out, train.y, subject.loss), out)
        return theta, -grad.double()

    def on_train_begin(self, state: TrainState) -> None:
        _check_plain_gd(state)
        self.initial_output = self._outputs(state, self.x)
        self.time, self.steps = 0.0, 0
        self._pending = self._snapshot(state)
        self.initial_ntk = self._pending[0]
        self.kernel = torch.zeros_like(self.initial_ntk)
        self.prediction = torch.zeros_like(self.initial_output)
        self.initial_prediction = torch.zeros_like(self.initial_output)

    def on_step_end(self, state: TrainState) -> None:
        assert self._pending is not None and self.kernel is not None
        assert self.prediction is not None and self.initial_prediction is not None
        eta = float(state.optimizer.param_groups[0]["lr"])
        theta, neg_grad = self._pending
        self.kernel += eta * theta
        self.prediction += eta * torch.einsum("miab,ib->ma", theta, neg_grad)
        self.initial_prediction += eta * torch.einsum("miab,ib->ma", self.initial_ntk, neg_grad)
        self.time += eta
        self.steps += 1
        last = state.step >= state.total_steps
        self._pending = None if last else self._snapshot(state)

    def on_train_end(self, state: TrainState) -> None:
        self.final_output = self._outputs(state, self.x)


@dataclass(frozen=True)
class PathKernelResult(HtmlRepr):
    """The path kernel of one training run and how well its kernel machine explains it.

    Attributes:
        kernel: the path kernel ``Σ_t η_t Θ_t(x, x_i)`` ``(m, n, k, k)``.
        initial_ntk: the tangent kernel at initialization ``Θ_0(x, x_i)`` ``(m, n, k, k)``.
        change: the network's change ``f(x; w_T) − f(x; w_0)`` ``(m, k)``.
        prediction: the kernel machine's ``Σ_t η_t Σ_i Θ_t(x, x_i)(−∂L/∂f(x_i))`` ``(m, k)``.
        initial_prediction: the same with ``Θ_0`` in place of ``Θ_t`` ``(m, k)``.
        time: the training time ``T = Σ_t η_t``.
        steps: gradient steps.
    """

    kernel: torch.Tensor
    initial_ntk: torch.Tensor
    change: torch.Tensor
    prediction: torch.Tensor
    initial_prediction: torch.Tensor
    time: float
    steps: int

    @property
    def residual(self) -> float:
        """``‖Δf − prediction‖ / ‖Δf‖`` over the query inputs (0 for an exact kernel machine)."""
        return float((self.change - self.prediction).norm() / self.change.norm().clamp_min(1e-300))

    @property
    def initial_residual(self) -> float:
        """``‖Δf − initial_prediction‖ / ‖Δf‖``: how much of the change the initial NTK misses."""
        gap = self.change - self.initial_prediction
        return float(gap.norm() / self.change.norm().clamp_min(1e-300))

    @property
    def distance_to_initial_ntk(self) -> float:
        """Fort et al.'s kernel distance between the path kernel and ``T·Θ_0`` (scale-free:
        0 when the path kernel is the initial NTK integrated over the training time)."""
        return kernel_distance(self.initial_ntk, self.kernel)

    @classmethod
    def of(cls, monitor: PathKernelMonitor) -> PathKernelResult:
        """The result a monitor accumulated (after training)."""
        parts = (
            monitor.kernel,
            monitor.initial_ntk,
            monitor.prediction,
            monitor.initial_prediction,
        )
        if any(p is None for p in parts) or monitor.final_output is None:
            raise ValueError("the monitor has not seen a training run; pass it to fit first")
        assert monitor.initial_output is not None
        return cls(
            kernel=monitor.kernel,  # type: ignore[arg-type]
            initial_ntk=monitor.initial_ntk,  # type: ignore[arg-type]
            change=monitor.final_output - monitor.initial_output,
            prediction=monitor.prediction,  # type: ignore[arg-type]
            initial_prediction=monitor.initial_prediction,  # type: ignore[arg-type]
            time=monitor.time,
            steps=monitor.steps,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "steps": self.steps,
            "residual": self.residual,
            "initial_residual": self.initial_residual,
            "distance_to_initial_ntk": self.distance_to_initial_ntk,
            "change": self.change.tolist(),
            "prediction": self.prediction.tolist(),
            "initial_prediction": self.initial_prediction.tolist(),
        }


def path_kernel(
    subject: Subject,
    recipe: TrainSpec,
    *,
    x: torch.Tensor | None = None,
    memory_mb: float = 256.0,
) -> PathKernelResult:
    """Train a copy of ``subject`` by full-batch gradient descent with ``recipe``; its path
    kernel at inputs ``x`` (default: the test split) and its kernel machine.

    The subject itself is not modified.

    Examples:
        >>> import torch
        >>> from occamlab.data.base import Data, Split
        >>> g = torch.Generator().manual_seed(0)
        >>> X, Xt = torch.randn(6, 2, generator=g), torch.randn(3, 2, generator=g)
        >>> data = Data("toy", Split(X, X[:, :1]), Split(Xt, Xt[:, :1]), "regression", 1)
        >>> net = torch.nn.Linear(2, 1, bias=False)
        >>> gd = TrainSpec(lr=0.1, momentum=0.0, batch_size=0, epochs=5, schedule="constant")
        >>> r = path_kernel(Subject(net, data, loss="mse"), gd)
        >>> torch.allclose(r.kernel[..., 0, 0], 5 * 0.1 * Xt.double() @ X.double().T)
        True
        >>> r.residual < 1e-6  # a linear model is its own kernel machine
        True
    """
    trained = subject.clone()
    monitor = PathKernelMonitor(subject.data.test.x if x is None else x, memory_mb=memory_mb)
    fit(trained, recipe, callbacks=[monitor])
    return PathKernelResult.of(monitor)
