"""The Hessian of a subject's full-data loss as an :class:`~occamlab.linalg.operator.Operator`.

:class:`HessianOperator` applies ``H = ∇²L(θ)`` of the full-data *mean* loss
``L(θ) = (1/n) Σ_i ℓ_i(θ)`` to flat vectors over all trainable parameters (in the order of
:meth:`Subject.params`) or over a ``block`` of them. Data are streamed in batches and every
batch contributes ``(n_b / n) · H_b v`` with ``H_b`` the Hessian of its batch-mean loss, so a
ragged last batch is weighted exactly. Evaluation is always in eval mode (BatchNorm uses its
running statistics, dropout is off), the parameters are a snapshot taken at construction, and
``dtype=torch.float64`` evaluates the network on cast copies of parameters, buffers and inputs
through :func:`torch.func.functional_call`; the user's module is never modified.

Formulations (``method``):

* ``"double_backward"``: ``g = ∂L/∂θ`` with ``create_graph=True``, then ``∂(g·v)/∂θ``
  (reverse over reverse). The graph of ``g`` does not depend on ``v``, so it is built once per
  batch and reused for every vector of a :meth:`~HessianOperator.matmat`; with a single batch
  (``cache_graph=True``) it is built once for the lifetime of the operator and each product is a
  single ``torch.autograd.grad(g, θ, v, retain_graph=True)``.
* ``"forward_over_reverse"``: ``torch.func.jvp`` of ``torch.func.grad``; ``matmat`` vmaps the
  jvp over the vectors (8 at a time).
* ``"auto"`` is ``"double_backward"`` (with the graph cached when the data fit in one batch): it
  was the fastest formulation on every model measured here, see below. The rule is fixed rather
  than timed so that results are reproducible to the last bit.

Measured on this machine (one thread, torch 2.13 CPU, float32, the MLP 40-256-256-10 =
78,858 parameters on 1,000 MNIST-1D examples; two runs of ``HessianOperator`` itself)::

    one product, all 1,000 examples in one batch
      double_backward, cached graph  (auto)          10.1-11.4 ms   <- fastest
      double_backward, graph rebuilt per product     15.8-16.4 ms
      forward_over_reverse                           18.7-19.6 ms
    matmat of 8 vectors, per vector
      cached graph, vectors looped  (auto)           10.2-11.5 ms
      double_backward, graph built once per batch    10.9-11.5 ms
      forward_over_reverse, vmapped over vectors     12.1-13.2 ms
      cached graph, is_grads_batched=True (vmap)     17.8 ms (15.2 ms with 32 vectors)
    4,000 examples streamed in 4 batches of 1,000
      matvec: double_backward 64-66 ms, forward_over_reverse 75 ms
      matmat(8), per vector: double_backward 41-44 ms, forward_over_reverse 50-51 ms
    (one plain gradient of the 1,000 examples: 5.3 ms)

Raw-autograd measurements on other models (graph rebuilt / forward-over-reverse / cached, one
product): the default cnn1d on 500 MNIST-1D examples 14.1 / 17.7 / 8.2 ms, a tanh MLP of the
same size 18.7 / 22.1 / 11.0 ms, the default resnet on 100 examples 18.4 / 27.8 / 14.5 ms.
Batching the vectors through a cached graph with ``is_grads_batched=True`` was always slower
than looping over them, so ``matmat`` loops for ``double_backward``; vmapping does help
forward-over-reverse, so ``matmat`` vmaps there.

The helpers shared by all curvature operators (:class:`CurvatureOperator`,
:func:`resolve_block`) live here too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import torch
from torch.func import functional_call

from occamlab.linalg.operator import Operator
from occamlab.linalg.params import flatten, unflatten
from occamlab.subject import Subject, loss_value

HessianMethod = Literal["auto", "double_backward", "forward_over_reverse"]
HESSIAN_METHODS: tuple[str, ...] = ("auto", "double_backward", "forward_over_reverse")
Block = str | Sequence[str] | None

#: vectors pushed through one vmapped forward-over-reverse product in ``matmat``
VMAP_CHUNK = 8


def prepare_forward_ad() -> None:
    """Import torch's forward-mode AD decompositions once, without their warnings.

    torch 2.13 loads them lazily on the first ``make_dual`` (so on the first
    :func:`torch.func.jvp`, ``jacfwd`` or ``hessian``), compiling each with ``torch.jit.script``,
    which now emits a ``DeprecationWarning`` per function from inside torch itself. Loading them
    here, with exactly that warning ignored, keeps warnings-as-errors test suites usable.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning
        )
        try:
            from torch._decomp import decompositions_for_jvp  # noqa: F401
        except ImportError:  # pragma: no cover - a future torch without the module
            pass


def resolve_block(names: Sequence[str], block: Block) -> list[str]:
    """The parameter names selected by ``block``, in the order of ``names``.

    ``block`` is ``None`` (all of them), one string or a list of strings; each string is either
    an exact parameter name (``"head.weight"``) or a module prefix (``"features.1"`` selects
    ``features.1.weight`` and ``features.1.bias``).
    """
    if block is None:
        return list(names)
    entries = [block] if isinstance(block, str) else list(block)
    if not entries:
        raise ValueError("block is empty; give parameter names or module prefixes")
    chosen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, str):
            raise TypeError(f"block entries must be strings, got {entry!r}")
        hits = [n for n in names if n == entry or n.startswith(entry + ".")]
        if not hits:
            shown = ", ".join(list(names)[:8]) + (", ..." if len(names) > 8 else "")
            raise ValueError(
                f"block entry {entry!r} matches no trainable parameter; "
                f"names are: {shown} (a prefix like 'features.1' selects a whole module)"
            )
        chosen.update(hits)
    return [n for n in names if n in chosen]


def _promote(tensors: Sequence[torch.Tensor]) -> torch.dtype:
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype


class CurvatureOperator(Operator):
    """A curvature matrix of a subject's full-data mean loss, streamed over batches.

    Base class of :class:`HessianOperator`, :class:`~occamlab.linalg.ggn.GGNOperator` and
    :class:`~occamlab.linalg.fisher.EmpiricalFisherOperator`; it owns the snapshot of the
    parameters, the (optionally float64) copies of buffers and inputs, the block selection and
    the batching. Subclasses implement :meth:`_matmat`.

    Attributes:
        subject: the subject the operator was built from.
        param_names: the parameters the flat vectors run over (the block), in order.
        num_examples: ``n``, the examples the mean runs over.
        num_batches: batches per product.
        eval_mode: always ``True``: networks are evaluated in eval mode.
        stochastic_layers: the subject's layers that behave differently in train mode.
    """

    kind = "curvature"

    def __init__(
        self,
        subject: Subject,
        *,
        split: str = "train",
        params: Mapping[str, torch.Tensor] | torch.Tensor | None = None,
        batch_size: int | None = None,
        limit: int | None = None,
        dtype: torch.dtype | None = None,
        block: Block = None,
    ) -> None:
        if not isinstance(subject, Subject):
            raise TypeError(f"expected an occamlab Subject, got {type(subject).__name__}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        self.subject = subject
        self.split = split
        self.limit = limit
        self.batch_size = int(batch_size or subject.eval_batch_size)
        self.num_examples = subject.num_examples(split, limit)  # validates the split name
        if self.num_examples == 0:
            raise ValueError(f"the {split} split of {subject.data.name!r} is empty")
        self.num_batches = -(-self.num_examples // self.batch_size)

        current = subject.params()
        values = self._read_params(current, params)
        self.dtype_was_given = dtype is not None
        compute = dtype if dtype is not None else _promote(list(values.values()))
        if not compute.is_floating_point:
            raise ValueError(f"dtype must be a floating point type, got {compute}")
        # Snapshots (copies) of everything the forward pass reads, in the compute dtype.
        self._values = {k: v.detach().to(compute, copy=True) for k, v in values.items()}
        self._frozen = {
            k: p.detach().to(compute, copy=True)
            for k, p in subject.model.named_parameters()
            if k not in self._values
        }
        self._buffers = {
            k: (b.detach().to(compute, copy=True) if b.is_floating_point() else b.detach().clone())
            for k, b in subject.model.named_buffers()
        }
        self.param_names = resolve_block(list(self._values), block)
        self.block = None if block is None else list(self.param_names)
        self._like = {k: self._values[k] for k in self.param_names}
        size = sum(p.numel() for p in self._like.values())
        super().__init__(size, dtype=compute, symmetric=True)
        self.eval_mode = True
        self.stochastic_layers = subject.stochastic_layers
        prepare_forward_ad()

    @staticmethod
    def _read_params(
        current: dict[str, torch.Tensor], params: Mapping[str, torch.Tensor] | torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        if params is None:
            return current
        if isinstance(params, torch.Tensor):
            return unflatten(params.detach(), current)
        unknown = sorted(set(params) - set(current))
        missing = sorted(set(current) - set(params))
        if unknown or missing:
            raise ValueError(
                "params must name exactly the subject's trainable parameters; "
                f"unknown: {unknown[:5]}, missing: {missing[:5]}"
            )
        out = {}
        for k, ref in current.items():
            v = params[k]
            if tuple(v.shape) != tuple(ref.shape):
                raise ValueError(
                    f"params[{k!r}] has shape {tuple(v.shape)}, expected {tuple(ref.shape)}"
                )
            out[k] = v
        return out

    # Products, losses and gradients are sums over the data: each ends in subject.all_sum, the
    # identity unless the subject holds one shard of data-parallel data.
    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.subject.all_sum(super().matvec(v))

    def matmat(self, m: torch.Tensor) -> torch.Tensor:
        return self.subject.all_sum(super().matmat(m))

    # -- evaluation helpers -------------------------------------------------------------------
    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, float]]:
        """``(x, y, n_b / n)`` for each batch, inputs cast to the compute dtype."""
        for x, y in self.subject.batches(self.split, batch_size=self.batch_size, limit=self.limit):
            if x.is_floating_point():
                x = x.to(self.dtype)
            yield x, y, len(y) / self.num_examples

    def _full(self, active: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        full = dict(self._values)
        full.update(self._frozen)
        full.update(active)
        return full

    def _forward(self, active: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Network outputs with the block's parameters ``active`` (call in eval mode)."""
        return functional_call(self.subject.model, (self._full(active), self._buffers), (x,))

    def _loss(
        self,
        active: Mapping[str, torch.Tensor],
        x: torch.Tensor,
        y: torch.Tensor,
        reduction: str = "mean",
    ) -> torch.Tensor:
        return loss_value(self._forward(active, x), y, self.subject.loss, reduction=reduction)

    def _primals(self) -> dict[str, torch.Tensor]:
        return {k: self._values[k] for k in self.param_names}

    def _leaves(self) -> list[torch.Tensor]:
        """Fresh leaf tensors (sharing the snapshot's storage) that require grad."""
        return [self._values[k].detach().requires_grad_() for k in self.param_names]

    def _parts(self, v: torch.Tensor) -> list[torch.Tensor]:
        return list(unflatten(v, self._like).values())

    def _flat(self, parts: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat([p.reshape(-1) for p in parts])

    def _columns(self, m: torch.Tensor) -> list[list[torch.Tensor]]:
        rows = m.T.contiguous()
        return [self._parts(rows[j]) for j in range(rows.shape[0])]

    # -- public extras ------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, torch.Tensor]:
        """The block's parameters the operator is evaluated at (compute dtype, a snapshot)."""
        return {k: v.clone() for k, v in self._primals().items()}

    def params_vector(self) -> torch.Tensor:
        """The block's parameters as one flat vector (the point θ of the operator)."""
        return flatten(self._primals()).clone()

    def loss(self) -> float:
        """The full-data mean loss at the operator's parameters (eval mode)."""
        total = 0.0
        with torch.no_grad(), self.subject.eval_mode():
            for x, y, w in self._batches():
                total += float(self._loss(self._primals(), x, y)) * w
        return float(self.subject.all_sum(torch.tensor(total, dtype=torch.float64)))

    def gradient(self) -> torch.Tensor:
        """The full-data gradient ``∇L(θ)`` over the block, flat, in the compute dtype."""
        out = torch.zeros(self.n, dtype=self.dtype)
        with self.subject.eval_mode():
            for x, y, w in self._batches():
                leaves = self._leaves()
                loss = self._loss(dict(zip(self.param_names, leaves, strict=True)), x, y) * w
                g = torch.autograd.grad(loss, leaves, allow_unused=True, materialize_grads=True)
                out += self._flat(g)
        return self.subject.all_sum(out)

    def describe(self) -> dict[str, Any]:
        """JSON-safe description for reports (including that eval mode was used)."""
        return {
            "operator": self.kind,
            "size": self.n,
            "dtype": str(self.dtype).removeprefix("torch."),
            "split": self.split,
            "num_examples": self.num_examples,
            "split_examples": self.subject.num_examples(self.split),
            "limit": self.limit,
            "batch_size": self.batch_size,
            "num_batches": self.num_batches,
            "block": self.block,
            "eval_mode": self.eval_mode,
            "stochastic_layers": list(self.stochastic_layers),
        }


class CachedGraphOperator(CurvatureOperator):
    """A curvature operator that can build its gradient graph once and reuse it for every
    product (``cache_graph``; the data in one batch).

    Base of :class:`HessianOperator` and
    :class:`~occamlab.linalg.ggn.JacobianProductOperator`, which define :meth:`_cached_state`
    (the graph of their one batch) and :meth:`_apply` (one product on a graph).
    """

    method: str
    cache_graph: bool
    methods: tuple[str, ...] = ()

    def __init__(
        self,
        subject: Subject,
        *,
        split: str = "train",
        params: Mapping[str, torch.Tensor] | torch.Tensor | None = None,
        batch_size: int | None = None,
        limit: int | None = None,
        dtype: torch.dtype | None = None,
        block: Block = None,
        method: str = "auto",
        cache_graph: bool | None = None,
    ) -> None:
        if method not in self.methods:
            raise ValueError(f"unknown method {method!r}; valid: {', '.join(self.methods)}")
        super().__init__(
            subject,
            split=split,
            params=params,
            batch_size=batch_size,
            limit=limit,
            dtype=dtype,
            block=block,
        )
        cacheable, refusal = self._use_method(method)
        self._set_graph_cache(cache_graph, cacheable=cacheable, refusal=refusal)

    def _use_method(self, method: str) -> tuple[bool, str]:
        """Set ``self.method`` from the requested one; whether it can reuse a cached graph, and
        the message refusing ``cache_graph=True`` when it cannot."""
        raise NotImplementedError

    def _cached_state(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def _apply(
        self, state: tuple[Any, ...], parts: list[torch.Tensor], *, retain: bool
    ) -> torch.Tensor:
        raise NotImplementedError

    def _set_graph_cache(self, cache_graph: bool | None, *, cacheable: bool, refusal: str) -> None:
        """``cache_graph``: default on when the data are one batch and ``cacheable``; refused
        (with ``refusal``) when the method cannot reuse a graph."""
        single = self.num_batches == 1
        if cache_graph is None:
            cache_graph = single and cacheable
        elif cache_graph and not single:
            raise ValueError(
                f"cache_graph=True needs the data in one batch, but {self.num_examples} examples "
                f"in batches of {self.batch_size} make {self.num_batches}; raise batch_size or "
                "lower limit"
            )
        elif cache_graph and not cacheable:
            raise ValueError(refusal)
        self.cache_graph = bool(cache_graph)
        self._cache: tuple[Any, ...] | None = None

    def clear_cache(self) -> None:
        """Free the cached gradient graph (it is rebuilt on the next product)."""
        self._cache = None

    def _cached_products(self, cols: list[list[torch.Tensor]]) -> torch.Tensor:
        """The products with every column, on the cached graph (columns of the result)."""
        state = self._cached_state()
        out = torch.zeros(len(cols), self.n, dtype=self.dtype)
        for j, parts in enumerate(cols):
            out[j] = self._apply(state, parts, retain=True)
        return out.T

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "method": self.method, "cache_graph": self.cache_graph}


class HessianOperator(CachedGraphOperator):
    """The Hessian of the full-data mean loss at ``params`` (default: the subject's own).

    Args:
        subject: the model, loss and data.
        split: ``"train"`` or ``"test"``.
        params: a parameter dict (all trainable names) or a flat vector; default the subject's
            current parameters. A snapshot is taken: later training does not change the operator.
        batch_size: examples per streamed batch (default ``subject.eval_batch_size``).
        limit: use only the first ``limit`` examples of the split.
        dtype: compute dtype, e.g. ``torch.float64`` (cast copies; the module is untouched).
        block: parameter names or module prefixes; the operator is then the sub-block of the
            Hessian for those parameters (the others held fixed), in :meth:`Subject.params`
            order.
        method: ``"auto"``, ``"double_backward"`` or ``"forward_over_reverse"`` (module docs).
        cache_graph: build the gradient graph once and reuse it for every product; needs the
            data in one batch. Default: on when there is one batch and the method is double
            backward. Holds the graph (activations of the whole batch) while the operator lives;
            :meth:`clear_cache` frees it.

    Examples:
        >>> from occamlab.testing import least_squares_subject
        >>> s = least_squares_subject(n=20, d=3, seed=0)
        >>> H = HessianOperator(s, dtype=torch.float64)
        >>> X = s.data.train.x.double()
        >>> bool(torch.allclose(H.dense(), 2 * X.T @ X / 20))
        True
    """

    kind = "hessian"
    methods = HESSIAN_METHODS

    def _use_method(self, method: str) -> tuple[bool, str]:
        self.method = "double_backward" if method == "auto" else method
        self.requested_method = method
        return (
            self.method == "double_backward",
            "cache_graph=True reuses a double-backward graph; use that method",
        )

    # -- double backward ----------------------------------------------------------------------
    def _prepare(self, x: torch.Tensor, y: torch.Tensor, w: float) -> tuple[Any, ...]:
        """Leaves, the weighted gradient with its graph, and which entries depend on θ."""
        leaves = self._leaves()
        with self.subject.eval_mode():
            loss = self._loss(dict(zip(self.param_names, leaves, strict=True)), x, y) * w
        g = torch.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        keep = [i for i, gi in enumerate(g) if gi is not None and gi.requires_grad]
        return leaves, g, keep

    def _apply(
        self, state: tuple[Any, ...], parts: list[torch.Tensor], *, retain: bool
    ) -> torch.Tensor:
        leaves, g, keep = state
        if not keep:
            return torch.zeros(self.n, dtype=self.dtype)
        hv = torch.autograd.grad(
            [g[i] for i in keep],
            leaves,
            [parts[i] for i in keep],
            retain_graph=retain,
            allow_unused=True,
            materialize_grads=True,
        )
        return self._flat(hv)

    def _cached_state(self) -> tuple[Any, ...]:
        if self._cache is None:
            ((x, y, w),) = list(self._batches())
            self._cache = self._prepare(x, y, w)
        return self._cache

    # -- forward over reverse -----------------------------------------------------------------
    def _for(self, x: torch.Tensor, y: torch.Tensor, w: float, tangents: Any) -> Any:
        def loss(active: dict[str, torch.Tensor]) -> torch.Tensor:
            return self._loss(active, x, y) * w

        return torch.func.jvp(torch.func.grad(loss), (self._primals(),), (tangents,))[1]

    # -- products -----------------------------------------------------------------------------
    def _matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self._matmat(v[:, None])[:, 0]

    def _matmat(self, m: torch.Tensor) -> torch.Tensor:
        k = m.shape[1]
        cols = self._columns(m)
        if self.cache_graph:
            return self._cached_products(cols)
        out = torch.zeros(k, self.n, dtype=self.dtype)
        for x, y, w in self._batches():
            if self.method == "double_backward":
                state = self._prepare(x, y, w)
                for j in range(k):
                    out[j] += self._apply(state, cols[j], retain=j < k - 1)
                continue
            with self.subject.eval_mode():
                if k == 1:
                    hv = self._for(x, y, w, dict(zip(self.param_names, cols[0], strict=True)))
                    out[0] += flatten(hv)
                else:
                    stacked = {
                        name: torch.stack([c[i] for c in cols])
                        for i, name in enumerate(self.param_names)
                    }
                    hv = torch.func.vmap(
                        lambda t, x=x, y=y, w=w: self._for(x, y, w, t), chunk_size=VMAP_CHUNK
                    )(stacked)
                    out += torch.cat([h.reshape(k, -1) for h in hv.values()], dim=1)
        return out.T

    def gradient(self) -> torch.Tensor:
        if self.cache_graph:
            _, g, _ = self._cached_state()
            return self.subject.all_sum(
                self._flat(
                    [
                        torch.zeros_like(p) if gi is None else gi.detach()
                        for gi, p in zip(g, self._like.values(), strict=True)
                    ]
                )
            )
        return super().gradient()


__all__ = [
    "HESSIAN_METHODS",
    "CurvatureOperator",
    "HessianMethod",
    "HessianOperator",
    "prepare_forward_ad",
    "resolve_block",
]
