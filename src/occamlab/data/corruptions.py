"""Randomization tests of Zhang et al. (2017), "Understanding deep learning requires rethinking
generalization" (arXiv:1611.03530): noisy labels and shuffled, random or Gaussian inputs.

Every function takes an explicit ``torch.Generator``; :func:`apply_corruptions` derives the
generators from ``corruption_seed`` so that the label noise and the input corruption use
independent streams.
"""

from __future__ import annotations

import math

import torch

from occamlab.data.base import Data, Split
from occamlab.data.rng import torch_generator


def noisy_labels(
    y: torch.Tensor, *, num_classes: int, p: float, generator: torch.Generator
) -> torch.Tensor:
    """Replace each label, with probability ``p``, by a class drawn uniformly from all classes.

    ``y'_i = u_i`` if ``b_i = 1`` else ``y_i``, with ``b_i ~ Bernoulli(p)`` and
    ``u_i ~ Uniform{0, ..., C-1}`` independent. Since ``u_i`` may equal ``y_i``, the expected
    fraction of changed labels is ``p (1 - 1/C)``.

    Args:
        y: int64 class indices of shape ``(n,)``.
        num_classes: number of classes ``C``.
        p: replacement probability in ``[0, 1]``.
        generator: source of randomness.

    Returns:
        A new int64 tensor; ``y`` is not modified.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"label noise p must lie in [0, 1], got {p}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    replace = torch.rand(y.shape, generator=generator) < p
    random_labels = torch.randint(num_classes, y.shape, generator=generator, dtype=torch.int64)
    return torch.where(replace, random_labels, y)


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def feature_permutation(num_features: int, *, generator: torch.Generator) -> torch.Tensor:
    """One uniformly random permutation of ``range(num_features)``."""
    return torch.randperm(num_features, generator=generator)


def shuffle_pixels(x: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """Apply the same permutation ``pi`` to the flattened features of every example.

    ``x'_{i, j} = x_{i, pi(j)}`` with features flattened in C order, then reshaped back.
    """
    num_features = math.prod(x.shape[1:])
    if permutation.shape != (num_features,):
        raise ValueError(
            f"permutation has shape {tuple(permutation.shape)} but inputs have "
            f"{num_features} features"
        )
    return _flat(x)[:, permutation].reshape(x.shape)


def random_pixels(x: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    """Apply an independent random permutation ``pi_i`` to the features of each example ``i``.

    ``x'_{i, j} = x_{i, pi_i(j)}``; each ``pi_i`` is the argsort of i.i.d. uniforms.
    """
    flat = _flat(x)
    perms = torch.argsort(torch.rand(flat.shape, generator=generator), dim=1)
    return torch.gather(flat, 1, perms).reshape(x.shape)


def gaussian_like(
    x: torch.Tensor, *, mean: torch.Tensor, std: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Gaussian inputs with per-feature moments: ``x'_{i, j} = mu_j + sigma_j z_{i, j}``.

    Args:
        x: tensor whose shape and dtype the output takes.
        mean: per-feature mean ``mu`` of shape ``x.shape[1:]``.
        std: per-feature standard deviation ``sigma`` of shape ``x.shape[1:]``.
        generator: source of the standard normals ``z``.
    """
    z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return mean + std * z


def apply_corruptions(
    data: Data,
    *,
    label_noise: float = 0.0,
    inputs: str = "clean",
    corruption_seed: int = 0,
) -> Data:
    """Apply label noise (train only) and an input corruption (both splits) to ``data``.

    Args:
        data: the clean dataset.
        label_noise: probability of replacing each training label by a uniform class.
        inputs: ``"clean"``, ``"shuffled_pixels"``, ``"random_pixels"`` or ``"gaussian"``
            (see :class:`occamlab.data.registry.DatasetSpec`).
        corruption_seed: seed of the corruption streams.

    Returns:
        ``data`` itself when nothing is corrupted, else a new :class:`Data`.
    """
    if label_noise == 0.0 and inputs == "clean":
        return data
    train_x, train_y = data.train.x, data.train.y
    test_x, test_y = data.test.x, data.test.y
    if label_noise > 0.0:
        if data.task != "classification":
            raise ValueError(
                f"label_noise applies to classification only, but {data.name!r} is a "
                f"{data.task} dataset; set label_noise=0"
            )
        gen = torch_generator(corruption_seed, "label_noise")
        train_y = noisy_labels(train_y, num_classes=data.num_outputs, p=label_noise, generator=gen)
    if inputs == "shuffled_pixels":
        gen = torch_generator(corruption_seed, "shuffled_pixels")
        perm = feature_permutation(math.prod(train_x.shape[1:]), generator=gen)
        train_x, test_x = shuffle_pixels(train_x, perm), shuffle_pixels(test_x, perm)
    elif inputs == "random_pixels":
        train_x = random_pixels(train_x, generator=torch_generator(corruption_seed, "random_train"))
        test_x = random_pixels(test_x, generator=torch_generator(corruption_seed, "random_test"))
    elif inputs == "gaussian":
        mean = train_x.mean(dim=0)
        std = train_x.std(dim=0, correction=0)
        train_x = gaussian_like(
            train_x, mean=mean, std=std, generator=torch_generator(corruption_seed, "gauss_train")
        )
        test_x = gaussian_like(
            test_x, mean=mean, std=std, generator=torch_generator(corruption_seed, "gauss_test")
        )
    elif inputs != "clean":
        raise ValueError(
            "inputs must be one of ['clean', 'shuffled_pixels', 'random_pixels', 'gaussian'], "
            f"got {inputs!r}"
        )
    return Data(
        name=data.name,
        train=Split(train_x, train_y),
        test=Split(test_x, test_y),
        task=data.task,
        num_outputs=data.num_outputs,
    )


__all__ = [
    "apply_corruptions",
    "feature_permutation",
    "gaussian_like",
    "noisy_labels",
    "random_pixels",
    "shuffle_pixels",
]
