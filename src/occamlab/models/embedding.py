"""Token embeddings followed by an MLP: ``"embed_mlp"``, the grokking model for ``a ∘ b mod p``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from occamlab.models.init import InitScheme
from occamlab.models.layers import ACTIVATIONS, Activation, ActivationInit, Network
from occamlab.models.mlp import fully_connected, fully_connected_num_parameters
from occamlab.models.registry import (
    MODELS,
    ModelSpec,
    check_fields,
    flat_size,
)


class TokenEmbedding(nn.Module):
    """Embed ``tokens`` one-hot blocks with one shared table and concatenate the embeddings.

    ``(batch, tokens * vocab) -> (batch, tokens * dim)``: the input is read as ``tokens``
    consecutive blocks of ``vocab`` features, each block is multiplied by the same ``(vocab, dim)``
    table ``E`` (for a one-hot block that is a table lookup; soft inputs give the matching
    mixture), and the ``tokens`` embeddings are concatenated. The table is the weight of a
    bias-free ``nn.Linear(vocab, dim)``, so seeded initialization treats it like any layer.
    """

    def __init__(self, *, tokens: int, vocab: int, dim: int) -> None:
        super().__init__()
        self.tokens, self.vocab, self.dim = tokens, vocab, dim
        self.table = nn.Linear(vocab, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = x.reshape(x.shape[0], self.tokens, self.vocab)
        return self.table(blocks).reshape(x.shape[0], self.tokens * self.dim)


@MODELS.register
@dataclass(frozen=True)
class EmbedMLPSpec(ActivationInit, ModelSpec):
    """A shared token embedding, concatenated, then an MLP (Power et al. 2022, arXiv 2201.02177).

    Made for inputs that are ``tokens`` concatenated one-hot vectors, such as the modular
    arithmetic dataset (``[onehot_p(a), onehot_p(b)]``, ``tokens=2``): each operand gets a learned
    ``embed_dim``-vector from one table shared by the operands, and the MLP reads their
    concatenation. Learned embeddings are what grokking needs: with weight decay the embedding of
    ``a`` becomes periodic in ``a`` (Nanda et al. 2023, arXiv 2301.05217).

    Attributes:
        tokens: number of one-hot blocks in one input (the input size must be a multiple).
        embed_dim: embedding dimension.
        width: units in every hidden layer.
        depth: number of hidden layers after the embedding (``0``: linear read-out).
        activation: nonlinearity after each hidden layer.
        init: weight initialization scheme (the embedding table included).
    """

    name: ClassVar[str] = "embed_mlp"

    tokens: int = 2
    embed_dim: int = 128
    width: int = 256
    depth: int = 1
    activation: Activation = "relu"
    init: InitScheme = "default"

    def __post_init__(self) -> None:
        check_fields(
            self,
            ints={"tokens": (1, 2), "embed_dim": (1, 128), "width": (1, 256), "depth": (0, 1)},
            choices={"activation": ACTIVATIONS},
        )

    def check_input_shape(self, input_shape: tuple[int, ...]) -> None:
        size = flat_size(input_shape)
        if size % self.tokens:
            raise ValueError(
                f"embed_mlp reads inputs as {self.tokens} one-hot blocks, but an input of shape "
                f"{input_shape} has {size} features, not a multiple of {self.tokens}; set tokens "
                "to the number of one-hot blocks (2 for the modular dataset) or use mlp"
            )

    def architecture(self, *, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
        vocab = flat_size(input_shape) // self.tokens
        embed = TokenEmbedding(tokens=self.tokens, vocab=vocab, dim=self.embed_dim)
        mlp = fully_connected(
            self.tokens * self.embed_dim,
            (self.width,) * self.depth,
            num_outputs,
            activation=self.activation,
            input_shape=input_shape,
        )
        return Network(
            nn.Sequential(embed, mlp.features),
            mlp.head,
            input_shape=input_shape,
            num_outputs=num_outputs,
        )

    def num_parameters(self, input_shape: Sequence[int], num_outputs: int) -> int:
        """``vocab * embed_dim`` for the table plus the MLP on ``tokens * embed_dim`` inputs."""
        vocab = flat_size(input_shape) // self.tokens
        return vocab * self.embed_dim + fully_connected_num_parameters(
            self.tokens * self.embed_dim, (self.width,) * self.depth, num_outputs
        )


__all__ = ["EmbedMLPSpec", "TokenEmbedding"]
