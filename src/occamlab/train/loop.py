"""The one training loop. Everything else (monitors, checkpoints, trajectories) is a callback."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from occamlab.notebook import HtmlRepr
from occamlab.subject import Subject
from occamlab.train.optim import lr_factor, make_optimizer
from occamlab.train.spec import TrainSpec


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the run is stopped."""


Objective = Callable[[Subject, torch.Tensor, torch.Tensor], torch.Tensor]
"""A training objective ``objective(subject, x, y) -> scalar`` for one minibatch."""


@dataclass
class TrainState:
    """What callbacks see. ``history`` holds one record per evaluation."""

    subject: Subject
    spec: TrainSpec
    optimizer: torch.optim.Optimizer
    total_steps: int
    steps_per_epoch: int
    step: int = 0
    epoch: int = 0
    lr: float = 0.0
    batch_loss: float = math.nan
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    objective: Objective | None = None

    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the current step."""
        if self.stop_reason is None:
            self.stop_reason = reason

    @property
    def last(self) -> dict[str, Any]:
        return self.history[-1] if self.history else {}


class Callback:
    """Hooks into :func:`fit`. Override any subset; each receives the live :class:`TrainState`."""

    def on_train_begin(self, state: TrainState) -> None:  # noqa: B027 - optional hook
        pass

    def on_step_end(self, state: TrainState) -> None:  # noqa: B027
        pass

    def on_epoch_end(self, state: TrainState) -> None:  # noqa: B027
        pass

    def on_train_end(self, state: TrainState) -> None:  # noqa: B027
        pass


class PeriodicCallback(Callback):
    """A monitor that measures at the start, after every ``every`` optimizer steps and at the
    end of training, at most once per step. Subclasses implement :meth:`measure`; ``steps``
    lists the step of each measurement."""

    def __init__(self, *, every: int) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.steps: list[int] = []

    def measure(self, state: TrainState) -> None:
        raise NotImplementedError

    def _record(self, state: TrainState) -> None:
        if self.steps and self.steps[-1] == state.step:
            return
        self.measure(state)
        self.steps.append(state.step)

    def on_train_begin(self, state: TrainState) -> None:
        self._record(state)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._record(state)

    def on_train_end(self, state: TrainState) -> None:
        self._record(state)


@dataclass(frozen=True)
class TrainResult(HtmlRepr):
    """Outcome of :func:`fit`: steps taken, why it stopped, and the evaluation history."""

    steps: int
    epochs: int
    stop_reason: str
    history: list[dict[str, Any]]
    seconds: float

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1] if self.history else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "epochs": self.epochs,
            "stop_reason": self.stop_reason,
            "final": self.final,
            "history": self.history,
            "seconds": self.seconds,
        }


def _evaluate(state: TrainState) -> dict[str, Any]:
    subject = state.subject
    train = subject.evaluate(split="train")
    test = subject.evaluate(split="test") if len(subject.data.test) else None
    record = {
        "epoch": state.epoch,
        "step": state.step,
        "lr": state.lr,
        "train_loss": train.loss,
        "train_accuracy": train.accuracy,
        "test_loss": None if test is None else test.loss,
        "test_accuracy": None if test is None else test.accuracy,
    }
    if not math.isfinite(train.loss):
        raise NonFiniteLossError(
            f"training loss became {train.loss} at epoch {state.epoch} (step {state.step}); "
            "lower the learning rate or add gradient clipping (grad_clip)"
        )
    return record


def targets_met(spec: TrainSpec, record: dict[str, Any]) -> str | None:
    if spec.target_loss > 0 and record["train_loss"] <= spec.target_loss:
        return f"train loss {record['train_loss']:.4g} <= target {spec.target_loss}"
    acc = record["train_accuracy"]
    if spec.target_accuracy > 0 and acc is not None and acc >= spec.target_accuracy:
        return f"train accuracy {acc:.4g} >= target {spec.target_accuracy}"
    return None


def fit(
    subject: Subject,
    spec: TrainSpec,
    *,
    callbacks: tuple[Callback, ...] | list[Callback] = (),
    progress: bool = False,
    objective: Objective | None = None,
) -> TrainResult:
    """Train ``subject.model`` in place with the recipe ``spec``.

    Minibatches are drawn without replacement each epoch from a permutation made by a
    ``torch.Generator`` seeded with ``spec.seed``, so on CPU the same subject (same initial
    weights) and spec give bitwise identical weights. ``batch_size=0`` is full-batch gradient
    descent. Train and test metrics are evaluated (streamed, eval mode) every ``eval_every``
    epochs and at the end; training stops early at ``target_loss``/``target_accuracy``.

    ``objective(subject, x, y)`` replaces the subject's loss as the minibatch objective (e.g. a
    PAC-Bayes bound of a stochastic network); evaluations still report the subject's loss.

    Raises:
        NonFiniteLossError: a batch or evaluation loss became NaN/inf. The parameters stay as
            they were before the failing step's update; checkpoints already written are kept.
    """
    started = time.perf_counter()
    model = subject.model
    train = subject.data.train
    n = len(train)
    batch = spec.batch_size or n
    steps_per_epoch = math.ceil(n / batch)
    total_steps = spec.epochs * steps_per_epoch if spec.epochs else spec.max_steps
    if spec.max_steps:
        total_steps = min(total_steps, spec.max_steps)
    epochs = math.ceil(total_steps / steps_per_epoch)
    state = TrainState(
        subject=subject,
        spec=spec,
        optimizer=_optimizer(subject, spec),
        total_steps=total_steps,
        steps_per_epoch=steps_per_epoch,
        lr=spec.lr * lr_factor(0, total_steps, spec),
        objective=objective,
    )
    generator = torch.Generator().manual_seed(spec.seed)
    bar = _progress(progress, total_steps)
    was_training = model.training
    model.train()
    for cb in callbacks:
        cb.on_train_begin(state)
    try:
        for epoch in range(epochs):
            state.epoch = epoch
            order = torch.randperm(n, generator=generator) if batch < n else None
            for i in range(steps_per_epoch):
                if order is None:
                    x, y = train.x, train.y
                else:
                    idx = order[i * batch : (i + 1) * batch]
                    x, y = train.x[idx], train.y[idx]
                _step(state, x, y)
                if bar is not None:
                    bar[0].update(bar[1], advance=1, description=f"loss {state.batch_loss:.4f}")
                for cb in callbacks:
                    cb.on_step_end(state)
                if state.stop_reason or state.step >= total_steps:
                    break
            state.epoch = epoch + 1
            last = state.stop_reason is not None or state.step >= total_steps
            if (epoch + 1) % spec.eval_every == 0 or last:
                state.history.append(_evaluate(state))
                reason = targets_met(spec, state.last)
                if reason:
                    state.request_stop(reason)
            for cb in callbacks:
                cb.on_epoch_end(state)
            if state.stop_reason or state.step >= total_steps:
                break
        if not state.history or state.history[-1]["step"] != state.step:
            state.history.append(_evaluate(state))
        if state.stop_reason is None:
            state.stop_reason = f"completed {state.step} steps"
        for cb in callbacks:
            cb.on_train_end(state)
    finally:
        model.train(was_training)
        if bar is not None:
            bar[0].stop()
    return TrainResult(
        steps=state.step,
        epochs=state.epoch,
        stop_reason=state.stop_reason,
        history=state.history,
        seconds=time.perf_counter() - started,
    )


def _optimizer(subject: Subject, spec: TrainSpec) -> Any:
    """The optimizer named by ``spec`` over the subject's parameter groups, or the subject's own
    when it brings one (an ensemble: an optimizer over its stacked parameters)."""
    own = getattr(subject, "make_optimizer", None)
    return own(spec) if own is not None else make_optimizer(subject.optimizer_groups(), spec)


def _step(state: TrainState, x: torch.Tensor, y: torch.Tensor) -> None:
    spec, optimizer = state.spec, state.optimizer
    factor = lr_factor(state.step, state.total_steps, spec)
    state.lr = spec.lr * factor
    for group in optimizer.param_groups:
        # A frozen group (an ensemble member that reached its target) takes no steps: lr 0
        # leaves SGD, Adam and AdamW parameters exactly unchanged.
        group["lr"] = 0.0 if group.get("frozen") else group["base_lr"] * factor
    optimizer.zero_grad(set_to_none=True)
    if state.objective is None:
        loss = state.subject.loss_of(None, x, y)
    else:
        loss = state.objective(state.subject, x, y)
    value = loss.item()
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"batch loss became {value} at step {state.step} (epoch {state.epoch}); lower the "
            "learning rate or add gradient clipping (grad_clip)"
        )
    loss.backward()
    if spec.grad_clip:
        for group in optimizer.param_groups:  # per group: each ensemble member clips its own
            torch.nn.utils.clip_grad_norm_(group["params"], spec.grad_clip)
    optimizer.step()
    state.step += 1
    state.batch_loss = value


def _progress(enabled: bool, total: int):
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task("", total=total)
