"""Callbacks for the training loop: checkpoints, trajectories, per-step metrics."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from occamlab.train.loop import Callback, PeriodicCallback, TrainState
from occamlab.weights import save_weights


class Checkpointer(Callback):
    """Save the model as safetensors: ``init``, every ``every`` epochs, and ``last``.

    ``last.safetensors`` is rewritten atomically after each evaluated epoch whose loss is finite,
    so after a crash or a NaN it holds the last good weights. With ``keep_all`` each epoch is
    also kept as ``epoch_{k}.safetensors`` (what lottery-ticket rewinding needs).
    """

    def __init__(self, directory: str | os.PathLike, *, every: int = 1, keep_all: bool = False):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.directory = Path(directory)
        self.every = every
        self.keep_all = keep_all

    def _meta(self, state: TrainState) -> dict[str, str]:
        return {"epoch": str(state.epoch), "step": str(state.step)}

    def on_train_begin(self, state: TrainState) -> None:
        save_weights(
            state.subject.model, self.directory / "init.safetensors", metadata=self._meta(state)
        )

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every:
            return
        meta = self._meta(state)
        if self.keep_all:
            save_weights(
                state.subject.model,
                self.directory / f"epoch_{state.epoch}.safetensors",
                metadata=meta,
            )
        save_weights(state.subject.model, self.directory / "last.safetensors", metadata=meta)

    def on_train_end(self, state: TrainState) -> None:
        save_weights(
            state.subject.model, self.directory / "last.safetensors", metadata=self._meta(state)
        )


class TrajectoryRecorder(PeriodicCallback):
    """Record the flattened parameter vector every ``every`` steps (and at the start and end).

    ``trajectory()`` gives a ``(T, P)`` float32 tensor and ``steps`` the step of each row: the
    input of trajectory PCA (Li et al. 2018) and of distance-travelled measures.
    """

    def __init__(self, *, every: int = 1):
        super().__init__(every=every)
        self._rows: list[torch.Tensor] = []

    def measure(self, state: TrainState) -> None:
        flat = torch.cat([p.detach().reshape(-1) for p in state.subject.model.parameters()])
        self._rows.append(flat.clone())

    def trajectory(self) -> torch.Tensor:
        if not self._rows:
            raise RuntimeError("nothing recorded yet; pass the recorder to fit(callbacks=[...])")
        return torch.stack(self._rows)


class StepLogger(Callback):
    """Keep ``(step, lr, batch_loss)`` every ``every`` steps in ``records``."""

    def __init__(self, *, every: int = 1):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.records: list[dict[str, float]] = []

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self.records.append({"step": state.step, "lr": state.lr, "loss": state.batch_loss})
