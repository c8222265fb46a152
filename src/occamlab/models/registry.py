"""The model registry, the spec base class, and the seeded ``build_model`` entry point."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from occamlab.models.init import INIT_SCHEMES, Nonlinearity, materialize
from occamlab.specs import Registry


class ModelSpec:
    """Base class of model specs (each a frozen dataclass registered in :data:`MODELS`).

    Subclasses define dataclass fields (flat scalars, one of them ``init``), validate them in
    ``__post_init__``, and implement :meth:`check_input_shape`, :meth:`architecture` and
    :meth:`num_parameters`. :meth:`build` is shared: it constructs the architecture on the
    ``meta`` device and initializes it from a generator only.
    """

    name: ClassVar[str]
    init: str

    def check_input_shape(self, input_shape: tuple[int, ...]) -> None:
        """Raise ``ValueError`` (saying what to use instead) if the model cannot take the shape."""

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        """Construct the modules on the current default device, with PyTorch's own init.

        This is the uninitialized blueprint :meth:`build` uses (on the ``meta`` device). Called
        directly it draws from PyTorch's global RNG like any ``nn.Module`` constructor; prefer
        :meth:`build` or :func:`build_model`.
        """
        raise NotImplementedError

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        """Closed-form number of trainable parameters for this input shape and output count."""
        raise NotImplementedError

    @property
    def init_nonlinearity(self) -> Nonlinearity:
        """Activation whose gain the ``"kaiming_normal"`` scheme uses."""
        return "relu"

    @property
    def weight_scale(self) -> float:
        """Factor applied to every Linear/Conv weight after initialization."""
        return 1.0

    def build(
        self,
        *,
        input_shape: Sequence[int],
        num_outputs: int,
        generator: torch.Generator,
    ) -> nn.Module:
        """Build the model with every tensor drawn from ``generator`` (never the global RNG).

        Args:
            input_shape: shape of one input example, without the batch dimension.
            num_outputs: number of logits per example.
            generator: a CPU ``torch.Generator``; the only randomness used.

        Returns:
            A CPU float32 module mapping ``(batch, *input_shape)`` to ``(batch, num_outputs)``.

        Raises:
            ValueError: if the model cannot take ``input_shape`` or ``num_outputs`` is invalid.
        """
        shape = normalize_input_shape(input_shape)
        check_num_outputs(num_outputs)
        self.check_input_shape(shape)
        with torch.device("meta"):
            module = self.architecture(input_shape=shape, num_outputs=num_outputs)
        return materialize(
            module,
            generator=generator,
            scheme=self.init,  # type: ignore[arg-type]
            nonlinearity=self.init_nonlinearity,
            weight_scale=self.weight_scale,
        )


MODELS: Registry[ModelSpec] = Registry("model")
"""All model families by registry name (``"mlp"``, ``"cnn1d"``, ``"cnn2d"``, ...)."""


def model_spec(name: str, **overrides: Any) -> ModelSpec:
    """The spec registered as ``name`` with ``overrides`` applied (coerced and validated).

    Examples:
        >>> model_spec("mlp", width="256", depth=3)  # doctest: +NORMALIZE_WHITESPACE
        MLPSpec(width=256, depth=3, activation='relu', bias=True, init_scale=1.0, init='default',
                dropout=0.0)
    """
    return MODELS.spec(name, **overrides)


def build_model(
    spec: ModelSpec,
    *,
    input_shape: Sequence[int],
    num_outputs: int,
    seed: int,
) -> nn.Module:
    """Build the model described by ``spec``, initialized as a pure function of ``seed``.

    The global RNG is neither read nor advanced: same seed gives bitwise identical parameters.

    Args:
        spec: a model spec, e.g. ``model_spec("mlp", width=128)``.
        input_shape: shape of one input example, without the batch dimension (e.g. ``(40,)``
            for MNIST-1D, ``(3, 32, 32)`` for CIFAR); ``Data.input_shape`` gives it.
        num_outputs: number of logits per example (``Data.num_outputs``).
        seed: initialization seed.

    Returns:
        A CPU module in train mode mapping ``(batch, *input_shape)`` float32 inputs to
        ``(batch, num_outputs)`` outputs.

    Raises:
        TypeError: if ``spec`` is not a model spec or ``seed`` not an integer.
        ValueError: if the model cannot take ``input_shape`` (the message names the shape the
            model needs and suggests alternatives) or ``num_outputs`` is not positive.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(
            f"build_model needs a model spec such as model_spec('mlp'), got {type(spec).__name__}"
            + (f"; use model_spec({spec!r})" if isinstance(spec, str) else "")
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    generator = torch.Generator().manual_seed(seed)
    return spec.build(input_shape=input_shape, num_outputs=num_outputs, generator=generator)


def count_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``module`` (shared parameters counted once).

    Args:
        module: any module.
        trainable_only: count only parameters with ``requires_grad``.
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def normalize_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """``input_shape`` as a tuple of positive ints, or a ``ValueError`` saying what is wrong."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(
            f"input_shape must be a tuple of positive ints such as (40,) or (3, 32, 32), "
            f"got {input_shape!r}"
        ) from None
    out: list[int] = []
    for size in shape:
        try:
            value = operator.index(size)
        except TypeError:
            value = 0
        if isinstance(size, bool) or value < 1:
            raise ValueError(
                f"input_shape must be a tuple of positive ints such as (40,) or (3, 32, 32) "
                f"(one example, no batch dimension), got {input_shape!r}"
            )
        out.append(value)
    return tuple(out)


def check_num_outputs(num_outputs: int) -> None:
    """Raise ``ValueError`` unless ``num_outputs`` is a positive int."""
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or num_outputs < 1:
        raise ValueError(
            f"num_outputs must be a positive int (number of classes or target dimension), "
            f"got {num_outputs!r}"
        )


def flat_size(input_shape: Sequence[int]) -> int:
    """Number of input features after flattening one example."""
    return math.prod(input_shape)


# Field validation helpers used by the specs' ``__post_init__``.


def check_fields(
    spec: Any,
    *,
    ints: dict[str, tuple[int, int]],
    bools: tuple[str, ...] = (),
    choices: dict[str, Sequence[str]] | None = None,
) -> None:
    """Validate a spec's fields in order: ``ints`` (field -> (minimum, an example value)), then
    ``bools``, then ``choices`` (field -> the valid values), then its ``init`` scheme."""
    for field, (minimum, example) in ints.items():
        check_int(spec.name, field, getattr(spec, field), minimum=minimum, example=example)
    for field in bools:
        check_bool(spec.name, field, getattr(spec, field))
    for field, valid in (choices or {}).items():
        check_choice(spec.name, field, getattr(spec, field), valid)
    check_init(spec.name, spec.init)


def check_int(model: str, field: str, value: Any, *, minimum: int, example: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an int ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"{model}: {field} must be an integer >= {minimum} (e.g. {field}={example}), "
            f"got {value!r}"
        )


def check_bool(model: str, field: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"{model}: {field} must be True or False, got {value!r}")


def check_choice(model: str, field: str, value: Any, choices: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{model}: {field} must be one of {list(choices)}, got {value!r}")


def check_init(model: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` names an init scheme."""
    check_choice(model, "init", value, INIT_SCHEMES)


__all__ = [
    "MODELS",
    "ModelSpec",
    "build_model",
    "check_bool",
    "check_choice",
    "check_init",
    "check_int",
    "check_num_outputs",
    "count_parameters",
    "flat_size",
    "model_spec",
    "normalize_input_shape",
]
