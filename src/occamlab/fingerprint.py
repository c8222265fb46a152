"""Content digests: what a stored result is keyed by, beyond the names in its spec.

A run id hashes the run's spec. For a subject built from a user's files or code, the names in
that spec (a path, ``module:function``) say nothing about what is behind them today: the same
path may hold other weights or other data tomorrow. So every run about such a subject also
hashes the subject's contents (:func:`subject_fingerprint`): its parameters and buffers, its
data, its initial weights and recipe, and the source files of its model's classes and of the
factory that made it. Same contents, same id (reused); any change, another id (recomputed).

>>> import torch
>>> tensor_digest({"w": torch.zeros(2)}) == tensor_digest({"w": torch.zeros(2)})
True
>>> tensor_digest({"w": torch.zeros(2)}) == tensor_digest({"w": torch.ones(2)})
False
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from occamlab.data.base import Data
from occamlab.specs import spec_hash, spec_to_dict
from occamlab.subject import Subject


def _update(digest: Any, name: str, tensor: torch.Tensor) -> None:
    t = tensor.detach().cpu().contiguous()
    digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
    digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())


def tensor_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of named tensors: names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        _update(digest, name, tensors[name])
    return digest.hexdigest()


def data_digest(data: Data) -> str:
    """SHA-256 of a dataset's task and of both splits' inputs and targets."""
    digest = hashlib.sha256(f"{data.task}|{data.num_outputs}|".encode())
    for split_name in ("train", "test"):
        split = getattr(data, split_name)
        _update(digest, f"{split_name}.x", split.x)
        _update(digest, f"{split_name}.y", split.y)
    return digest.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _user_source_files(objects: Iterable[Any]) -> list[Path]:
    files = set()
    for obj in objects:
        module = inspect.getmodule(obj)
        name = getattr(module, "__name__", "")
        if module is None or name.split(".")[0] in ("torch", "builtins"):
            continue
        path = getattr(module, "__file__", None)
        if path and Path(path).is_file():
            files.add(Path(path).resolve())
    return sorted(files)


def code_digest(model: nn.Module, *extra: Any) -> str:
    """SHA-256 of the source files defining ``model``'s module classes (torch's own excluded)
    and of ``extra`` objects (e.g. the factory function that built the subject)."""
    digest = hashlib.sha256()
    classes = {type(m) for m in model.modules()}
    for path in _user_source_files([*classes, *extra]):
        digest.update(path.name.encode() + b"|" + file_digest(path).encode())
    return digest.hexdigest()


def subject_fingerprint(subject: Subject, *code: Any) -> str:
    """One digest of everything that determines a probe's answer about ``subject``: weights,
    buffers, data, loss, initial weights, recipe and model code (plus ``code`` objects)."""
    parts = {
        "params": tensor_digest(subject.params()),
        "buffers": tensor_digest(subject.buffers()),
        "data": data_digest(subject.data),
        "loss": subject.loss,
        "init": None if subject.init is None else tensor_digest(subject.init),
        "recipe": None if subject.recipe is None else spec_to_dict(subject.recipe),
        "code": code_digest(subject.model, *code),
    }
    return spec_hash(parts, length=64)


__all__ = ["code_digest", "data_digest", "file_digest", "subject_fingerprint", "tensor_digest"]
