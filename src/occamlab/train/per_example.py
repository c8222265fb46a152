"""Per-example monitors: which examples the model gets right, every k steps of training.

The rows feed learning-order statistics (real vs noisy examples, Arpit et al. 2017, arXiv
1706.05394) and forgetting events (Toneva et al. 2019, arXiv 1812.05159).
"""

from __future__ import annotations

import torch

from occamlab.subject import SplitName, Subject
from occamlab.train.loop import PeriodicCallback, TrainState


def correct_predictions(
    subject: Subject, *, split: SplitName = "train", limit: int | None = None
) -> torch.Tensor:
    """``argmax f(x_i) == y_i`` for every example of ``split`` (the first ``limit``), as bools.

    Streamed in batches, in eval mode, without gradients; the module's modes are restored.
    """
    if subject.data.task != "classification":
        raise ValueError(
            f"correctness needs class labels but {subject.data.name!r} is a regression dataset"
        )
    with torch.no_grad(), subject.eval_mode():
        parts = [
            subject.forward(None, x).argmax(dim=-1) == y
            for x, y in subject.batches(split, limit=limit)
        ]
    if not parts:
        raise ValueError(f"the {split} split of {subject.data.name!r} is empty")
    return torch.cat(parts)


class ExampleCorrectness(PeriodicCallback):
    """Record which examples of a split are classified correctly, every ``every`` steps.

    One boolean row per record: before the first step, after every ``every``-th optimizer step,
    and after the last step. :meth:`matrix` stacks them into a ``(T, n)`` tensor and
    :attr:`steps` gives the step of each row.

    Args:
        every: record after every this many optimizer steps (e.g. the steps of one epoch).
        split: ``"train"`` or ``"test"``.
        limit: only the first ``limit`` examples of the split.
    """

    def __init__(self, *, every: int, split: SplitName = "train", limit: int | None = None):
        super().__init__(every=every)
        self.split: SplitName = split
        self.limit = limit
        self._rows: list[torch.Tensor] = []

    def measure(self, state: TrainState) -> None:
        self._rows.append(correct_predictions(state.subject, split=self.split, limit=self.limit))

    def matrix(self) -> torch.Tensor:
        """The ``(T, n)`` boolean record, one row per entry of :attr:`steps`."""
        if not self._rows:
            raise RuntimeError("nothing recorded yet; pass the monitor to fit(callbacks=[...])")
        return torch.stack(self._rows)


__all__ = ["ExampleCorrectness", "correct_predictions"]
