"""Named, independent random streams derived from one integer seed.

Every random quantity of a dataset (teacher weights, training inputs, test inputs, label noise,
...) gets its own stream, so that e.g. changing ``num_train`` leaves the teacher and the test set
unchanged. A stream is identified by ``(seed, name)`` and is derived with NumPy's
``SeedSequence``; no global random state is read or written.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def _seed_sequence(seed: int, stream: str) -> np.random.SeedSequence:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seeds must be non-negative integers, got {seed!r}")
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(stream.encode()),))


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit integer seed for the stream ``stream`` of ``seed``.

    Args:
        seed: the spec's seed (non-negative).
        stream: a name for what the stream is used for, e.g. ``"train_inputs"``.
    """
    state = _seed_sequence(seed, stream).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def torch_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU ``torch.Generator`` for stream ``stream`` of ``seed``."""
    return torch.Generator().manual_seed(stream_seed(seed, stream))


def numpy_generator(seed: int, stream: str) -> np.random.Generator:
    """A ``numpy.random.Generator`` (PCG64) for stream ``stream`` of ``seed``."""
    return np.random.default_rng(_seed_sequence(seed, stream))


__all__ = ["numpy_generator", "stream_seed", "torch_generator"]
