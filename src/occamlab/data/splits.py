"""Seeded train/test index splits (plain and stratified)."""

from __future__ import annotations

import numpy as np


def split_counts(n: int, test_fraction: float) -> tuple[int, int]:
    """``(n_train, n_test)`` with ``n_test = round(test_fraction * n)``; both must be positive."""
    n_test = int(round(test_fraction * n))
    n_train = n - n_test
    if n_test < 1 or n_train < 1:
        raise ValueError(
            f"splitting {n} examples with test fraction {test_fraction} leaves "
            f"{n_train} train and {n_test} test examples; choose a fraction that leaves both "
            "splits non-empty"
        )
    return n_train, n_test


def random_split(
    n: int, *, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of a uniformly random split of ``range(n)``.

    The first ``n_train`` entries of a random permutation form the training set, with
    ``n_test = round(test_fraction * n)``.
    """
    n_train, _ = split_counts(n, test_fraction)
    perm = rng.permutation(n)
    return perm[:n_train], perm[n_train:]


def stratified_split(
    labels: np.ndarray, *, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of a random split that keeps class proportions.

    Class ``c`` with ``n_c`` examples contributes ``floor(f n_c)`` or ``ceil(f n_c)`` test
    examples; the leftover test slots (up to ``round(f n)`` in total) go to the classes with the
    largest fractional parts ``f n_c - floor(f n_c)`` (largest-remainder rounding, ties by class
    order). Both index arrays are returned in random order.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    _, n_test = split_counts(n, test_fraction)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = test_fraction * counts
    per_class = np.floor(quotas).astype(np.int64)
    remaining = n_test - int(per_class.sum())
    if remaining > 0:
        order = np.argsort(-(quotas - per_class), kind="stable")
        per_class[order[:remaining]] += 1
    train_parts, test_parts = [], []
    for cls, k in zip(classes, per_class, strict=True):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        test_parts.append(idx[:k])
        train_parts.append(idx[k:])
    train = rng.permutation(np.concatenate(train_parts))
    test = rng.permutation(np.concatenate(test_parts))
    return train, test


__all__ = ["random_split", "split_counts", "stratified_split"]
