"""Subject: the model, its loss and its data — the one object every probe takes.

A probe never mutates the user's module. It reads the parameters as a dict of tensors
(:meth:`Subject.params`), perturbs or stacks copies of them, and evaluates the network through
:func:`torch.func.functional_call` (:meth:`Subject.forward`). Losses and accuracies over a whole
split are streamed in batches and summed exactly (not averaged per batch).

BatchNorm and dropout: a probe asks a question about one fixed function, so probes evaluate in
eval mode (:meth:`Subject.eval_mode`), which restores each submodule's own mode afterwards.
:attr:`Subject.stochastic_layers` names the layers whose behaviour differs between modes, and
results report that eval mode was used.

What a subject knows of its own history: ``recipe`` (the :class:`~occamlab.train.TrainSpec` it
was trained with) and ``init`` (its initial weights) are None when unknown. Answers that need them
(fine-tuning, retraining at other widths, the edge-of-stability threshold, a PAC-Bayes prior at
the initialization, lottery rewinding) say so instead of assuming a default.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.notebook import HtmlRepr
from occamlab.specs import spec_to_dict

if TYPE_CHECKING:
    from occamlab.train.spec import TrainSpec

LossName = Literal["cross_entropy", "mse"]
SplitName = Literal["train", "test"]
Params = Mapping[str, torch.Tensor]

_STOCHASTIC = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd, nn.GroupNorm)


def stochastic_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The (name, module) pairs of ``model`` whose behaviour differs between train and eval
    mode (BatchNorm, dropout, GroupNorm)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _STOCHASTIC)]


@dataclass(frozen=True)
class Evaluation(HtmlRepr):
    """Loss (mean over examples) and accuracy (classification only) on ``n`` examples."""

    loss: float
    accuracy: float | None
    n: int

    @property
    def error(self) -> float | None:
        return None if self.accuracy is None else 1.0 - self.accuracy

    def to_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "accuracy": self.accuracy, "n": self.n}


def loss_value(
    output: torch.Tensor, target: torch.Tensor, loss: LossName, *, reduction: str = "mean"
) -> torch.Tensor:
    """The subject's loss between network outputs ``(n, k)`` and targets.

    ``cross_entropy`` takes class indices. ``mse`` is PyTorch's mean squared error over the
    ``k`` outputs of an example, ``(1/k)·‖f(x) − y‖²``, averaged (or summed) over examples; with
    class-index targets it regresses onto one-hot vectors (as in Cohen et al. 2021).
    """
    if loss == "cross_entropy":
        return F.cross_entropy(output, target, reduction=reduction)
    if loss == "mse":
        if target.dtype == torch.int64:
            target = F.one_hot(target, output.shape[-1]).to(output.dtype)
        per_example = (output - target.to(output.dtype)).pow(2).mean(dim=-1)
        if reduction == "mean":
            return per_example.mean()
        if reduction == "sum":
            return per_example.sum()
        return per_example
    raise ValueError(f"unknown loss {loss!r}; valid losses: cross_entropy, mse")


@dataclass
class Subject:
    """A model together with its loss and data.

    Args:
        model: any ``torch.nn.Module`` mapping ``(batch, *data.input_shape)`` to
            ``(batch, data.num_outputs)``.
        data: train and test splits (:class:`occamlab.data.Data`).
        loss: ``"cross_entropy"`` (default for classification) or ``"mse"`` (default for
            regression).
        eval_batch_size: batch size used when streaming a split through the model.
        name: a label for reports.
        meta: JSON-safe description of how the subject was made (model/data specs, seed, ...).
        recipe: the :class:`~occamlab.train.TrainSpec` the weights were trained with, if known.
        init: the initial weights (parameter name → tensor) training started from, if known.

    Examples:
        >>> from occamlab import make_subject
        >>> s = make_subject(model="mlp", data="gaussian_mixture", seed=0)
        >>> s.num_parameters > 0
        True
    """

    model: nn.Module
    data: Data
    loss: LossName | None = None
    eval_batch_size: int = 2048
    name: str = "subject"
    meta: dict[str, Any] = field(default_factory=dict)
    recipe: TrainSpec | None = None
    init: Params | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.loss is None:
            self.loss = "cross_entropy" if self.data.task == "classification" else "mse"
        if self.loss not in ("cross_entropy", "mse"):
            raise ValueError(f"unknown loss {self.loss!r}; valid losses: cross_entropy, mse")
        if self.loss == "cross_entropy" and self.data.task != "classification":
            raise ValueError(
                f"cross_entropy needs class labels but {self.data.name!r} is a regression task; "
                "use loss='mse'"
            )
        if self.eval_batch_size < 1:
            raise ValueError(f"eval_batch_size must be positive, got {self.eval_batch_size}")
        if not any(True for _ in self.model.parameters()):
            raise ValueError("the model has no parameters; a subject needs a trainable model")
        self._check_shapes()

    def __setattr__(self, name: str, value: Any) -> None:
        # recipe and init are checked whenever they are set (at construction or later).
        if name == "recipe" and value is not None and not hasattr(value, "optimizer"):
            raise ValueError(
                f"recipe must be an occamlab.TrainSpec, got {type(value).__name__}; "
                "e.g. TrainSpec(optimizer='adam', lr=1e-3, batch_size=64, epochs=30)"
            )
        if name == "init" and value is not None:
            value = self._checked_init(value)
        super().__setattr__(name, value)

    def _checked_init(self, init: Params) -> dict[str, torch.Tensor]:
        own = self.params()
        if not isinstance(init, Mapping):
            raise ValueError(f"init must map parameter names to tensors, got {type(init).__name__}")
        init = {k: v for k, v in init.items() if k in own}  # a state_dict also holds buffers
        missing = sorted(set(own) - set(init))
        if missing:
            raise ValueError(
                f"the initial weights lack parameters {missing[:5]}; save the whole state_dict "
                "before training (safetensors.torch.save_file(model.state_dict(), ...))"
            )
        for name, value in init.items():
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(own[name].shape):
                shape = tuple(getattr(value, "shape", ()))
                raise ValueError(
                    f"initial weight {name!r} has shape {shape}, the model's is "
                    f"{tuple(own[name].shape)}: the initial weights are of another architecture"
                )
        return {k: v.detach().to(own[k].dtype) for k, v in init.items()}

    def _check_shapes(self) -> None:
        x = self.data.train.x[:1]
        try:
            with torch.no_grad(), self.eval_mode():
                out = self.model(x)
        except RuntimeError as exc:
            raise ValueError(
                f"the model cannot take inputs of shape {tuple(self.data.input_shape)} from "
                f"dataset {self.data.name!r}: {str(exc).splitlines()[0]}. Build the model for "
                "this input shape (e.g. pick a model made for this dataset)."
            ) from None
        expected = (1, self.data.num_outputs)
        if tuple(out.shape) != expected:
            raise ValueError(
                f"the model maps one input to shape {tuple(out.shape)} but dataset "
                f"{self.data.name!r} needs {expected} ({self.data.num_outputs} outputs); "
                "build the model with num_outputs matching the data"
            )

    # -- parameters -------------------------------------------------------------------------
    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def params(self) -> dict[str, torch.Tensor]:
        """The trainable parameters by name, detached (shared storage; do not modify in place)."""
        return {k: p.detach() for k, p in self.model.named_parameters() if p.requires_grad}

    def check_finite(self) -> None:
        """Refuse parameters holding NaN or infinite values, naming the first such parameter.

        Curvature and sharpness probes call this first: on such weights the loss is NaN and
        the linear algebra fails deep inside torch instead of saying why. One pass over the
        parameters, negligible beside any probe.

        Raises:
            ValueError: a parameter is not finite.
        """
        for name, param in self.model.named_parameters():
            if param.is_floating_point() and not bool(torch.isfinite(param).all()):
                bad = int((~torch.isfinite(param)).sum())
                raise ValueError(
                    f"parameter {name!r} of {self.name!r} holds {bad} NaN or infinite value(s), "
                    "as after a diverged training run; no probe can measure such a network: "
                    "use weights from before it diverged or retrain it"
                )

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """Parameter groups for the training loop's optimizer: one group of the trainable
        parameters (an ensemble gives one group per member, with its own rates)."""
        return [{"params": [p for p in self.model.parameters() if p.requires_grad]}]

    def buffers(self) -> dict[str, torch.Tensor]:
        return {k: b.detach() for k, b in self.model.named_buffers()}

    def clone(self, params: Params | None = None, *, data: Data | None = None) -> Subject:
        """A subject with its own deep copy of the model (data shared, never copied).

        Probes that retrain (fine-tuning, rewinding, mode connectivity) train a clone, so the
        user's module is never touched. ``params`` (a subset of names is allowed) are copied into
        the clone's parameters; ``data``, if given, replaces the subject's data in the clone.
        """
        model = copy.deepcopy(self.model)
        if params is not None:
            own = dict(model.named_parameters())
            unknown = sorted(set(params) - set(own))
            if unknown:
                raise ValueError(f"unknown parameter names {unknown}; valid: {sorted(own)}")
            with torch.no_grad():
                for name, value in params.items():
                    if tuple(value.shape) != tuple(own[name].shape):
                        raise ValueError(
                            f"parameter {name!r} has shape {tuple(own[name].shape)}, "
                            f"got {tuple(value.shape)}"
                        )
                    own[name].copy_(value)
        data = self.data if data is None else data
        return dataclasses.replace(self, model=model, data=data, meta=dict(self.meta))

    @property
    def stochastic_layers(self) -> list[str]:
        """Names of submodules that behave differently in train and eval mode."""
        return [n for n, _ in stochastic_modules(self.model)]

    @contextlib.contextmanager
    def eval_mode(self) -> Iterator[None]:
        """Put every submodule in eval mode, restoring each one's own mode on exit."""
        modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        try:
            yield
        finally:
            for module, mode in modes:
                module.training = mode

    # -- functional evaluation --------------------------------------------------------------
    def forward(self, params: Params | None, x: torch.Tensor) -> torch.Tensor:
        """Network outputs for ``x`` with parameters ``params`` (the module's own if None).

        Parameters not named in ``params`` keep the module's values; buffers are the module's.
        """
        if params is None:
            return self.model(x)
        return torch.func.functional_call(self.model, (dict(params), self.buffers()), (x,))

    def loss_of(
        self, params: Params | None, x: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean"
    ) -> torch.Tensor:
        """Loss of the batch ``(x, y)`` at ``params``."""
        return loss_value(self.forward(params, x), y, self.loss, reduction=reduction)

    def split(self, split: SplitName) -> Split:
        if split == "train":
            return self.data.train
        if split == "test":
            return self.data.test
        raise ValueError(f"unknown split {split!r}; valid splits: train, test")

    def batches(
        self, split: SplitName = "train", *, batch_size: int | None = None, limit: int | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Consecutive ``(x, y)`` batches of a split (the first ``limit`` examples if given)."""
        data = self.split(split)
        n = len(data) if limit is None else min(limit, len(data))
        size = batch_size or self.eval_batch_size
        for start in range(0, n, size):
            stop = min(start + size, n)
            yield data.x[start:stop], data.y[start:stop]

    def outputs(self, split: SplitName = "test", *, limit: int | None = None) -> torch.Tensor:
        """The network's outputs on every example of ``split`` (the first ``limit`` if given),
        in batches, in eval mode, no grad (this process's examples only)."""
        with torch.no_grad(), self.eval_mode():
            return torch.cat([self.forward(None, x) for x, _ in self.batches(split, limit=limit)])

    def num_examples(self, split: SplitName = "train", limit: int | None = None) -> int:
        """Examples a full-data mean over ``split`` runs over (all processes together)."""
        n = len(self.split(split))
        return n if limit is None else min(limit, n)

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum of this process's partial result over every process holding part of the data.

        The identity for a subject that holds all its data. Every full-data sum (losses,
        gradients, curvature products) passes through here, so a data-parallel subject
        (:func:`occamlab.sweep.distributed.shard`) makes every probe data-parallel.
        """
        return tensor

    def evaluate(
        self, params: Params | None = None, *, split: SplitName = "train", limit: int | None = None
    ) -> Evaluation:
        """Mean loss and accuracy over a split, streamed in batches, in eval mode, no grad.

        The mean is exact: per-batch loss *sums* are added and divided by the example count.
        """
        total, correct, n = 0.0, 0, 0
        classification = self.data.task == "classification"
        with torch.no_grad(), self.eval_mode():
            for x, y in self.batches(split, limit=limit):
                out = self.forward(params, x)
                total += float(loss_value(out, y, self.loss, reduction="sum"))
                if classification:
                    correct += int((out.argmax(dim=-1) == y).sum())
                n += len(y)
        sums = self.all_sum(torch.tensor([total, correct, n], dtype=torch.float64))
        total, correct, n = float(sums[0]), int(sums[1]), int(sums[2])
        if n == 0:
            raise ValueError(f"the {split} split of {self.data.name!r} is empty")
        return Evaluation(loss=total / n, accuracy=correct / n if classification else None, n=n)

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary used in reports and run records."""
        return {
            "name": self.name,
            "data": self.data.name,
            "task": self.data.task,
            "loss": self.loss,
            "input_shape": list(self.data.input_shape),
            "num_outputs": self.data.num_outputs,
            "num_train": len(self.data.train),
            "num_test": len(self.data.test),
            "num_parameters": self.num_parameters,
            "stochastic_layers": self.stochastic_layers,
            "recipe": None if self.recipe is None else spec_to_dict(self.recipe),
            "init_known": self.init is not None,
            **self.meta,
        }
