"""Model families as typed specs, built with seeded, global-RNG-free initialization.

Examples:
    >>> from occamlab.models import build_model, count_parameters, model_spec
    >>> spec = model_spec("mlp", width=128, depth=2)
    >>> model = build_model(spec, input_shape=(40,), num_outputs=10, seed=0)
    >>> spec.num_parameters((40,), 10) == count_parameters(model)
    True

Every model maps float32 ``(batch, *input_shape)`` to ``(batch, num_outputs)`` and is a
:class:`Network` (``head(features(x))``). Registered families: ``"mlp"``, ``"cnn1d"``,
``"cnn2d"``, ``"lenet300"``, ``"resnet"``,
``"embed_mlp"`` (token embeddings + MLP, for modular arithmetic), ``"deq"`` (an implicit,
deep-equilibrium layer).
"""

from __future__ import annotations

from occamlab.models.cnn import CNN1DSpec, CNN2DSpec
from occamlab.models.embedding import EmbedMLPSpec
from occamlab.models.implicit import DEQSpec
from occamlab.models.init import INIT_SCHEMES, InitScheme, initialize_, materialize
from occamlab.models.layers import ACTIVATIONS, Activation, Network
from occamlab.models.lenet import LeNet300Spec
from occamlab.models.mlp import MLPSpec
from occamlab.models.registry import (
    MODELS,
    ModelSpec,
    build_model,
    count_parameters,
    model_spec,
)
from occamlab.models.resnet import BasicBlock, ResNetSpec

__all__ = [
    "ACTIVATIONS",
    "INIT_SCHEMES",
    "MODELS",
    "Activation",
    "BasicBlock",
    "CNN1DSpec",
    "CNN2DSpec",
    "DEQSpec",
    "EmbedMLPSpec",
    "InitScheme",
    "LeNet300Spec",
    "MLPSpec",
    "ModelSpec",
    "Network",
    "ResNetSpec",
    "build_model",
    "count_parameters",
    "initialize_",
    "materialize",
    "model_spec",
]
