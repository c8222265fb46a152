"""Lottery tickets: iterative magnitude pruning with rewinding, its controls, and stability.

Frankle & Carbin (2019, arXiv 1803.03635): train the dense network; prune a fraction p of the
remaining weights of each layer by magnitude (the output layer at a lower rate); reset the
surviving weights to their initial values; train again; repeat. After j rounds a layer pruned at
rate p keeps ``(1 − p)^j`` of its weights. A *winning ticket* trains to the dense network's test
error from its original initialization, while the same mask with a fresh initialization (the
re-initialization control) or a random mask of the same per-layer sizes from the original
initialization (the random-pruning control) does worse.

Frankle et al. (2020, arXiv 1912.05671) rewind to the weights at iteration k of dense training
instead of to initialization (``rewind_step = k``; the rewound network then trains for the
remaining ``T − k`` steps, with a fresh data order from the recipe's seed and the schedule
restarted over those steps, which is the same thing for a constant learning rate), and measure
*instability*: two copies of the rewound subnetwork trained with different data orders, and the
test error barrier on the line between them (:func:`occamlab.probes.connectivity.
linear_mode_connectivity`, with the mask kept).

Every training is the one loop (:func:`occamlab.train.fit`) on a clone; pruned weights are kept at
exactly zero by :class:`~occamlab.probes.compression.finetune.MaskKeeper`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from occamlab.probes.compression.counting import kept_parameters, shuffled
from occamlab.probes.compression.finetune import MaskKeeper, finetune, total_steps, with_steps
from occamlab.probes.connectivity import linear_mode_connectivity
from occamlab.probes.pruning import (
    Masks,
    Scope,
    apply_masks,
    magnitude_masks,
    prunable_names,
    random_masks,
    sparsity,
)
from occamlab.subject import Params, Subject
from occamlab.train import Callback, TrainResult, TrainSpec, TrainState, fit


@dataclass(frozen=True)
class LotterySpec:
    """Options of :func:`lottery_ticket`.

    Attributes:
        rounds: pruning rounds after the dense training.
        rate: fraction of the remaining weights of each layer pruned per round.
        output_rate: per-round rate of the output layer (Frankle & Carbin: half of ``rate``
            for fully connected networks).
        scope: ``layer`` prunes each layer at its rate (Frankle & Carbin's choice for LeNet);
            ``global`` uses one magnitude threshold across the hidden layers.
        rewind_step: rewind the surviving weights to dense training's step k (0: the
            initialization).
        reinit_control: also train the same mask from a fresh initialization each round.
        random_control: also train a random mask of the same per-layer sizes from the rewind
            point each round.
        control_every: train the controls only every this many rounds (and at the last).
        instability: also train two copies of each ticket with different data orders and
            measure the error barrier between them.
        instability_points: points on that path (endpoints included).
        seed: seeds the controls' randomness and the data orders of the instability copies.
    """

    rounds: int = 5
    rate: float = 0.2
    output_rate: float = 0.1
    scope: Scope = "layer"
    rewind_step: int = 0
    reinit_control: bool = True
    random_control: bool = True
    control_every: int = 1
    instability: bool = False
    instability_points: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.rounds >= 1, f"rounds must be >= 1, got {self.rounds}"),
            (0 < self.rate < 1, f"rate must be in (0, 1), got {self.rate}"),
            (0 <= self.output_rate < 1, f"output_rate must be in [0, 1), got {self.output_rate}"),
            (self.scope in ("layer", "global"), f"scope must be layer or global: {self.scope!r}"),
            (self.rewind_step >= 0, f"rewind_step must be >= 0, got {self.rewind_step}"),
            (self.control_every >= 1, f"control_every must be >= 1, got {self.control_every}"),
            (self.instability_points >= 2, "instability_points must be >= 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


class Snapshot(Callback):
    """Copy the model's parameters as they are after optimizer step ``step`` (0: before any)."""

    def __init__(self, step: int) -> None:
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        self.step = step
        self.params: dict[str, torch.Tensor] | None = None

    def _take(self, state: TrainState) -> None:
        self.params = {k: p.detach().clone() for k, p in state.subject.model.named_parameters()}

    def on_train_begin(self, state: TrainState) -> None:
        if self.step == 0:
            self._take(state)

    def on_step_end(self, state: TrainState) -> None:
        if state.step == self.step:
            self._take(state)


def percent_kept_axis(ax: Any) -> None:
    """Weights kept in percent on a log axis, dense at the left."""
    from matplotlib.ticker import NullFormatter, PercentFormatter

    lo, hi = ax.get_xlim()
    ax.set_xticks(
        [t for t in (0.8, 0.5, 0.3, 0.2, 0.14, 0.1, 0.05, 0.03, 0.02, 0.01) if lo <= t <= hi]
    )
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.invert_xaxis()


def round_sparsity(rate: float, round_: int) -> float:
    """Fraction pruned after ``round_`` rounds at ``rate``: ``1 − (1 − rate)^round``.

    >>> round(round_sparsity(0.2, 9), 4)
    0.8658
    """
    return 1.0 - (1.0 - rate) ** round_


def imp_masks(
    params: Params,
    *,
    spec: LotterySpec,
    round_: int,
    existing: Masks | None,
    names: list[str],
) -> Masks:
    """The masks of round ``round_``: prune by magnitude of ``params`` (the weights trained in
    the previous round) to ``round_sparsity`` (the last name, the output layer, at its own rate),
    never reviving a weight pruned before."""
    target = round_sparsity(spec.rate, round_)
    output = round_sparsity(spec.output_rate, round_)
    return magnitude_masks(
        params,
        sparsity=target,
        scope=spec.scope,
        names=names,
        rates={names[-1]: output / target},
        existing=existing,
    )


def random_like(masks: Mapping[str, torch.Tensor], *, generator: torch.Generator) -> Masks:
    """Uniformly random keep-masks with exactly the per-tensor counts of ``masks``."""
    out: Masks = {}
    for name, mask in masks.items():
        share = int((~mask).sum()) / mask.numel()
        out[name] = random_masks({name: mask}, sparsity=share, names=[name], generator=generator)[
            name
        ]
    return out


def _summary(result: TrainResult) -> dict[str, Any]:
    final = result.final
    accuracy = final.get("test_accuracy")
    return {
        "test_error": None if accuracy is None else 1.0 - accuracy,
        "test_loss": final.get("test_loss"),
        "test_accuracy": accuracy,
        "train_loss": final.get("train_loss"),
        "train_accuracy": final.get("train_accuracy"),
        "steps": result.steps,
    }


@dataclass(frozen=True)
class LotteryResult:
    """What :func:`lottery_ticket` measured.

    Attributes:
        spec: the options.
        steps: training steps of the dense network (T); tickets train ``T − rewind_step``.
        dense: final metrics of the dense network.
        dense_instability: error barrier between two dense copies from the rewind point (only
            with ``spec.instability``).
        rounds: one row per round: ``round``, ``sparsity`` (fraction of prunable weights
            pruned), ``kept`` (fraction kept), ``kept_parameters`` (all parameters), and the
            final metrics of ``ticket``, ``reinit`` and ``random`` (each a dict or None), and
            ``instability`` (a dict or None).
        eval_mode: metrics are measured in eval mode.
    """

    spec: LotterySpec
    steps: int
    dense: dict[str, Any]
    dense_instability: dict[str, Any] | None
    rounds: list[dict[str, Any]]
    eval_mode: bool = True

    def table(self) -> list[dict[str, Any]]:
        """Flat rows: kept fraction and the test error of ticket, controls and dense."""
        rows = []
        for r in self.rounds:
            rows.append(
                {
                    "round": r["round"],
                    "kept": r["kept"],
                    "ticket": r["ticket"]["test_error"],
                    "reinit": (r["reinit"] or {}).get("test_error"),
                    "random": (r["random"] or {}).get("test_error"),
                    "dense": self.dense["test_error"],
                    "ticket_barrier": (r["instability"] or {}).get("error_barrier"),
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": dict(self.spec.__dict__),
            "steps": self.steps,
            "dense": self.dense,
            "dense_instability": self.dense_instability,
            "rounds": self.rounds,
            "table": self.table(),
            "eval_mode": self.eval_mode,
        }

    def plot(self, ax: Any = None) -> Any:
        """Test error against the fraction of weights kept (log scale, dense at the left)."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        rows = self.table()
        styles = {
            "ticket": ("o-", "ticket (rewound)"),
            "reinit": ("s--", "same mask, re-initialized"),
            "random": ("^:", "random mask"),
        }
        for key, (style, label) in styles.items():
            line = [r for r in rows if r[key] is not None]
            if line:
                ax.plot([r["kept"] for r in line], [r[key] for r in line], style, label=label)
        if self.dense["test_error"] is not None:
            ax.axhline(self.dense["test_error"], color="k", lw=1, label="dense")
        ax.set(xscale="log", xlabel="fraction of weights kept", ylabel="test error")
        percent_kept_axis(ax)
        ax.legend()
        return ax


def lottery_ticket(
    subject: Subject,
    train: TrainSpec,
    *,
    spec: LotterySpec | None = None,
    init: Params | None = None,
    fresh: Params | None = None,
) -> LotteryResult:
    """Iterative magnitude pruning with rewinding, the two controls and optional instability.

    Args:
        subject: architecture, loss and data; its module is never modified.
        train: the recipe of every training (dense, tickets, controls).
        spec: the options (:class:`LotterySpec`).
        init: the initialization (default: the subject's current weights, so pass the initial
            weights of a trained subject; for registry subjects
            :func:`occamlab.probes.compression.rebuild.initial_params` gives them).
        fresh: a fresh initialization for the re-initialization control (default: each tensor
            of ``init`` randomly permuted, seeded by ``spec.seed`` and the round).

    Returns:
        A :class:`LotteryResult`. Pruned weights are the weight matrices/kernels
        (:func:`~occamlab.probes.pruning.prunable_names`); the last one is the output layer.
    """
    spec = spec or LotterySpec()
    init = {k: v.detach().clone() for k, v in (init or subject.params()).items()}
    names = prunable_names(init)
    if len(names) < 2:
        raise ValueError("lottery tickets need at least two weight layers (hidden and output)")
    steps = total_steps(train, len(subject.data.train))
    if spec.rewind_step >= steps:
        raise ValueError(f"rewind_step {spec.rewind_step} is not before the end ({steps} steps)")
    rest = with_steps(train, steps - spec.rewind_step) if spec.rewind_step else train
    generator = torch.Generator().manual_seed(spec.seed)
    lmc_seeds = (train.seed + 1000 + spec.seed, train.seed + 2000 + spec.seed)

    dense_net = subject.clone(init)
    snap = Snapshot(spec.rewind_step)
    dense = _summary(fit(dense_net, train, callbacks=[snap]))
    rewind = snap.params
    assert rewind is not None  # the step is < T, so the snapshot was taken
    dense_instability = None
    if spec.instability:
        lmc = linear_mode_connectivity(
            subject, rest, checkpoint=rewind, seeds=lmc_seeds, num_points=spec.instability_points
        )
        dense_instability = _lmc_row(lmc)

    trained, masks, rows = dense_net.params(), None, []
    for j in range(1, spec.rounds + 1):
        masks = imp_masks(trained, spec=spec, round_=j, existing=masks, names=names)
        ticket = finetune(subject, masks, rest, params=rewind)
        trained = ticket.subject.params()
        row: dict[str, Any] = {
            "round": j,
            "sparsity": sparsity(masks),
            "kept": 1.0 - sparsity(masks),
            "kept_parameters": kept_parameters(init, masks),
            "layer_kept": {k: float(m.float().mean()) for k, m in masks.items()},
            "ticket": _summary(ticket.result),
            "reinit": None,
            "random": None,
            "instability": None,
        }
        controls = j % spec.control_every == 0 or j == spec.rounds
        if spec.reinit_control and controls:
            start = fresh if fresh is not None else shuffled(init, generator=generator)
            control = finetune(subject, masks, rest, params=start)
            row["reinit"] = _summary(control.result)
        if spec.random_control and controls:
            random = random_like(masks, generator=generator)
            control = finetune(subject, random, rest, params=rewind)
            row["random"] = _summary(control.result)
        if spec.instability:
            lmc = linear_mode_connectivity(
                subject,
                rest,
                checkpoint=apply_masks(rewind, masks),
                seeds=lmc_seeds,
                num_points=spec.instability_points,
                callbacks=(MaskKeeper(masks),),
            )
            row["instability"] = _lmc_row(lmc)
        rows.append(row)
    return LotteryResult(
        spec=spec, steps=steps, dense=dense, dense_instability=dense_instability, rounds=rows
    )


def _lmc_row(lmc) -> dict[str, Any]:
    path = lmc.path
    return {
        "error_barrier": path.error_barrier,
        "loss_barrier": path.loss_barrier,
        "instability": path.instability,
        "alphas": path.alphas,
        "test_error": None if path.test_accuracy is None else [1.0 - a for a in path.test_accuracy],
    }
