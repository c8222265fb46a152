"""MNIST-format IDX files (LeCun et al.) read with NumPy, and the ``"mnist_idx"`` dataset."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from occamlab.data.arrays import check_finite, check_labels, float_tensor, long_tensor
from occamlab.data.base import Data, Split
from occamlab.data.files import find_file, read_bytes, require_folder
from occamlab.data.registry import DATASETS, DatasetSpec

#: IDX type codes (third header byte) → big-endian NumPy dtypes.
IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/ (or yann.lecun.com/exdb/mnist/)"
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IMAGE_MAGIC = 0x00000803
_LABEL_MAGIC = 0x00000801


def parse_idx(raw: bytes, *, source: str = "<bytes>") -> np.ndarray:
    """Decode an IDX buffer into an array.

    Layout: two zero bytes, a type code byte, the number of dimensions ``k``, ``k`` big-endian
    uint32 sizes, then the values in C order (big-endian). The magic number is the first four
    bytes read as a big-endian uint32, e.g. ``0x00000803`` for uint8 3-D image stacks.

    Args:
        raw: the file contents (already gunzipped).
        source: name used in error messages.

    Raises:
        ValueError: bad magic number, unknown type code, or a size that does not match the
            header.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{source} is not an IDX file: it must start with two zero bytes (magic number "
            f"0x0000TTDD), got {raw[:4].hex() or 'an empty file'}"
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        raise ValueError(
            f"{source}: unknown IDX type code 0x{type_code:02x}; "
            f"expected one of {[hex(c) for c in IDX_DTYPES]}"
        )
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise ValueError(f"{source}: truncated IDX header ({len(raw)} bytes for {ndim} dims)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header_end
    if actual != expected:
        raise ValueError(
            f"{source}: header declares shape {shape} of {dtype.name} ({expected} bytes of data) "
            f"but the file holds {actual} bytes after the header; the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape)


def read_idx(path: str | os.PathLike[str], *, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` is gunzipped), optionally checking its magic number."""
    path = Path(path)
    raw = read_bytes(path)
    if magic is not None and len(raw) >= 4:
        found = int.from_bytes(raw[:4], "big")
        if found != magic:
            what = "uint8 images (n, rows, cols)" if magic == _IMAGE_MAGIC else "uint8 labels (n,)"
            raise ValueError(
                f"{path} has IDX magic number 0x{found:08x} but 0x{magic:08x} ({what}) was "
                "expected; is it the right file?"
            )
    return parse_idx(raw, source=str(path))


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class MnistIdxSpec(DatasetSpec):
    """MNIST (or any dataset in the same IDX layout, e.g. Fashion-MNIST) read from ``root``.

    ``root`` must contain ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally gzipped
    (``.gz``). Pixels are scaled to ``[0, 1]`` (``x = v / 255``); 10 classes. The split is the
    files' own, so ``seed`` is unused.

    Attributes:
        flatten: inputs of shape ``(rows * cols,)`` if true, else ``(1, rows, cols)``.
    """

    name: ClassVar[str] = "mnist_idx"

    flatten: bool = False

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Read the four IDX files from ``root``; ``cache_dir`` is unused."""
        folder = require_folder(
            root,
            dataset=self.name,
            expected=f"the MNIST IDX files {', '.join(MNIST_FILES.values())} (each may be .gz)",
        )
        arrays, paths = {}, {}
        for key, filename in MNIST_FILES.items():
            path = find_file(folder, filename, allow_gz=True)
            if path is None:
                raise FileNotFoundError(
                    f"expected MNIST IDX file {filename!r} (or {filename}.gz) in {folder}; "
                    f"download it from {MNIST_URL} and put it there"
                )
            magic = _IMAGE_MAGIC if key.endswith("images") else _LABEL_MAGIC
            arrays[key], paths[key] = read_idx(path, magic=magic), path
        for key, array in arrays.items():
            if key.endswith("images"):
                check_finite(array, source=paths[key], name="the images")
            else:
                check_labels(array, 10, source=paths[key], name="the MNIST labels")
        splits = [
            self._split(arrays[f"{s}_images"], arrays[f"{s}_labels"], s) for s in ("train", "test")
        ]
        return Data(
            name=self.name, train=splits[0], test=splits[1], task="classification", num_outputs=10
        )

    def _split(self, images: np.ndarray, labels: np.ndarray, split: str) -> Split:
        if images.ndim != 3 or labels.ndim != 1:
            raise ValueError(  # pragma: no cover - guarded by the magic numbers
                f"MNIST {split} images must be (n, rows, cols) and labels (n,), got "
                f"{images.shape} and {labels.shape}"
            )
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"MNIST {split} files disagree: {images.shape[0]} images but "
                f"{labels.shape[0]} labels"
            )
        x = images.astype(np.float32) / 255.0
        x = x.reshape(x.shape[0], -1) if self.flatten else x[:, None, :, :]
        return Split(float_tensor(x), long_tensor(labels))


__all__ = ["IDX_DTYPES", "MNIST_FILES", "MnistIdxSpec", "parse_idx", "read_idx"]
