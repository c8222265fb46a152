"""NumPy → torch conversion that always copies into fresh, writable, contiguous storage."""

from __future__ import annotations

import numpy as np
import torch


def float_tensor(array: np.ndarray) -> torch.Tensor:
    """A float32 tensor holding a copy of ``array``."""
    return torch.from_numpy(np.array(array, dtype=np.float32, order="C", copy=True))


def long_tensor(array: np.ndarray) -> torch.Tensor:
    """An int64 tensor holding a copy of ``array``."""
    return torch.from_numpy(np.array(array, dtype=np.int64, order="C", copy=True))


__all__ = ["float_tensor", "long_tensor"]
