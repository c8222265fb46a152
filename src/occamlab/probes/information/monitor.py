"""The information plane during training: a callback recording ``(I(X;T), I(T;Y))`` per layer.

Representations are read by forward hooks on the activation modules (each hidden layer's output
after its nonlinearity) plus the network's output (softmax probabilities for classification),
on fixed inputs, in eval mode and without gradients; the model is not modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from occamlab.models.layers import Erf
from occamlab.probes.information.estimators import binning_information, kde_information
from occamlab.probes.kernels.functional import eval_mode
from occamlab.train.loop import Callback, TrainState

Estimator = Literal["binning", "kde_upper", "kde_lower"]
ESTIMATORS: tuple[str, ...] = ("binning", "kde_upper", "kde_lower")
_ACTIVATIONS = (
    nn.ReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.ELU,
    nn.LeakyReLU,
    nn.SiLU,
    nn.Softplus,
    nn.Hardtanh,
    Erf,
)
_BOUNDED = {
    nn.Tanh: (-1.0, 1.0),
    nn.Sigmoid: (0.0, 1.0),
    Erf: (-1.0, 1.0),
    nn.Hardtanh: (-1.0, 1.0),
}


def activation_layers(model: nn.Module) -> list[str]:
    """Names of the activation modules of ``model``, in forward order of registration."""
    return [name for name, m in model.named_modules() if isinstance(m, _ACTIVATIONS)]


def representations(
    model: nn.Module, x: torch.Tensor, layers: Sequence[str], *, softmax: bool
) -> dict[str, torch.Tensor]:
    """Outputs of the modules ``layers`` and the network output (``"output"``) for inputs ``x``,
    flattened to ``(n, d)``; softmax probabilities when ``softmax``."""
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(f"unknown layers {unknown}; activation layers: {activation_layers(model)}")
    seen: dict[str, torch.Tensor] = {}
    handles = [
        modules[name].register_forward_hook(
            lambda mod, i, o, name=name: seen.__setitem__(name, o.detach().reshape(o.shape[0], -1))
        )
        for name in layers
    ]
    try:
        with eval_mode(model), torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    seen["output"] = out.softmax(dim=-1) if softmax else out
    return {name: seen[name] for name in [*layers, "output"]}


def layer_range(model: nn.Module, name: str) -> tuple[float, float] | None:
    """The bounded range of a layer's activation (tanh: ``[-1, 1]``), None if unbounded."""
    if name == "output":
        return None
    module = dict(model.named_modules())[name]
    for kind, bounds in _BOUNDED.items():
        if isinstance(module, kind):
            return bounds
    return None


def estimate(
    estimator: str,
    t: torch.Tensor,
    y: torch.Tensor,
    *,
    bins: int,
    noise_var: float,
    bounds: tuple[float, float] | None,
) -> tuple[float, float]:
    """``(I(X;T), I(T;Y))`` in bits with one of :data:`ESTIMATORS`."""
    if estimator == "binning":
        if bounds is None:  # unbounded units: bins as wide as a tanh unit's, 2/bins
            return binning_information(t, y, bins=bins, width=2.0 / bins)
        return binning_information(t, y, bins=bins, low=bounds[0], high=bounds[1])
    if estimator in ("kde_upper", "kde_lower"):
        return kde_information(t, y, noise_var=noise_var, bound=estimator.split("_")[1])
    raise ValueError(f"unknown estimator {estimator!r}; valid: {', '.join(ESTIMATORS)}")


class InformationPlaneMonitor(Callback):
    """Record the information plane of every layer every ``every`` epochs (and at the start).

    ``records`` holds ``{"epoch", "layer", "estimator", "bins", "i_xt", "i_ty"}`` (bits). Binning
    cuts the activation's own range where it is bounded into ``bins`` bins (tanh ``[-1, 1]``, as
    Shwartz-Ziv & Tishby 2017) and otherwise uses bins of the same width, ``2/bins``, at fixed
    positions (ReLU; as Saxe et al. 2018), so that a layer's bins do not change during training.

    Args:
        x: the inputs ``X`` (all of them for the 12-bit task).
        y: their class labels.
        every: epochs between estimates.
        estimators: any of ``binning``, ``kde_upper``, ``kde_lower``.
        bins: bin counts for ``binning`` (several show the estimator's sensitivity).
        noise_var: ``σ²`` of the kernel-density estimators.
        layers: module names to record (default: every activation module).
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        every: int = 1,
        estimators: Sequence[Estimator] = ("binning",),
        bins: Sequence[int] = (30,),
        noise_var: float = 0.1,
        layers: Sequence[str] | None = None,
    ):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        for e in estimators:
            if e not in ESTIMATORS:
                raise ValueError(f"unknown estimator {e!r}; valid: {', '.join(ESTIMATORS)}")
        if y.dtype != torch.int64:
            raise ValueError("the information plane needs class labels (int64) as y")
        self.x, self.y, self.every = x, y, every
        self.estimators, self.bins, self.noise_var = tuple(estimators), tuple(bins), noise_var
        self.layers = None if layers is None else list(layers)
        self.records: list[dict[str, float | int | str]] = []

    def measure(self, model: nn.Module, epoch: int) -> None:
        """Estimate every layer's information now and append the records."""
        layers = activation_layers(model) if self.layers is None else self.layers
        reps = representations(model, self.x, layers, softmax=True)
        for name, t in reps.items():
            bounds = layer_range(model, name) or ((0.0, 1.0) if name == "output" else None)
            for estimator in self.estimators:
                for bins in self.bins if estimator == "binning" else (0,):
                    i_xt, i_ty = estimate(
                        estimator, t, self.y, bins=bins, noise_var=self.noise_var, bounds=bounds
                    )
                    self.records.append(
                        {
                            "epoch": epoch,
                            "layer": name,
                            "estimator": estimator,
                            "bins": bins,
                            "i_xt": i_xt,
                            "i_ty": i_ty,
                        }
                    )

    def on_train_begin(self, state: TrainState) -> None:
        self.measure(state.subject.model, 0)

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            self.measure(state.subject.model, state.epoch)
