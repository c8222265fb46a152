"""CIFAR-10 read from its official binary or python distributions in a local folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from occamlab.data.arrays import float_tensor, long_tensor
from occamlab.data.base import Data, Split
from occamlab.data.files import require_folder
from occamlab.data.registry import DATASETS, DatasetSpec
from occamlab.data.safe_pickle import load_array_pickle

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
_IMAGE_BYTES = 3 * 32 * 32
_RECORD_BYTES = 1 + _IMAGE_BYTES
_SUBFOLDERS = ("", "cifar-10-batches-bin", "cifar-10-batches-py")


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class Cifar10Spec(DatasetSpec):
    """CIFAR-10 (Krizhevsky 2009), shape ``(3, 32, 32)``, pixels scaled to ``[0, 1]``.

    ``root`` (or its subfolder ``cifar-10-batches-bin`` / ``cifar-10-batches-py``) must hold
    either the binary version ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
    ``test_batch.bin`` (records of 1 label byte + 3072 pixel bytes, channel-major), or the
    python version ``data_batch_1`` ... ``data_batch_5`` and ``test_batch`` (pickled dicts with
    ``data`` and ``labels``). The pickles are read with
    :class:`~occamlab.data.safe_pickle.ArrayOnlyUnpickler`, which refuses anything but NumPy
    arrays. The split is the files' own, so ``seed`` is unused.
    """

    name: ClassVar[str] = "cifar10"

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Read all six batches from ``root``; ``cache_dir`` is unused."""
        expected = (
            "the CIFAR-10 batches (binary: data_batch_1.bin ... data_batch_5.bin, test_batch.bin; "
            "or python: data_batch_1 ... data_batch_5, test_batch)"
        )
        folder = require_folder(root, dataset=self.name, expected=expected)
        batch_folder, binary = _locate(folder, expected)
        suffix = ".bin" if binary else ""
        reader = _read_binary_batch if binary else _read_python_batch
        version = "binary" if binary else "python"
        for batch in (*TRAIN_BATCHES, TEST_BATCH):  # report a missing file before reading any
            path = batch_folder / f"{batch}{suffix}"
            if not path.is_file():
                raise FileNotFoundError(
                    f"expected CIFAR-10 {version} batch {path.name!r} in {batch_folder}; "
                    f"download the {version} version from {CIFAR_URL}, extract it and put all "
                    "six batches there"
                )
        parts = {}
        for split, names in (("train", TRAIN_BATCHES), ("test", (TEST_BATCH,))):
            batches = [reader(batch_folder / f"{batch}{suffix}") for batch in names]
            images = np.concatenate([b[0] for b in batches])
            labels = np.concatenate([b[1] for b in batches])
            x = images.astype(np.float32) / 255.0
            parts[split] = Split(float_tensor(x), long_tensor(labels))
        return Data(
            name=self.name,
            train=parts["train"],
            test=parts["test"],
            task="classification",
            num_outputs=10,
        )


def _locate(folder: Path, expected: str) -> tuple[Path, bool]:
    """The folder holding the batches and whether they are the binary version."""
    for sub in _SUBFOLDERS:
        candidate = folder / sub if sub else folder
        if (candidate / f"{TRAIN_BATCHES[0]}.bin").is_file():
            return candidate, True
        if (candidate / TRAIN_BATCHES[0]).is_file():
            return candidate, False
    raise FileNotFoundError(
        f"expected CIFAR-10 file 'data_batch_1.bin' (binary version) or 'data_batch_1' (python "
        f"version) in {folder} or its subfolders cifar-10-batches-bin / cifar-10-batches-py; "
        f"download CIFAR-10 from {CIFAR_URL} and put {expected} there"
    )


def _check_labels(labels: np.ndarray, path: Path) -> None:
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise ValueError(
            f"{path}: CIFAR-10 labels must lie in 0..9, found values in "
            f"[{int(labels.min())}, {int(labels.max())}]; is this a CIFAR-100 file?"
        )


def _read_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _RECORD_BYTES:
        raise ValueError(
            f"{path} holds {raw.size} bytes, not a positive multiple of the CIFAR-10 record size "
            f"{_RECORD_BYTES} (1 label byte + 3072 pixel bytes); the file is truncated or not a "
            "CIFAR-10 binary batch"
        )
    records = raw.reshape(-1, _RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    _check_labels(labels, path)
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _get(batch: dict[Any, Any], key: str, path: Path) -> Any:
    for candidate in (key, key.encode()):
        if candidate in batch:
            return batch[candidate]
    raise ValueError(f"{path}: CIFAR-10 python batch has no {key!r} entry")


def _read_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = load_array_pickle(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    data = np.asarray(_get(batch, "data", path))
    labels = np.asarray(_get(batch, "labels", path), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != _IMAGE_BYTES or data.dtype != np.uint8:
        raise ValueError(
            f"{path}: CIFAR-10 'data' must be a uint8 array of shape (n, {_IMAGE_BYTES}), got "
            f"{data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{path}: {data.shape[0]} images but labels of shape {labels.shape}")
    _check_labels(labels, path)
    return data.reshape(-1, 3, 32, 32), labels


__all__ = ["Cifar10Spec"]
