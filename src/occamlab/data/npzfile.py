"""Any train/test dataset stored as a single NumPy ``.npz`` archive."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from occamlab.data.arrays import check_finite, check_labels, float_tensor, long_tensor
from occamlab.data.base import Data, Split, Task
from occamlab.data.registry import DATASETS, DatasetSpec

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class NpzSpec(DatasetSpec):
    """Arrays ``x_train, y_train, x_test, y_test`` from ``root`` (a ``.npz`` file) or
    ``root/data.npz``, loaded with ``allow_pickle=False``.

    Inputs become float32 of shape ``(n, ...)``; the training split must hold at least one
    example, and inputs and regression targets must be finite (NaN or infinite values are
    refused, naming the array). Classification labels must be integers in ``[0, C)`` and become
    int64 of shape ``(n,)``; regression targets become float32 of shape
    ``(n, d)`` (a 1-D target becomes ``(n, 1)``). The split is the file's own, so ``seed`` is
    unused.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        num_classes: number of classes ``C``; ``None`` infers ``1 + max label``.
    """

    name: ClassVar[str] = "npz"

    task: Task = "classification"
    num_classes: int | None = None

    def is_regression(self) -> bool:
        return self.task == "regression"

    def validate(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        super().validate()
        if self.num_classes is not None:
            if self.task == "regression":
                raise ValueError("num_classes applies to classification only; leave it None")
            if self.num_classes < 1:
                raise ValueError(f"num_classes must be positive, got {self.num_classes}")

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Read the archive; ``cache_dir`` is unused."""
        path = npz_path(root)
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in NPZ_KEYS if key not in npz.files]
            if missing:
                raise ValueError(
                    f"{path} lacks the arrays {missing}; it must contain {list(NPZ_KEYS)} "
                    f"(found {sorted(npz.files)})"
                )
            arrays = {key: npz[key] for key in NPZ_KEYS}
        for split in ("train", "test"):
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            if x.ndim < 2 or y.ndim < 1 or x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"{path}: x_{split} must have shape (n, ...) and y_{split} a matching first "
                    f"dimension n, got {x.shape} and {y.shape}"
                )
            if x.size == 0 and (split == "train" or x.shape[0]):
                what = "no examples" if x.shape[0] == 0 else "no input features"
                raise ValueError(
                    f"{path}: x_{split} is empty ({what}: shape {x.shape}); the file must hold "
                    f"x_{split} of shape (n, ...) with n >= 1 examples and y_{split} with their n "
                    "targets"
                )
            if x.dtype.kind not in "iubf":
                raise ValueError(f"{path}: x_{split} must hold numbers, got dtype {x.dtype}")
            check_finite(x, source=path, name=f"x_{split}")
        if self.task == "classification":
            return self._classification(arrays, path)
        return self._regression(arrays, path)

    def _classification(self, arrays: dict[str, np.ndarray], path: Path) -> Data:
        labels = {}
        for split in ("train", "test"):
            y = arrays[f"y_{split}"]
            if y.ndim != 1:
                raise ValueError(
                    f"{path}: classification labels y_{split} must be 1-D class indices, got "
                    f"shape {y.shape}; use task='regression' for vector targets"
                )
            if y.dtype.kind not in "iub":
                check_finite(y, source=path, name=f"y_{split}")
                if y.dtype.kind != "f" or not np.all(y == np.round(y)):
                    raise ValueError(
                        f"{path}: classification labels y_{split} must be integers, got dtype "
                        f"{y.dtype}; use task='regression' for real-valued targets"
                    )
            labels[split] = y.astype(np.int64)
        everything = np.concatenate([labels["train"], labels["test"]])
        num_classes = self.num_classes if self.num_classes is not None else everything.max() + 1
        num_classes = max(int(num_classes), 1)
        for split in ("train", "test"):
            check_labels(labels[split], num_classes, source=path, name=f"y_{split}")
        return Data(
            name=self.name,
            train=Split(float_tensor(arrays["x_train"]), long_tensor(labels["train"])),
            test=Split(float_tensor(arrays["x_test"]), long_tensor(labels["test"])),
            task="classification",
            num_outputs=num_classes,
        )

    def _regression(self, arrays: dict[str, np.ndarray], path: Path) -> Data:
        targets = {}
        for split in ("train", "test"):
            y = arrays[f"y_{split}"]
            if y.dtype.kind not in "iubf":
                raise ValueError(
                    f"{path}: regression targets y_{split} must hold numbers, got dtype {y.dtype}"
                )
            check_finite(y, source=path, name=f"y_{split}")
            y = y[:, None] if y.ndim == 1 else y.reshape(y.shape[0], -1)
            targets[split] = y
        if targets["train"].shape[1] != targets["test"].shape[1]:
            raise ValueError(
                f"{path}: y_train has {targets['train'].shape[1]} outputs but y_test has "
                f"{targets['test'].shape[1]}"
            )
        return Data(
            name=self.name,
            train=Split(float_tensor(arrays["x_train"]), float_tensor(targets["train"])),
            test=Split(float_tensor(arrays["x_test"]), float_tensor(targets["test"])),
            task="regression",
            num_outputs=int(targets["train"].shape[1]),
        )


def npz_path(root: str | os.PathLike[str] | None) -> Path:
    """``root`` if it is a file, else ``root/data.npz``; errors say which file is expected."""
    if root is None:
        raise ValueError(
            "dataset 'npz' reads a local file: pass root=<file.npz> or root=<folder> holding "
            f"data.npz with arrays {', '.join(NPZ_KEYS)}"
        )
    path = Path(root).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        candidate = path / "data.npz"
        if candidate.is_file():
            return candidate
        raise FileNotFoundError(
            f"expected NumPy archive 'data.npz' in {path} (with arrays {', '.join(NPZ_KEYS)}); "
            "save it there with np.savez, or pass the archive's own path as root"
        )
    raise FileNotFoundError(
        f"{path} does not exist; pass root=<file.npz> or a folder holding data.npz with arrays "
        f"{', '.join(NPZ_KEYS)}"
    )


__all__ = ["NPZ_KEYS", "NpzSpec", "npz_path"]
