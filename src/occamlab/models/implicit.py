"""Implicit (deep-equilibrium) networks: ``"deq"``, one fixed-point layer and a linear read-out.

The prediction rule of El Ghaoui et al. (2019, arXiv 1908.06315), the deep equilibrium model of
Bai, Kolter & Koltun (2019, arXiv 1909.01377) with a single-layer cell::

    z* = φ(A z* + B x + b),        ŷ = C z* + D x + c

with φ = ReLU or tanh, componentwise non-expansive (|φ(s) − φ(t)| ≤ |s − t|). **Well-posedness**
(a unique z* for every x): El Ghaoui et al.'s sufficient condition ‖A‖_∞ = max_i Σ_j |A_ij| < 1
makes z ↦ φ(Az + u) a contraction in the ∞-norm with constant ‖A‖_∞, so the fixed point exists,
is unique, and Picard iteration reaches it with ‖z_k − z*‖_∞ ≤ ‖A‖_∞^k ‖z_0 − z*‖_∞. The
condition is kept by parameterization, so that any optimizer trains the layer as an ordinary
module: the stored weight W is mapped row by row to

    A_i = W_i · min(1, κ / ‖W_i‖_1)        (so ‖A‖_∞ ≤ κ < 1 for every W)

— the projection of each row onto the ℓ1 ball of radius κ by rescaling, which is El Ghaoui et
al.'s ∞-norm ball, applied inside the forward pass instead of after each step.

**Forward**: the fixed point is solved without recording a graph, by Picard iteration or by
Anderson acceleration (Walker & Ni 2011), to a relative residual ‖f(z) − z‖_∞ ≤ tol·‖f(z)‖_∞.

**Backward** (implicit function theorem): with J = diag(φ'(Az* + u)) A the Jacobian of the cell
at z*, the gradient of a loss ℓ(z*) is obtained from the adjoint fixed point
λ = g + Jᵀλ (g = ∂ℓ/∂z*), solved by Picard iteration (a contraction in the 1-norm: ‖Jᵀ‖_1 =
‖J‖_∞ ≤ κ), and ∂ℓ/∂u = φ'⊙λ, ∂ℓ/∂A = (φ'⊙λ) z*ᵀ. The backward is written in differentiable
operations on z* (the saved output, whose own derivative is again this backward), A and u, so
``create_graph=True`` differentiates it once more: Hessian-vector products by double backward
are those of the exact implicit function, up to the adjoint solver's tolerance.

What the layer refuses: ``torch.func`` transforms that batch it (``vmap``: the solver's
stopping rule reads the residual) or push tangents forward through it (``jvp``: forward mode is
not implemented); both raise a one-line reason. Double backward, ``torch.func.functional_call``
and float64 evaluation work as for any module.

Examples:
    >>> from occamlab.models import build_model, model_spec
    >>> spec = model_spec("deq", width=16)
    >>> net = build_model(spec, input_shape=(40,), num_outputs=10, seed=0)
    >>> spec.num_parameters((40,), 10) == sum(p.numel() for p in net.parameters())
    True
    >>> bool(infinity_norm(net.features.matrix()) <= spec.kappa)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

import torch
from torch import nn

from occamlab.models.init import InitScheme, Nonlinearity
from occamlab.models.layers import Network
from occamlab.models.registry import MODELS, ModelSpec, check_fields, flat_size

ImplicitActivation = Literal["relu", "tanh"]
IMPLICIT_ACTIVATIONS: tuple[str, ...] = get_args(ImplicitActivation)
Solver = Literal["anderson", "picard"]
SOLVERS: tuple[str, ...] = get_args(Solver)

VMAP_REFUSAL = (
    "the deq model's fixed-point solver cannot run under torch.func.vmap (its stopping rule "
    "reads the residual); train it sequentially and use per-batch, not per-example, products"
)
JVP_REFUSAL = (
    "the deq model has no forward-mode derivative; use reverse mode (for Hessian-vector "
    "products the Hessian's method='double_backward', its default)"
)


def infinity_norm(matrix: torch.Tensor) -> torch.Tensor:
    """‖A‖_∞ = max_i Σ_j |A_ij|, the operator norm induced by the ∞-norm (the largest row ℓ1
    norm).

    >>> float(infinity_norm(torch.tensor([[0.5, -0.25], [0.1, 0.1]])))
    0.75
    """
    return matrix.abs().sum(dim=1).max()


def well_posed(weight: torch.Tensor, kappa: float) -> torch.Tensor:
    """The rows of ``weight`` with ℓ1 norm above ``kappa`` rescaled onto it: ‖result‖_∞ ≤ κ.

    Rows inside the ball are unchanged; the map is continuous and differentiable wherever no
    row sits exactly on the sphere.

    >>> well_posed(torch.tensor([[2.0, -2.0], [0.1, 0.2]]), 0.5)
    tensor([[ 0.2500, -0.2500],
            [ 0.1000,  0.2000]])
    """
    norms = weight.abs().sum(dim=1, keepdim=True)
    return weight * torch.clamp(kappa / norms.clamp_min(torch.finfo(weight.dtype).tiny), max=1.0)


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """φ for one of :data:`IMPLICIT_ACTIVATIONS`."""
    return torch.relu if name == "relu" else torch.tanh


def activation_derivative(name: str, pre: torch.Tensor) -> torch.Tensor:
    """φ'(pre), differentiable where φ' is (tanh: 1 − tanh²; ReLU: the step, derivative 0)."""
    if name == "relu":
        return (pre > 0).to(pre.dtype)
    return 1.0 - torch.tanh(pre) ** 2


def _relative_residual(new: torch.Tensor, old: torch.Tensor) -> float:
    """‖new − old‖_∞ / ‖new‖_∞ over the whole batch (0 when both vanish)."""
    scale = float(new.abs().max()) if new.numel() else 0.0
    step = float((new - old).abs().max()) if new.numel() else 0.0
    return step / scale if scale > 0 else step


@dataclass(frozen=True)
class SolveReport:
    """What one fixed-point solve did.

    Attributes:
        iterations: applications of the map.
        residuals: the relative residual ‖f(z_k) − z_k‖_∞ / ‖f(z_k)‖_∞ after each application.
        converged: whether the last residual is at most the tolerance.
    """

    iterations: int
    residuals: tuple[float, ...]
    converged: bool


def picard(
    f: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor, *, tol: float, max_iter: int
) -> tuple[torch.Tensor, SolveReport]:
    """Picard iteration z_{k+1} = f(z_k) until the relative residual is at most ``tol``.

    Returns the last iterate f(z_k) and the report.
    """
    z, residuals = z0, []
    for _ in range(max_iter):
        new = f(z)
        residuals.append(_relative_residual(new, z))
        z = new
        if residuals[-1] <= tol:
            break
    return z, SolveReport(len(residuals), tuple(residuals), bool(residuals[-1] <= tol))


def anderson(
    f: Callable[[torch.Tensor], torch.Tensor],
    z0: torch.Tensor,
    *,
    tol: float,
    max_iter: int,
    memory: int = 5,
    regularization: float = 1e-8,
) -> tuple[torch.Tensor, SolveReport]:
    """Anderson acceleration (type II, Walker & Ni 2011), each example of the batch its own
    problem: the next iterate is Σ_j α_j f(z_j) over the last ``memory`` iterates, with α the
    affine combination (Σα = 1) of least squared residual ‖Σ α_j (f(z_j) − z_j)‖²
    (Tikhonov-regularized by ``regularization`` times the Gram matrix's mean diagonal, at
    least 100 machine epsilons of the dtype, so that rounding cannot make it singular).

    Returns the last f(z_k) and the report (residuals as in :func:`picard`).
    """
    batch = z0.shape[0]
    flat0 = z0.reshape(batch, -1)
    xs, fs, residuals = [flat0], [f(z0).reshape(batch, -1)], []
    residuals.append(_relative_residual(fs[0], xs[0]))
    out = fs[0]
    while residuals[-1] > tol and len(residuals) < max_iter:
        xs, fs = xs[-memory:], fs[-memory:]
        g = torch.stack([b - a for a, b in zip(xs, fs, strict=True)], dim=1)  # (batch, m, n)
        m = g.shape[1]
        gram = g @ g.transpose(1, 2)
        scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # a solved example
        ridge = max(regularization, 100 * torch.finfo(g.dtype).eps)  # above the rounding
        eye = torch.eye(m, dtype=g.dtype, device=g.device)
        gram = gram + ridge * scale[:, None, None] * eye
        # α = G⁻¹1 / 1ᵀG⁻¹1: the affine least-squares weights
        ones = torch.ones(batch, m, 1, dtype=g.dtype, device=g.device)
        w = torch.linalg.solve(gram, ones)
        alpha = w / w.sum(dim=1, keepdim=True)
        nxt = (alpha.transpose(1, 2) @ torch.stack(fs, dim=1)).squeeze(1)
        value = f(nxt.reshape(z0.shape)).reshape(batch, -1)
        residuals.append(_relative_residual(value, nxt))
        xs.append(nxt)
        fs.append(value)
        out = value
    report = SolveReport(len(residuals), tuple(residuals), bool(residuals[-1] <= tol))
    return out.reshape(z0.shape), report


class FixedPoint(torch.autograd.Function):
    """z* = φ(A z* + u) (rows of ``u`` are examples; ``z @ A.T`` applies A), with the implicit
    function theorem's gradients in a differentiable backward (see the module docstring)."""

    @staticmethod
    def forward(matrix: torch.Tensor, injection: torch.Tensor, layer: ImplicitLayer):
        phi = activation_fn(layer.activation)

        def cell(z: torch.Tensor) -> torch.Tensor:
            return phi(z @ matrix.T + injection)

        start = torch.zeros_like(injection)
        if layer.solver == "anderson":
            z, report = anderson(
                cell, start, tol=layer.tol, max_iter=layer.max_iter, memory=layer.memory
            )
        else:
            z, report = picard(cell, start, tol=layer.tol, max_iter=layer.max_iter)
        layer.last_forward = report
        return z

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        matrix, injection, layer = inputs
        ctx.layer = layer
        ctx.save_for_backward(matrix, injection, output)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):
        matrix, injection, z = ctx.saved_tensors
        layer: ImplicitLayer = ctx.layer
        slope = activation_derivative(layer.activation, z @ matrix.T + injection)
        # adjoint fixed point λ = g + Jᵀλ, J = diag(φ') A: in rows, λ = g + (φ'⊙λ) A
        lam, residuals = grad, []
        for _ in range(layer.max_iter):
            new = grad + (slope * lam) @ matrix
            try:
                with torch.no_grad():
                    residuals.append(_relative_residual(new, lam))
            except RuntimeError as error:  # batched cotangents (jacrev): no residual to read
                raise NotImplementedError(VMAP_REFUSAL) from error
            lam = new
            if residuals[-1] <= layer.tol:
                break
        layer.last_backward = SolveReport(
            len(residuals), tuple(residuals), bool(residuals[-1] <= layer.tol)
        )
        weighted = slope * lam
        grad_matrix = weighted.T @ z if ctx.needs_input_grad[0] else None
        grad_injection = weighted if ctx.needs_input_grad[1] else None
        return grad_matrix, grad_injection, None

    @staticmethod
    def vmap(info: Any, in_dims: Any, *args: Any) -> Any:
        raise NotImplementedError(VMAP_REFUSAL)

    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> Any:
        raise NotImplementedError(JVP_REFUSAL)


class ImplicitLayer(nn.Module):
    """``x -> [z*(x), x]``: the equilibrium state beside the flattened input, for a linear head
    ``C z* + D x + c``.

    Attributes:
        A: the weight W of the recurrent map (the layer uses :meth:`matrix`, its well-posed
            rescaling, never W itself).
        B: the input injection ``B x + b``.
        activation, kappa, solver, tol, max_iter, memory: as in :class:`DEQSpec`.
        last_forward, last_backward: :class:`SolveReport` of the latest solve (diagnostics;
            they do not affect any result).
    """

    def __init__(
        self,
        in_features: int,
        width: int,
        *,
        activation: ImplicitActivation = "relu",
        kappa: float = 0.9,
        solver: Solver = "anderson",
        tol: float = 1e-5,
        max_iter: int = 300,
        memory: int = 5,
    ) -> None:
        super().__init__()
        self.A = nn.Linear(width, width, bias=False)
        self.B = nn.Linear(in_features, width)
        self.activation = activation
        self.kappa = kappa
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.memory = memory
        self.last_forward: SolveReport | None = None
        self.last_backward: SolveReport | None = None

    def matrix(self) -> torch.Tensor:
        """A = the rows of W rescaled into the ℓ1 ball of radius κ: ‖A‖_∞ ≤ κ < 1."""
        return well_posed(self.A.weight, self.kappa)

    def equilibrium(self, x: torch.Tensor) -> torch.Tensor:
        """z*(x), shape ``(batch, width)``."""
        flat = x.reshape(x.shape[0], -1)
        return FixedPoint.apply(self.matrix(), self.B(flat), self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(x.shape[0], -1)
        return torch.cat([self.equilibrium(flat), flat], dim=1)

    def extra_repr(self) -> str:
        return (
            f"activation={self.activation}, kappa={self.kappa}, solver={self.solver}, "
            f"tol={self.tol:g}, max_iter={self.max_iter}"
        )


@MODELS.register
@dataclass(frozen=True)
class DEQSpec(ModelSpec):
    """A deep equilibrium (implicit) network: z* = φ(A z* + B x + b), output C z* + D x + c.

    Attributes:
        width: dimension n of the equilibrium state z.
        activation: φ, componentwise non-expansive (``"relu"`` or ``"tanh"``).
        kappa: the well-posedness bound ‖A‖_∞ ≤ κ < 1 (also the solver's contraction factor).
        solver: ``"anderson"`` (accelerated) or ``"picard"`` for the forward fixed point; the
            adjoint is always solved by Picard iteration.
        tol: relative residual ‖f(z) − z‖_∞/‖f(z)‖_∞ at which both solves stop.
        max_iter: most applications of the map per solve.
        memory: iterates Anderson acceleration combines.
        init_contraction: ‖A‖_∞ at initialization, as a fraction of κ (W is drawn by ``init``
            and rescaled to it, so training starts inside the ball, where every direction of W
            moves A).
        init: weight initialization scheme of A, B and the head.
    """

    name: ClassVar[str] = "deq"

    width: int = 64
    activation: ImplicitActivation = "relu"
    kappa: float = 0.9
    solver: Solver = "anderson"
    tol: float = 1e-5
    max_iter: int = 300
    memory: int = 5
    init_contraction: float = 0.5
    init: InitScheme = "default"

    def __post_init__(self) -> None:
        check_fields(
            self,
            ints={"width": (1, 64), "max_iter": (1, 300), "memory": (1, 5)},
            choices={"activation": IMPLICIT_ACTIVATIONS, "solver": SOLVERS},
        )
        for field, value, low, high in (
            ("kappa", self.kappa, 0.0, 1.0),
            ("init_contraction", self.init_contraction, 0.0, 1.0),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low < value < high
            ):
                raise ValueError(
                    f"deq: {field} must lie strictly between {low:g} and {high:g} (e.g. "
                    f"{field}=0.5; κ < 1 is the well-posedness condition), got {value!r}"
                )
        if (
            isinstance(self.tol, bool)
            or not isinstance(self.tol, int | float)
            or not (0 < self.tol < 1)
        ):
            raise ValueError(f"deq: tol must lie in (0, 1) (e.g. tol=1e-5), got {self.tol!r}")

    @property
    def init_nonlinearity(self) -> Nonlinearity:
        return "relu" if self.activation == "relu" else "tanh"

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        d = flat_size(input_shape)
        layer = ImplicitLayer(
            d,
            self.width,
            activation=self.activation,
            kappa=self.kappa,
            solver=self.solver,
            tol=self.tol,
            max_iter=self.max_iter,
            memory=self.memory,
        )
        head = nn.Linear(self.width + d, num_outputs)
        return Network(layer, head, input_shape=input_shape, num_outputs=num_outputs)

    def build(
        self, *, input_shape: Sequence[int], num_outputs: int, generator: torch.Generator
    ) -> nn.Module:
        """As :meth:`ModelSpec.build`, then W rescaled so that ‖W‖_∞ = init_contraction · κ
        (no further draws)."""
        module = super().build(
            input_shape=input_shape, num_outputs=num_outputs, generator=generator
        )
        with torch.no_grad():
            weight = module.features.A.weight
            norm = float(infinity_norm(weight))
            if norm > 0:
                weight.mul_(self.init_contraction * self.kappa / norm)
        return module

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        """``n² + d·n + n`` (A, B, b) plus ``(n + d)·k + k`` (C, D, c), with n the width, d
        the flattened input size and k the number of outputs."""
        n, d, k = self.width, flat_size(input_shape), num_outputs
        return n * n + d * n + n + (n + d) * k + k


def width_for_parameters(target: int, input_size: int, num_outputs: int) -> int:
    """The DEQ width whose parameter count is closest to ``target``."""
    d, k = input_size, num_outputs
    # n² + (d + 1 + k)·n + d·k + k = target
    b = d + 1 + k
    root = (-b + math.sqrt(b * b + 4 * max(0, target - d * k - k))) / 2
    candidates = {max(1, math.floor(root)), max(1, math.ceil(root))}
    return min(candidates, key=lambda n: abs(n * n + b * n + d * k + k - target))


__all__ = [
    "DEQSpec",
    "FixedPoint",
    "IMPLICIT_ACTIVATIONS",
    "ImplicitLayer",
    "JVP_REFUSAL",
    "SOLVERS",
    "SolveReport",
    "VMAP_REFUSAL",
    "activation_derivative",
    "anderson",
    "infinity_norm",
    "picard",
    "well_posed",
    "width_for_parameters",
]
