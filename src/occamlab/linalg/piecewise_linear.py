"""Whether a module's ``forward`` keeps every output piecewise linear in each single weight.

:func:`forward_is_piecewise_linear` reads the forward of any ``nn.Module`` (a user's own class
included) through :func:`torch.fx` symbolic tracing and follows, node by node, which parameters
each value depends on:

- a supported layer (``leaves``: Linear/convolutions, BatchNorm in eval mode, ReLU-like
  activations, pooling, dropout, flatten, ...) is linear in its own weights and piecewise linear
  in its input, so its output depends on both;
- ops that are piecewise linear in all their tensor arguments together (``+``, ``-``, ``relu``,
  ``leaky_relu``, ``hardtanh``, ``clamp``, pooling, dropout, ``cat``, reshapes, indexing, sums
  and means) pass the union of their arguments' dependencies on;
- products (``*``, ``@``, ``F.linear``, ``F.conv*``) are allowed when no weight enters two
  factors (then the product is linear in each single weight of either factor), so ``h * 2`` or
  ``x @ self.weight`` pass and ``h * h`` does not; a division only by weight-free values;
- any op on weight-free values (functions of the input alone) is allowed;
- each parameter and each layer enters the graph once (a weight used twice can make the output
  quadratic in it).

Everything else (``tanh``, ``exp``, ``sigmoid``, ``softmax``, normalization by a
weight-dependent norm, ...) is refused with the op's name. A forward that cannot be traced
(control flow that depends on the data) is refused too: its graph cannot be checked.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import fx, nn

__all__ = ["forward_is_piecewise_linear"]

# Piecewise linear in all tensor arguments together.
_JOINT = {
    "add", "sub", "neg", "pos", "iadd", "isub", "relu", "relu_", "relu6", "leaky_relu",
    "hardtanh", "clamp", "clip", "abs", "max_pool1d", "max_pool2d", "max_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "dropout", "dropout1d", "dropout2d", "dropout3d", "pad", "cat", "concat", "stack",
    "flatten", "view", "view_as", "reshape", "reshape_as", "permute", "transpose", "t",
    "squeeze", "unsqueeze", "contiguous", "expand", "expand_as", "getitem", "chunk", "split",
    "narrow", "flip", "clone", "sum", "mean", "float", "double", "to", "type_as",
}  # fmt: skip
# Values that carry no gradient (shapes, sizes).
_SHAPES = {"size", "dim", "getattr", "numel"}
# Products: linear in each factor.
_PRODUCTS = {"mul", "imul", "matmul", "mm", "bmm", "linear", "conv1d", "conv2d", "conv3d"}
# Linear in the numerator.
_DIVISIONS = {"truediv", "div", "itruediv"}
_NAMESPACES = (torch, F, operator, torch.Tensor)


def _functions(names: Iterable[str]) -> dict[Callable, str]:
    found = {}
    for name in names:
        for space in _NAMESPACES:
            fn = getattr(space, name, None)
            if callable(fn):
                found[fn] = name
    return found


_ALL = _JOINT | _SHAPES | _PRODUCTS | _DIVISIONS
_KNOWN_FUNCTIONS = {**_functions(_ALL), builtins.getattr: "getattr"}


class _Tracer(fx.Tracer):
    """Keeps the supported layers (and torch.nn's own modules) as leaves; traces through the
    rest, which is the code to check."""

    def __init__(self, leaves: tuple[type[nn.Module], ...]):
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, self.leaves) or super().is_leaf_module(m, module_qualified_name)


def _op(node: fx.Node) -> str | None:
    if node.op == "call_method":
        return node.target if node.target in _ALL else None
    return _KNOWN_FUNCTIONS.get(node.target)


def _dependencies(value: object, deps: dict[fx.Node, frozenset[str]]) -> list[frozenset[str]]:
    """The parameters each node inside ``value`` (an argument structure) depends on."""
    found: list[frozenset[str]] = []
    fx.node.map_arg(value, lambda n: found.append(deps[n]))
    return found


def forward_is_piecewise_linear(
    model: nn.Module,
    *,
    leaves: tuple[type[nn.Module], ...],
    linear_in_weights: tuple[type[nn.Module], ...],
) -> tuple[bool, str]:
    """Whether each output of ``model`` is piecewise linear in every single weight, judged from
    its traced forward graph (module docs), and why (or why not).

    Args:
        model: any module; its layers are assumed already checked (``leaves`` are trusted).
        leaves: module types kept as single nodes: the supported layers.
        linear_in_weights: those among ``leaves`` that own weights (their output depends on
            their own parameters and their input).
    """
    try:
        graph = _Tracer(leaves).trace(model)
    except Exception as error:  # noqa: BLE001  (any tracing failure means: cannot be checked)
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return False, (
            f"the forward of {type(model).__name__} cannot be traced by torch.fx ({message}; "
            "e.g. control flow that depends on the data), so it cannot be checked"
        )
    modules = dict(model.named_modules())
    parameters = dict(model.named_parameters())
    deps: dict[fx.Node, frozenset[str]] = {}

    uses: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            uses[node.target] = uses.get(node.target, 0) + 1
        elif node.op == "get_attr" and node.target in parameters:
            uses[node.target] = uses.get(node.target, 0) + len(node.users)
    for target, count in uses.items():
        if count > 1:
            return False, (
                f"{target} is used {count} times in the forward: its weights can enter the "
                "output quadratically"
            )

    for node in graph.nodes:
        args = _dependencies((node.args, node.kwargs), deps)
        union = frozenset().union(*args)
        if node.op in ("placeholder", "output"):
            deps[node] = union
        elif node.op == "get_attr":
            owns = node.target in parameters and parameters[node.target].requires_grad
            deps[node] = frozenset([node.target]) if owns else frozenset()
        elif node.op == "call_module":
            module = modules[node.target]
            where = f"{node.target} ({type(module).__name__})"
            own = frozenset(f"{node.target}.{n}" for n, _ in module.named_parameters())
            if not isinstance(module, leaves):
                if union or own:
                    return False, (
                        f"{where} is not known to be piecewise linear (smooth nonlinearities "
                        "such as tanh, GELU or sigmoid have nonzero second derivatives, so "
                        "diag H != diag GGN)"
                    )
                deps[node] = frozenset()
            elif isinstance(module, linear_in_weights) or own:
                deps[node] = union | own
            else:
                deps[node] = union
        else:  # call_function, call_method
            op = _op(node)
            name = op or getattr(node.target, "__name__", str(node.target))
            if not union:
                deps[node] = frozenset()
            elif op in _SHAPES:
                deps[node] = frozenset()
            elif op in _JOINT:
                deps[node] = union
            elif op in _PRODUCTS:
                if sum(len(d) for d in args) != len(union):
                    return False, (
                        f"{name} at {node.name} multiplies two values that depend on the same "
                        "weights, so the output can be quadratic in a single weight"
                    )
                deps[node] = union
            elif op in _DIVISIONS:
                denominator = node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
                if any(_dependencies(denominator, deps)):
                    return False, (
                        f"{name} at {node.name} divides by a value that depends on the weights"
                    )
                deps[node] = union
            else:
                return False, (
                    f"{name} at {node.name} of the forward of {type(model).__name__} is not "
                    "known to be piecewise linear in the weights (smooth nonlinearities such as "
                    "tanh, exp or sigmoid have nonzero second derivatives, so diag H != diag GGN)"
                )
    return True, (
        f"the traced forward of {type(model).__name__} composes layers linear in their weights "
        "or piecewise linear (ReLU-like, pooling, BatchNorm in eval mode) with sums, reshapes "
        "and products of factors sharing no weight, so each output is piecewise linear in every "
        "single weight and diag H = diag GGN"
    )
