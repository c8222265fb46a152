"""NumPy → torch conversion that always copies into fresh, writable, contiguous storage, and the
checks file readers run on the arrays they read (finite values, class labels in range)."""

from __future__ import annotations

import numpy as np
import torch


def float_tensor(array: np.ndarray) -> torch.Tensor:
    """A float32 tensor holding a copy of ``array``."""
    return torch.from_numpy(np.array(array, dtype=np.float32, order="C", copy=True))


def long_tensor(array: np.ndarray) -> torch.Tensor:
    """An int64 tensor holding a copy of ``array``."""
    return torch.from_numpy(np.array(array, dtype=np.int64, order="C", copy=True))


def check_finite(array: np.ndarray, *, source: object, name: str) -> None:
    """Refuse NaN or infinite values in a float array read from ``source``.

    Integer arrays (pixels, labels) cannot hold them and are not scanned. The message names the
    file, the array, how many values are bad and the first example holding one, so the file
    can be fixed instead of training diverging later for no visible reason.

    Raises:
        ValueError: ``array`` holds a NaN or an infinity.
    """
    if array.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(array)
    if bad.any():
        example = int(np.argwhere(bad)[0][0]) if array.ndim else 0
        raise ValueError(
            f"{source}: {name} holds {int(bad.sum())} NaN or infinite value(s) (the first in "
            f"example {example}); replace them or drop those examples from the file"
        )


def check_labels(labels: np.ndarray, num_classes: int, *, source: object, name: str) -> None:
    """Refuse class labels that are not integers in ``[0, num_classes)``.

    Raises:
        ValueError: a label is NaN, infinite, fractional, negative or ``>= num_classes``.
    """
    if labels.size == 0:
        return
    if labels.dtype.kind in "fc":
        check_finite(labels, source=source, name=name)
        if not np.all(labels == np.round(labels)):
            raise ValueError(f"{source}: {name} must hold integer class labels, got fractions")
    lowest, highest = labels.min(), labels.max()
    if lowest < 0 or highest >= num_classes:
        raise ValueError(
            f"{source}: {name}: labels must lie in [0, {num_classes}), found "
            f"[{int(lowest)}, {int(highest)}]"
        )


__all__ = ["check_finite", "check_labels", "float_tensor", "long_tensor"]
