"""Locating dataset files in a user-supplied folder, with errors that say what to put where."""

from __future__ import annotations

import gzip
import os
from pathlib import Path


def require_folder(root: str | os.PathLike[str] | None, *, dataset: str, expected: str) -> Path:
    """``root`` as an existing folder, or an error naming what the folder should contain.

    Args:
        root: the folder passed to ``load``/``load_data``.
        dataset: registry name, for the message.
        expected: human description of the files expected in the folder.

    Raises:
        ValueError: ``root`` is ``None``.
        FileNotFoundError: ``root`` does not exist or is not a folder.
    """
    if root is None:
        raise ValueError(
            f"dataset {dataset!r} reads local files: pass root=<folder> containing {expected}"
        )
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"dataset {dataset!r}: folder {path} does not exist (or is not a folder); "
            f"create it and put {expected} there"
        )
    return path


def find_file(folder: Path, name: str, *, allow_gz: bool = False) -> Path | None:
    """``folder/name`` if it is a file, else ``folder/name.gz`` when ``allow_gz``, else ``None``."""
    candidates = [folder / name] + ([folder / f"{name}.gz"] if allow_gz else [])
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path) -> bytes:
    """The file's bytes, transparently gunzipped when the name ends in ``.gz``."""
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()


__all__ = ["find_file", "read_bytes", "require_folder"]
