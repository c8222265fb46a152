"""``ntk_probe``: the empirical NTK of a subject on its data, its spectrum, its alignment with
the labels, and kernel regression with it compared with the network itself."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from occamlab.jsonable import jsonable
from occamlab.probes.kernels.cost import NTKPlan
from occamlab.probes.kernels.distance import kernel_alignment
from occamlab.probes.kernels.empirical import empirical_ntk, plan_ntk
from occamlab.probes.kernels.regression import kernel_regression, one_hot
from occamlab.specs import make_spec
from occamlab.subject import Subject, loss_value


@dataclass(frozen=True)
class NTKSpec:
    """Options of :func:`ntk_probe` (and the flags of ``occam probe ntk``).

    Attributes:
        method: auto (cost model), jacobian, vector_products or structured.
        mode: trace (the output-traced kernel, n × n) or full (all outputs, nk × nk).
        limit: training inputs the kernel is computed on.
        test_limit: test inputs for kernel regression (0: skip the regression).
        ridge: ridge added to the kernel's diagonal, relative to its mean diagonal.
        memory_mb: memory budget per block of the kernel computation.
        dtype: arithmetic precision.
    """

    method: Literal["auto", "jacobian", "vector_products", "structured"] = "auto"
    mode: Literal["trace", "full"] = "trace"
    limit: int = 200
    test_limit: int = 500
    ridge: float = 1e-6
    memory_mb: float = 1024.0
    dtype: Literal["float32", "float64"] = "float32"

    def __post_init__(self) -> None:
        if self.limit < 2:
            raise ValueError(f"limit must be >= 2, got {self.limit}")
        if self.test_limit < 0 or self.ridge < 0 or self.memory_mb <= 0:
            raise ValueError("test_limit and ridge must be >= 0 and memory_mb positive")


@dataclass(frozen=True)
class NTKReport:
    """What :func:`ntk_probe` measured (kernel matrices kept out of ``to_dict``)."""

    spec: NTKSpec
    plan: NTKPlan
    eigenvalues: list[float]
    trace: float
    alignment: float
    regression: dict[str, Any] | None
    num_inputs: int
    num_parameters: int
    seconds: float
    kernel: torch.Tensor = field(repr=False, compare=False)
    labels: torch.Tensor = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        top = self.eigenvalues[0]
        positive = [v for v in self.eigenvalues if v > 0]
        return jsonable(
            {
                "spec": self.spec,
                "plan": self.plan.to_dict(),
                "eigenvalues": self.eigenvalues[:50],
                "lambda_max": top,
                "lambda_min": self.eigenvalues[-1],
                "condition_number": top / positive[-1] if positive else None,
                "effective_rank": self.trace / top if top > 0 else None,
                "trace": self.trace,
                "label_alignment": self.alignment,
                "regression": self.regression,
                "num_inputs": self.num_inputs,
                "num_parameters": self.num_parameters,
                "evaluated_in_eval_mode": True,
                "seconds": self.seconds,
            }
        )

    def plot(self, axes=None):
        """The kernel (inputs sorted by label) and its eigenvalues."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 4))
        k = self.kernel if self.kernel.ndim == 2 else self.kernel.diagonal(dim1=2, dim2=3).sum(-1)
        order = torch.argsort(self.labels, stable=True) if self.labels.ndim == 1 else None
        if order is not None:
            k = k[order][:, order]
        image = axes[0].imshow(k.numpy(), cmap="magma")
        axes[0].figure.colorbar(image, ax=axes[0])
        axes[0].set(title="empirical NTK (sorted by label)", xlabel="input", ylabel="input")
        axes[1].semilogy(range(1, len(self.eigenvalues) + 1), self.eigenvalues, ".-")
        axes[1].set(xlabel="index", ylabel="eigenvalue", title="NTK spectrum")
        return axes


def _targets(subject: Subject, y: torch.Tensor) -> torch.Tensor:
    if subject.data.task == "classification":
        return one_hot(y, subject.data.num_outputs)
    return y.double().reshape(len(y), -1)


def ntk_probe(subject: Subject, *, spec: NTKSpec | None = None, **options: Any) -> NTKReport:
    """The empirical NTK of ``subject`` at its current parameters (options: :class:`NTKSpec`).

    Eigenvalues of the ``n × n`` (trace) or ``nk × nk`` (full) kernel on the first ``limit``
    training inputs; the centered alignment with the labels (one-hot for classification); and
    kernel regression of the training targets with ridge ``ridge · mean(diag K)``, evaluated on
    the first ``test_limit`` test inputs next to the network's own accuracy (or mse) there.
    """
    spec = make_spec(NTKSpec, {**(spec.__dict__ if spec else {}), **options})
    started = time.perf_counter()
    dtype = torch.float64 if spec.dtype == "float64" else torch.float32
    train = subject.data.train
    n = min(spec.limit, len(train))
    x, y = train.x[:n], train.y[:n]
    kw = {"method": spec.method, "mode": spec.mode, "memory_mb": spec.memory_mb, "dtype": dtype}
    plan = plan_ntk(subject.model, x, **kw)
    kernel = empirical_ntk(subject.model, x, **kw).double()
    k = subject.data.num_outputs
    matrix = kernel if spec.mode == "trace" else kernel.permute(0, 2, 1, 3).reshape(n * k, n * k)
    eigenvalues = torch.linalg.eigvalsh(matrix).flip(0).tolist()
    targets = _targets(subject, y)
    traced = kernel if spec.mode == "trace" else kernel.diagonal(dim1=2, dim2=3).sum(-1)
    alignment = kernel_alignment(traced, targets)
    regression = None
    test = subject.data.test
    m = min(spec.test_limit, len(test))
    if m > 0:
        xt, yt = test.x[:m], test.y[:m]
        cross = empirical_ntk(subject.model, xt, x, **kw).double()
        ridge = spec.ridge * float(matrix.diagonal().mean())
        if spec.mode == "trace":
            fitted = kernel_regression(matrix, targets, ridge=ridge)
            predictions = fitted.predict(cross)
        else:
            fitted = kernel_regression(matrix, targets.reshape(-1, 1), ridge=ridge)
            predictions = fitted.predict(cross.permute(0, 2, 1, 3).reshape(m * k, n * k))
            predictions = predictions.reshape(m, k)
        with torch.no_grad(), subject.eval_mode():
            network = subject.model(xt).double()
        regression = {"num_test": m, "ridge": ridge}
        if subject.data.task == "classification":
            regression["ntk_accuracy"] = float((predictions.argmax(1) == yt).double().mean())
            regression["network_accuracy"] = float((network.argmax(1) == yt).double().mean())
            regression["agreement"] = float(
                (predictions.argmax(1) == network.argmax(1)).double().mean()
            )
        else:
            regression["ntk_mse"] = float(loss_value(predictions, yt.double(), "mse"))
            regression["network_mse"] = float(loss_value(network, yt.double(), "mse"))
    return NTKReport(
        spec=spec,
        plan=plan,
        eigenvalues=eigenvalues,
        trace=float(matrix.diagonal().sum()),
        alignment=alignment,
        regression=regression,
        num_inputs=n,
        num_parameters=sum(p.numel() for p in subject.params().values()),
        seconds=time.perf_counter() - started,
        kernel=kernel,
        labels=y,
    )
