"""Coloured digits (Arjovsky et al. 2019, "Colored MNIST"): a label, a shape that predicts it
75% of the time in every environment, and a colour that predicts it better in training and
worse at test.

Arjovsky, Bottou, Gulrajani & Lopez-Paz 2019 (arXiv 1907.02893, Sec. 5.2) build each
environment ``e`` from digit images and their digits ``d``:

1. a binary label ``ỹ = 1[d < 5]``, flipped with probability ``label_flip`` (0.25):
   ``y = ỹ xor Bernoulli(0.25)``, in every split, so the shape predicts ``y`` at best 75% of the
   time;
2. a colour ``c = y xor Bernoulli(e)``: the colour agrees with the label with probability
   ``1 − e``; ``e = 0.2`` and ``0.1`` in the two training environments and ``0.9`` at test;
3. the image as two channels: the digit in channel ``c`` and zeros in the other.

A network that predicts from the colour reaches 85% on the training environments and 10% at
test; one that predicts from the shape alone reaches at most 75% everywhere. Here the digits are
MNIST-1D signals (``colored_mnist1d``) or scikit-learn's 8×8 digits (``colored_digits``), with
intensities in ``[0, 1]`` (MNIST-1D's standardized signals are mapped affinely onto ``[0, 1]``
by the minimum and maximum over both splits, so a zeroed channel is "dark" as in the paper).
The training split holds both training environments interleaved, example ``i`` in environment
``i mod 2`` (:func:`environments`: Arjovsky's ``images[::2]`` and ``images[1::2]``).
``grayscale=True`` gives the same draw with the colour removed (one channel, the digit): the
paper's grey-scale oracle. ``repeats`` draws every training digit several times, each draw with
its own flips (the paper has 25,000 MNIST images per environment; 1,438 digits drawn once let a
network memorize their noisy labels).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from occamlab.data.arrays import float_tensor, long_tensor
from occamlab.data.base import Data, Split
from occamlab.data.digits import DigitsSpec
from occamlab.data.mnist1d import MNIST1D_DEFAULT_SEED, Mnist1DSpec
from occamlab.data.registry import (
    DATASETS,
    DatasetSpec,
    check_open_fraction,
    check_positive,
    check_seed,
)
from occamlab.data.rng import numpy_generator

#: Environments of the training split (example ``i`` is in environment ``i mod 2``).
NUM_TRAIN_ENVIRONMENTS = 2


def environments(n: int) -> torch.Tensor:
    """The training environment of each of ``n`` training examples: ``i mod 2``.

    >>> environments(5).tolist()
    [0, 1, 0, 1, 0]
    """
    return torch.arange(n) % NUM_TRAIN_ENVIRONMENTS


def colorize(
    images: np.ndarray,
    digits: np.ndarray,
    *,
    color_flip: np.ndarray | float,
    label_flip: float,
    rng: np.random.Generator,
    grayscale: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arjovsky's construction of one or more environments.

    Args:
        images: ``(n, *shape)`` digit intensities in ``[0, 1]``.
        digits: ``(n,)`` the digits 0–9.
        color_flip: ``e``, the probability that the colour disagrees with the label (a scalar
            or one per example).
        label_flip: the probability that the label disagrees with ``1[digit < 5]``.
        rng: the random stream of the flips (label flips drawn first, then colour flips).
        grayscale: drop the colour (one channel holding the digit) instead of two channels.

    Returns:
        ``(x, y, color)``: inputs ``(n, 2, *shape)`` (``(n, 1, *shape)`` in grey scale) with the
        digit in channel ``color``, the labels and the colours (both 0/1 int64).
    """
    n = len(digits)
    label = (np.asarray(digits) < 5).astype(np.int64)
    label ^= (rng.random(n) < label_flip).astype(np.int64)
    flip = np.broadcast_to(np.asarray(color_flip, dtype=np.float64), (n,))
    color = label ^ (rng.random(n) < flip).astype(np.int64)
    images = np.asarray(images, dtype=np.float64)
    if grayscale:
        return images[:, None], label, color
    x = np.zeros((n, 2, *images.shape[1:]))
    x[np.arange(n), color] = images
    return x, label, color


@dataclass(frozen=True, kw_only=True)
class ColoredSpec(DatasetSpec):
    """Fields of every coloured data set (registered subclasses choose the digits).

    Attributes:
        label_flip: probability that a label disagrees with ``1[digit < 5]`` (0.25), in every
            split (not the shared ``label_noise``, which re-draws training labels uniformly).
        color_flip_env1: ``e`` of the first training environment (even examples), 0.2.
        color_flip_env2: ``e`` of the second training environment (odd examples), 0.1.
        color_flip_test: ``e`` of the test environment, 0.9 (colour mostly disagrees).
        color_seed: seed of the label and colour flips.
        repeats: draws per training digit: each training image appears in ``repeats``
            consecutive training examples (so in both environments when ``repeats`` is even),
            each with its own label and colour flips. A small set of digits then gives the
            many examples per network parameter of the paper's 25,000 per environment, and
            no example's noisy label can be memorized from its image alone. Test digits are
            drawn once.
        grayscale: the grey-scale oracle's inputs: the same draw without the colour.
        flatten: inputs flattened to one vector per example.
    """

    label_flip: float = 0.25
    color_flip_env1: float = 0.2
    color_flip_env2: float = 0.1
    color_flip_test: float = 0.9
    color_seed: int = 0
    grayscale: bool = False
    repeats: int = 1
    flatten: bool = True

    def validate(self) -> None:
        super().validate()
        check_seed("color_seed", self.color_seed)
        check_positive("repeats", self.repeats)
        for field in ("label_flip", "color_flip_env1", "color_flip_env2", "color_flip_test"):
            value = getattr(self, field)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{field} is a probability and must lie in [0, 1], got {value}")

    def digits_data(
        self, *, root: str | os.PathLike[str] | None, cache_dir: str | os.PathLike[str] | None
    ) -> Data:
        """The grey digits with intensities in ``[0, 1]`` and their digits as labels."""
        raise NotImplementedError

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """The two training environments (interleaved) and the test environment."""
        base = self.digits_data(root=root, cache_dir=cache_dir)
        train = Split(
            base.train.x.repeat_interleave(self.repeats, 0),
            base.train.y.repeat_interleave(self.repeats, 0),
        )
        env = environments(len(train)).numpy()
        flips = np.where(env == 0, self.color_flip_env1, self.color_flip_env2)
        splits = []
        for name, split, flip in (("train", train, flips), ("test", base.test, None)):
            x, y, _ = colorize(
                split.x.double().numpy(),
                split.y.numpy(),
                color_flip=self.color_flip_test if flip is None else flip,
                label_flip=self.label_flip,
                rng=numpy_generator(self.color_seed, f"{name}_flips"),
                grayscale=self.grayscale,
            )
            x = x.reshape(len(x), -1) if self.flatten else x
            splits.append(Split(float_tensor(x), long_tensor(y)))
        return Data(
            name=self.name, train=splits[0], test=splits[1], task="classification", num_outputs=2
        )


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class ColoredMnist1DSpec(ColoredSpec):
    """Coloured MNIST-1D: ``num_train`` + ``num_test`` MNIST-1D signals (the standard data
    set's seed 42 by default), each of length 40, in two colour channels (80 inputs).

    Attributes:
        seed: the MNIST-1D generation seed.
        num_train: training examples (both environments).
        num_test: test examples.
    """

    name: ClassVar[str] = "colored_mnist1d"

    seed: int = MNIST1D_DEFAULT_SEED
    num_train: int = 10_000
    num_test: int = 2_000

    def validate(self) -> None:
        super().validate()
        check_positive("num_train", self.num_train)
        check_positive("num_test", self.num_test)

    def digits_data(
        self, *, root: str | os.PathLike[str] | None, cache_dir: str | os.PathLike[str] | None
    ) -> Data:
        base = Mnist1DSpec(seed=self.seed, num_train=self.num_train, num_test=self.num_test)
        data = base.load(cache_dir=cache_dir)
        lo = float(min(data.train.x.min(), data.test.x.min()))
        hi = float(max(data.train.x.max(), data.test.x.max()))
        train, test = (Split((s.x - lo) / (hi - lo), s.y) for s in (data.train, data.test))
        return Data(data.name, train, test, data.task, data.num_outputs)


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class ColoredDigitsSpec(ColoredSpec):
    """Coloured 8×8 digits (scikit-learn's 1,797 images, intensities ``v / 16``) in two colour
    channels (128 inputs).

    Attributes:
        seed: seed of the stratified train/test split.
        test_fraction: fraction of the images in the test environment.
    """

    name: ClassVar[str] = "colored_digits"

    test_fraction: float = 0.2

    def validate(self) -> None:
        super().validate()
        check_open_fraction("test_fraction", self.test_fraction)

    def digits_data(
        self, *, root: str | os.PathLike[str] | None, cache_dir: str | os.PathLike[str] | None
    ) -> Data:
        return DigitsSpec(seed=self.seed, test_fraction=self.test_fraction).load()


__all__ = [
    "NUM_TRAIN_ENVIRONMENTS",
    "ColoredDigitsSpec",
    "ColoredMnist1DSpec",
    "ColoredSpec",
    "colorize",
    "environments",
]
