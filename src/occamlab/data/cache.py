"""On-disk cache of generated arrays: ``.npz`` files (never pickle), written atomically."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

CACHE_ENV = "OCCAMLAB_CACHE"


def default_cache_dir() -> Path:
    """``$OCCAMLAB_CACHE`` if set, else ``~/.cache/occamlab``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "occamlab"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    """``cache_dir`` as a path, or :func:`default_cache_dir` when it is ``None``."""
    return default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()


def save_arrays(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as an uncompressed ``.npz``, atomically.

    The file is written to a temporary name in the same folder and moved into place with
    ``os.replace``, so concurrent readers see either no file or a complete one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; cached data is not secret
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def load_arrays(
    path: str | os.PathLike[str], keys: tuple[str, ...]
) -> dict[str, np.ndarray] | None:
    """Read ``keys`` from the ``.npz`` at ``path``; ``None`` if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in keys}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None


__all__ = ["CACHE_ENV", "default_cache_dir", "load_arrays", "resolve_cache_dir", "save_arrays"]
