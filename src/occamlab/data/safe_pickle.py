"""A pickle reader that can rebuild plain NumPy arrays and nothing else.

``pickle`` executes arbitrary callables named in the stream (``os.system``, ...), so untrusted
pickles must never go through ``pickle.load``. :class:`ArrayOnlyUnpickler` resolves only the
names NumPy uses to rebuild ``ndarray`` and ``dtype`` objects; any other global raises
``pickle.UnpicklingError`` before it is imported or called.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import numpy as np

try:  # NumPy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct

#: The only globals a pickle may reference. Both module spellings of ``_reconstruct`` map to the
#: current NumPy's function directly, so ``numpy.core`` is never imported (deprecated in 2.x).
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class ArrayOnlyUnpickler(pickle.Unpickler):
    """An ``Unpickler`` whose ``find_class`` allows only NumPy array reconstruction."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name} from an untrusted pickle; only NumPy "
                f"array reconstruction ({', '.join(f'{m}.{n}' for m, n in ALLOWED_GLOBALS)}) "
                "is allowed"
            ) from None


def load_array_pickle(path: str | os.PathLike[str], *, encoding: str = "latin1") -> Any:
    """Unpickle ``path`` with :class:`ArrayOnlyUnpickler`.

    ``encoding="latin1"`` decodes Python 2 ``str`` objects (e.g. in the CIFAR-10 python batches)
    so that NumPy can restore array buffers from them.
    """
    with open(path, "rb") as handle:
        return ArrayOnlyUnpickler(handle, encoding=encoding).load()


def loads_array_pickle(data: bytes, *, encoding: str = "latin1") -> Any:
    """Like :func:`load_array_pickle`, from bytes."""
    return ArrayOnlyUnpickler(io.BytesIO(data), encoding=encoding).load()


__all__ = ["ALLOWED_GLOBALS", "ArrayOnlyUnpickler", "load_array_pickle", "loads_array_pickle"]
