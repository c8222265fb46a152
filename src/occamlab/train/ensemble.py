"""Train K models of one architecture at once, through the one training loop.

The K members become one :class:`EnsembleSubject` whose model runs every member in a single
vectorized forward pass and whose loss is the sum of the members' mean losses. Members do not
interact, so the gradient of that sum with respect to member k's parameters is exactly member k's
own gradient; the optimizer gets one parameter group per member (its own learning rate and weight
decay), and SGD, Adam and AdamW update each group as they would alone. :func:`occamlab.train.fit`
therefore trains every member exactly as ``fit(member, its_spec)`` would, up to floating-point
rounding of the batched products (final weights agree to ~1e-6).

Two vectorized forwards:

- ``"stacked"``: for fully connected nets (Linear layers and elementwise activations, as built by
  the ``mlp`` model), the members' weights are stacked into ``(K, out, in)`` tensors each step and
  applied with batched matrix products (``torch.baddbmm``);
- ``"vmap"``: any module without buffers: ``torch.func.functional_call`` vmapped over the stacked
  parameters.

Vectorizing pays where each member's work is small (the widths of model zoos and double-descent
sweeps) and hardly at all once each member's products are large; ``method="auto"`` stacks fully
connected nets below a per-step work (a fixed rule, so that the trained weights do not depend on
the machine's load), times a few steps of the vmapped way against one member for other modules,
and trains the members one after the other when that is faster or when they cannot be vectorized
(different data inputs, BatchNorm, dropout drawing from the global RNG, differing recipes other
than rates and targets).

Dropout: the ``mlp`` model's :class:`~occamlab.models.layers.SeededDropout` layers draw their
masks from their own generators; the stacked forward draws member k's mask from member k's layer,
the same mask it would draw training alone. A member that has reached its target stays in the
stacked forward (its weights frozen), so its generator advances past where it would stop alone.

Members may differ in initialization (seed, init scale), training labels (label noise),
``lr``, ``weight_decay`` and their stopping targets; they share the inputs, the data order
(``TrainSpec.seed``) and the rest of the recipe.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.models.layers import Erf, FlattenInput, Network, SeededDropout
from occamlab.subject import Evaluation, Params, Subject, stochastic_modules
from occamlab.train.loop import (
    Callback,
    NonFiniteLossError,
    TrainResult,
    TrainState,
    fit,
    targets_met,
)
from occamlab.train.spec import TrainSpec
from occamlab.train.stacked_optim import STACKED_OPTIMIZERS, StackedOptimizer

Method = Literal["auto", "stacked", "vmap", "sequential"]

# Above this many multiply-adds per member and step (batch × parameters) an MLP's products are
# large enough that stacking members does not pay on CPU (benchmarks/ensemble.py: 16 members of
# 40-256-256-10 at batch 128, 1e7, train 0.88× as fast stacked; 40-64-64-10, 1e6, 2.7× faster).
STACKED_MAX_WORK = 4_000_000

# Recipe fields members may differ in; everything else must be equal to share one loop.
PER_MEMBER_FIELDS = ("lr", "weight_decay", "target_loss", "target_accuracy")
_ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.Identity, Erf)


def _layers(model: nn.Module) -> list[nn.Module] | None:
    """The flat list of layers of a fully connected net, or None if it is not one."""
    if isinstance(model, Network):
        parts = [*model.features, model.head] if isinstance(model.features, nn.Sequential) else None
    elif isinstance(model, nn.Sequential):
        parts = list(model)
    else:
        parts = None
    kinds = (nn.Linear, FlattenInput, SeededDropout, *_ELEMENTWISE)
    if not parts or not all(isinstance(m, kinds) for m in parts):
        return None
    if any(isinstance(m, nn.Linear) and type(m).forward is not nn.Linear.forward for m in parts):
        return None  # a Linear subclass with its own forward (e.g. NTK gains): not a plain product
    linear = [i for i, m in enumerate(parts) if isinstance(m, nn.Linear)]
    flatten = [i for i, m in enumerate(parts) if isinstance(m, FlattenInput)]
    dropout = [i for i, m in enumerate(parts) if isinstance(m, SeededDropout)]
    if not linear or any(i > linear[0] for i in flatten) or any(i < linear[0] for i in dropout):
        return None
    return parts


def _same_architecture(models: Sequence[nn.Module]) -> bool:
    first = [(n, p.shape) for n, p in models[0].named_parameters()]
    kinds = [type(m) for m in models[0].modules()]
    return all(
        [(n, p.shape) for n, p in m.named_parameters()] == first
        and [type(x) for x in m.modules()] == kinds
        for m in models[1:]
    )


class EnsembleModule(nn.Module):
    """All members in one forward pass: ``(batch, *input) -> (batch, K, outputs)``.

    Its parameters are the members' parameters stacked along a new first dimension (one
    ``(K, ...)`` leaf per parameter name), so a step needs no stacking and updates all members
    with a few batched operations. :meth:`write_back` copies them into the members' modules.
    """

    def __init__(self, members: Sequence[nn.Module], method: Literal["stacked", "vmap"]) -> None:
        super().__init__()
        self.method = method
        self.__dict__["members"] = list(members)  # the members' modules, outside the tree
        self.names = [n for n, p in members[0].named_parameters() if p.requires_grad]
        own = [dict(m.named_parameters()) for m in members]
        self.stacked = nn.ParameterList(
            nn.Parameter(torch.stack([o[n].detach() for o in own]).clone()) for n in self.names
        )
        if method == "stacked":
            layers = _layers(members[0])
            if layers is None:
                raise ValueError(
                    "method='stacked' needs fully connected nets (Linear + activations)"
                )
            index = {n: i for i, n in enumerate(self.names)}
            by_module = {id(m): k for k, m in members[0].named_modules()}
            modules = [dict(m.named_modules()) for m in members]
            self._plan = []
            for layer in layers:
                name = by_module[id(layer)]
                if isinstance(layer, nn.Linear):
                    w = index[f"{name}.weight" if name else "weight"]
                    b = index.get(f"{name}.bias" if name else "bias")
                    self._plan.append(("linear", w, b))
                elif isinstance(layer, SeededDropout):  # each member's masks from its own layer
                    layers_k = [own[name] for own in modules]
                    keep_scale = torch.tensor([1.0 - m.p for m in layers_k], dtype=torch.float64)
                    self._plan.append(("dropout", layers_k, keep_scale))
                else:
                    self._plan.append(("apply", layer, None))
        else:
            # A parameter-free template for functional calls; kept out of the module tree.
            self.__dict__["_base"] = copy.deepcopy(members[0]).to("meta")

    @torch.no_grad()
    def write_back(self, indices: Sequence[int] | None = None) -> None:
        """Copy the stacked parameters into the members' own modules."""
        for k in range(len(self.members)) if indices is None else indices:
            own = dict(self.members[k].named_parameters())
            for name, stacked in zip(self.names, self.stacked, strict=True):
                own[name].copy_(stacked[k])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.method == "stacked":
            out = self._stacked(x)
        else:
            params = dict(zip(self.names, self.stacked, strict=True))
            out = torch.func.vmap(
                lambda p, inputs: torch.func.functional_call(self._base, p, (inputs,)),
                in_dims=(0, None),
            )(params, x)
        return out.transpose(0, 1)

    def _stacked(self, x: torch.Tensor) -> torch.Tensor:
        h, batched = x, False  # (B, d) until the first Linear layer, then (K, B, d)
        for kind, a, b in self._plan:
            if kind == "apply":
                h = a(h)  # the input flattening, or an elementwise activation
                continue
            if kind == "dropout":  # member k's mask as member k would draw it alone
                if self.training:
                    keep = torch.stack([m.keep_mask(h.shape[1:], h.dtype) for m in a])
                    h = h * keep / b.to(h.dtype).view(-1, 1, 1)  # 1 − p_k per member
                continue
            w = self.stacked[a].transpose(1, 2)
            bias = None if b is None else self.stacked[b].unsqueeze(1)
            if not batched:  # (B, in) @ (K, in, out) broadcasts without copying the inputs
                h = torch.matmul(h, w) if bias is None else torch.matmul(h, w) + bias
                batched = True
            else:
                h = torch.bmm(h, w) if bias is None else torch.baddbmm(bias, h, w)
        return h


@dataclass(eq=False)
class EnsembleSubject(Subject):
    """K member subjects as one subject: outputs ``(B, K, C)``, targets ``(n, K)``, and the
    loss Σ_k (mean loss of member k). Built by :func:`fit_ensemble`."""

    members: tuple[Subject, ...] = ()
    specs: tuple[TrainSpec, ...] = ()
    last_evaluations: dict[str, list[Evaluation]] = field(default_factory=dict, repr=False)

    def _check_shapes(self) -> None:  # members were checked one by one
        return None

    def make_optimizer(self, spec: TrainSpec) -> StackedOptimizer:
        """The loop's optimizer: ``spec``'s update over the stacked parameters, with each
        member's own learning rate and weight decay."""
        return StackedOptimizer(
            list(self.model.parameters()),
            spec,
            lrs=[s.lr for s in self.specs],
            weight_decays=[s.weight_decay for s in self.specs],
        )

    def loss_of(
        self, params: Params | None, x: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean"
    ) -> torch.Tensor:
        """Σ_k of member k's loss on the batch (``reduction`` applies within each member)."""
        if reduction not in ("mean", "sum"):
            raise ValueError("ensembles support reduction 'mean' or 'sum'")
        out = self.forward(params, x)
        if self.loss == "cross_entropy":  # Σ_k mean_b = (1/B) Σ_{b,k}: one call over B·K rows
            flat, target = out.reshape(-1, out.shape[-1]), y.reshape(-1, 1)
            # logsumexp - logit is cross-entropy; on CPU it is ~2x faster than F.cross_entropy
            # (log_softmax over few classes) once there are thousands of rows.
            total = (torch.logsumexp(flat, dim=1) - flat.gather(1, target).squeeze(1)).sum()
        else:
            total = self._member_losses(out, y, "sum").sum()
        return total / y.shape[0] if reduction == "mean" else total

    def _member_losses(self, out: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
        b, k = out.shape[0], out.shape[1]
        if self.loss == "cross_entropy":
            flat = F.cross_entropy(out.reshape(b * k, -1), y.reshape(-1), reduction="none")
        else:
            target = y
            if target.dtype == torch.int64:
                target = F.one_hot(target, out.shape[-1]).to(out.dtype)
            flat = (out - target.to(out.dtype)).pow(2).mean(dim=-1).reshape(-1)
        per = flat.reshape(b, k)
        return per.sum(dim=0) if reduction == "sum" else per

    def member_evaluations(
        self, *, split: str = "train", limit: int | None = None
    ) -> list[Evaluation]:
        """Each member's mean loss and accuracy on a split (one vectorized pass per batch)."""
        k = len(self.members)
        total = torch.zeros(k, dtype=torch.float64)
        correct = torch.zeros(k, dtype=torch.int64)
        n = 0
        classification = self.data.task == "classification"
        with torch.no_grad(), self.eval_mode():
            for x, y in self.batches(split, limit=limit):  # type: ignore[arg-type]
                out = self.forward(None, x)
                total += self._member_losses(out, y, "sum").double()
                if classification:
                    correct += (out.argmax(dim=-1) == y).sum(dim=0)
                n += len(y)
        if n == 0:
            raise ValueError(f"the {split} split is empty")
        return [
            Evaluation(
                loss=float(total[i]) / n,
                accuracy=int(correct[i]) / n if classification else None,
                n=n,
            )
            for i in range(k)
        ]

    def evaluate(
        self, params: Params | None = None, *, split: str = "train", limit: int | None = None
    ) -> Evaluation:
        """Σ_k of the members' mean losses and their mean accuracy (what the loop records)."""
        if params is not None:
            raise ValueError("an ensemble evaluates its members' own parameters")
        evals = self.member_evaluations(split=split, limit=limit)
        if limit is None:
            self.last_evaluations[split] = evals
        accs = [e.accuracy for e in evals]
        return Evaluation(
            loss=sum(e.loss for e in evals),
            accuracy=None if accs[0] is None else sum(accs) / len(accs),  # type: ignore[arg-type]
            n=evals[0].n,
        )


def _check_members(subjects: Sequence[Subject], specs: Sequence[TrainSpec]) -> str | None:
    """Why these members cannot share one vectorized loop (None if they can)."""
    first = subjects[0]
    if any(s.loss != first.loss for s in subjects):
        return "members use different losses"
    for name in ("train", "test"):
        xs = [s.split(name).x for s in subjects]  # type: ignore[arg-type]
        if any(x is not xs[0] and not torch.equal(x, xs[0]) for x in xs[1:]):
            return f"members have different {name} inputs"
    if any(s.data.num_outputs != first.data.num_outputs for s in subjects):
        return "members have different numbers of outputs"
    if not _same_architecture([s.model for s in subjects]):
        return "members have different architectures"
    if any(True for s in subjects for _ in s.model.buffers()):
        return "members have buffers (BatchNorm running statistics)"
    if any(
        not isinstance(m, SeededDropout) for s in subjects for _, m in stochastic_modules(s.model)
    ):
        return "members have BatchNorm, GroupNorm or dropout that draws from the global RNG"
    if stochastic_modules(first.model) and _layers(first.model) is None:
        return (
            "members have dropout outside a fully connected net (only the stacked forward "
            "draws each member's own masks)"
        )
    shared = [
        {
            f.name: getattr(s, f.name)
            for f in dataclasses.fields(s)
            if f.name not in PER_MEMBER_FIELDS
        }
        for s in specs
    ]
    if any(d != shared[0] for d in shared[1:]):
        return f"recipes differ beyond {', '.join(PER_MEMBER_FIELDS)}"
    if specs[0].optimizer not in STACKED_OPTIMIZERS:
        return f"the stacked optimizer has no {specs[0].optimizer}"
    return None


def _ensemble(
    subjects: Sequence[Subject], specs: Sequence[TrainSpec], method: str
) -> EnsembleSubject:
    first = subjects[0]

    def stack(split: str) -> Split:
        parts = [s.split(split) for s in subjects]  # type: ignore[arg-type]
        return Split(parts[0].x, torch.stack([p.y for p in parts], dim=1))

    data = Data(
        name=f"ensemble of {first.data.name}",
        train=stack("train"),
        test=stack("test"),
        task=first.data.task,
        num_outputs=first.data.num_outputs,
    )
    return EnsembleSubject(
        model=EnsembleModule([s.model for s in subjects], method),  # type: ignore[arg-type]
        data=data,
        loss=first.loss,
        eval_batch_size=first.eval_batch_size,
        name=f"ensemble of {len(subjects)}",
        members=tuple(subjects),
        specs=tuple(specs),
    )


class _Members(Callback):
    """Per-member histories, stopping targets and callbacks inside the ensemble's loop."""

    def __init__(self, ensemble: EnsembleSubject, callbacks: Sequence[Sequence[Callback]]):
        self.ensemble = ensemble
        self.callbacks = callbacks
        self.states: list[TrainState] = []

    def on_train_begin(self, state: TrainState) -> None:
        for i, (member, spec) in enumerate(
            zip(self.ensemble.members, self.ensemble.specs, strict=True)
        ):
            s = TrainState(
                subject=member,
                spec=spec,
                optimizer=state.optimizer,
                total_steps=state.total_steps,
                steps_per_epoch=state.steps_per_epoch,
            )
            self.states.append(s)
            for cb in self.callbacks[i]:
                cb.on_train_begin(s)

    def _active(self) -> list[int]:
        return [i for i, s in enumerate(self.states) if s.stop_reason is None]

    def _sync(self, state: TrainState) -> None:
        for i in self._active():
            s = self.states[i]
            s.step, s.epoch = state.step, state.epoch
            s.lr = self.ensemble.specs[i].lr * state.lr / state.spec.lr
            s.batch_loss = state.batch_loss

    def _write_back(self, indices: Sequence[int]) -> None:
        """Bring the members' modules up to date for callbacks that look at them."""
        wanted = [i for i in indices if self.callbacks[i]]
        if wanted:
            self.ensemble.model.write_back(wanted)  # type: ignore[operator]

    def on_step_end(self, state: TrainState) -> None:
        self._sync(state)
        active = self._active()
        self._write_back(active)
        for i in active:
            for cb in self.callbacks[i]:
                cb.on_step_end(self.states[i])

    def on_epoch_end(self, state: TrainState) -> None:
        self._sync(state)
        evaluated = bool(state.history) and state.history[-1]["step"] == state.step
        groups = state.optimizer.param_groups
        if evaluated:  # the loop has just evaluated every member: reuse those numbers
            train, test = self._evaluations()
            for i in self._active():
                s = self.states[i]
                record = {
                    "epoch": state.epoch,
                    "step": state.step,
                    "lr": s.lr,
                    "train_loss": train[i].loss,
                    "train_accuracy": train[i].accuracy,
                    "test_loss": None if test is None else test[i].loss,
                    "test_accuracy": None if test is None else test[i].accuracy,
                }
                if not math.isfinite(record["train_loss"]):
                    raise NonFiniteLossError(
                        f"member {i}: training loss became {record['train_loss']}"
                    )
                s.history.append(record)
                reason = targets_met(s.spec, record)
                if reason:
                    s.request_stop(reason)
        calling = [
            i
            for i, s in enumerate(self.states)
            if s.stop_reason is None or not groups[i].get("frozen")
        ]
        self._write_back(calling)
        for i in calling:
            for cb in self.callbacks[i]:
                cb.on_epoch_end(self.states[i])
        for i, s in enumerate(self.states):
            if s.stop_reason is not None:
                groups[i]["frozen"] = True
        if not self._active():
            state.request_stop("every member reached its target")

    def _evaluations(self) -> tuple[list[Evaluation], list[Evaluation] | None]:
        last = self.ensemble.last_evaluations
        has_test = len(self.ensemble.data.test) > 0
        return last["train"], last["test"] if has_test else None

    def on_train_end(self, state: TrainState) -> None:
        self._sync(state)
        self.ensemble.model.write_back()  # type: ignore[operator]
        for i, s in enumerate(self.states):
            if s.stop_reason is None:
                s.stop_reason = state.stop_reason
                if not s.history or s.history[-1]["step"] != s.step:  # pragma: no cover
                    raise RuntimeError("the loop ended without evaluating the members")
            for cb in self.callbacks[i]:
                cb.on_train_end(s)


def fit_ensemble(
    subjects: Sequence[Subject],
    specs: TrainSpec | Sequence[TrainSpec],
    *,
    method: Method = "auto",
    callbacks: Sequence[Sequence[Callback]] | None = None,
    progress: bool = False,
) -> list[TrainResult]:
    """Train each subject with its spec, all at once where that is faster.

    Every member's model is trained in place, as ``fit(subjects[k], specs[k])`` would train it:
    same stopping rule, history and final weights (to rounding of the batched products).

    Args:
        subjects: the members (same architecture and inputs; labels and initializations may
            differ).
        specs: one recipe for all, or one per member (differing only in ``lr``,
            ``weight_decay``, ``target_loss``, ``target_accuracy``).
        method: ``"stacked"`` (fully connected nets), ``"vmap"`` (any buffer-free module),
            ``"sequential"`` (one after the other), or ``"auto"``: the faster of a vectorized
            way and sequential, timed on copies for a few steps; sequential when the members
            cannot be vectorized.
        callbacks: per-member callbacks (``callbacks[k]`` sees member k's state).
        progress: a progress bar on stderr.

    Returns:
        One :class:`TrainResult` per member (``seconds`` is the shared wall time).
    """
    k = len(subjects)
    if k == 0:
        raise ValueError("an ensemble needs at least one member")
    spec_list = [specs] * k if isinstance(specs, TrainSpec) else list(specs)
    if len(spec_list) != k:
        raise ValueError(f"got {len(spec_list)} specs for {k} members")
    member_callbacks = [list(c) for c in (callbacks or [[] for _ in range(k)])]
    if len(member_callbacks) != k:
        raise ValueError(f"got {len(member_callbacks)} callback lists for {k} members")
    reason = _check_members(subjects, spec_list) if k > 1 else "a single member"
    if method == "vmap" and not reason and stochastic_modules(subjects[0].model):
        reason = "dropout vectorizes only with method='stacked'"
    if method in ("stacked", "vmap") and reason:
        raise ValueError(f"cannot vectorize: {reason}")
    if method == "auto":
        method = "sequential" if reason else choose_method(subjects, spec_list)
    if method == "sequential":
        return [
            fit(s, spec, callbacks=cbs, progress=progress)
            for s, spec, cbs in zip(subjects, spec_list, member_callbacks, strict=True)
        ]
    return _fit_vectorized(subjects, spec_list, method, member_callbacks, progress)


def _fit_vectorized(
    subjects: Sequence[Subject],
    specs: Sequence[TrainSpec],
    method: str,
    callbacks: Sequence[Sequence[Callback]],
    progress: bool,
) -> list[TrainResult]:
    started = time.perf_counter()
    ensemble = _ensemble(subjects, specs, method)
    shared = dataclasses.replace(specs[0], target_loss=0.0, target_accuracy=0.0)
    members = _Members(ensemble, callbacks)
    fit(ensemble, shared, callbacks=[members], progress=progress)
    seconds = time.perf_counter() - started
    return [
        TrainResult(
            steps=s.step,
            epochs=s.epoch,
            stop_reason=s.stop_reason or "",
            history=s.history,
            seconds=seconds,
        )
        for s in members.states
    ]


class _StepTimer(Callback):
    """Wall times of the training steps after the first (no evaluation, no warm-up)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_end(self, state: TrainState) -> None:
        self.times.append(time.perf_counter())

    @property
    def seconds(self) -> float:
        """The median step time (robust to a step interrupted by other work)."""
        steps = sorted(b - a for a, b in zip(self.times, self.times[1:], strict=False))
        return steps[len(steps) // 2]


def _trial_copy(subject: Subject, n: int) -> Subject:
    """A copy of ``subject`` that trains on its first ``n`` examples and has no test split, so
    the closing evaluation of a timing trial costs little next to the steps it times."""
    train = subject.split("train")
    head = Split(train.x[:n], train.y[:n])
    data = dataclasses.replace(subject.data, train=head, test=Split(head.x[:0], head.y[:0]))
    return subject.clone(data=data)


def choose_method(
    subjects: Sequence[Subject], specs: Sequence[TrainSpec], *, steps: int = 16
) -> Literal["stacked", "vmap", "sequential"]:
    """The way to train these members.

    Fully connected nets go by a rule, not a timing, so that the choice (and with it the
    rounding of the trained weights) does not depend on how loaded the machine is: stacked
    while the per-step work (batch × parameters) stays below :data:`STACKED_MAX_WORK`,
    sequential above. Other modules: ``steps`` training steps of the vmapped way and of one
    member are timed on copies of the members (nothing is modified), and the vmapped way is
    taken when it is at least 10% faster for all K members; a module that refuses
    ``torch.func.vmap`` (``NotImplementedError``, e.g. the ``deq`` model) trains sequentially."""
    batch = specs[0].batch_size or subjects[0].num_examples("train")
    if _layers(subjects[0].model) is not None:
        small = batch * subjects[0].num_parameters < STACKED_MAX_WORK
        return "stacked" if small else "sequential"  # large products: batching does not pay
    trial = [dataclasses.replace(s, max_steps=steps, epochs=0, eval_every=10**9) for s in specs]
    one, together = _StepTimer(), _StepTimer()
    fit(_trial_copy(subjects[0], steps * batch), trial[0], callbacks=[one])
    copies = [_trial_copy(s, steps * batch) for s in subjects]
    try:
        fit(_ensemble(copies, trial, "vmap"), trial[0], callbacks=[together])
    except NotImplementedError:  # a module that refuses torch.func.vmap (a fixed-point solver)
        return "sequential"
    # Close calls go to sequential training: exact per-member semantics, no stacked copies.
    return "vmap" if together.seconds < 0.9 * one.seconds * len(subjects) else "sequential"
