"""Lottery tickets (Frankle & Carbin 2019, arXiv 1803.03635) on MNIST-1D.

LeNet-300-100 (here 40-300-100-10; the data set and model are spec fields) trained with Adam (lr
1.2e-3, batch 60), pruned by magnitude 20% per round in each hidden layer and 10% in the output
layer, the survivors rewound to their initial values and retrained, round after round. The paper's
finding (its Fig. 3 and 4): the subnetworks found this way ("winning tickets") train to the dense
network's test error down to a small fraction of the weights, while the same masks with a fresh
random initialization do much worse; a random mask of the same per-layer sizes from the original
initialization does worse as well. Each training here is a fixed number of steps and the final test
error is reported (the paper reports the error at the early-stopping iteration).

The ``fast-pruning`` setting prunes twice as much per round (36% of each hidden layer, 19% of the
output layer: one round of it is two of the default), reaching the claims' sparsity in half the
rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, mean_std
from occamlab.models import build_model, model_spec
from occamlab.probes.compression.lottery import LotterySpec, lottery_ticket, percent_kept_axis
from occamlab.recipes import make_subject
from occamlab.train import TrainSpec

SOURCE = "Frankle & Carbin 2019, arXiv 1803.03635"
FRESH_SEED = 10_000  # the re-initialization control draws from build_model(seed + FRESH_SEED)


@EXPERIMENTS.register
@dataclass(frozen=True)
class LotteryTicket:
    """Iterative magnitude pruning with rewinding to initialization, against its controls.

    Attributes:
        seeds: seeds (initialization and data order); claims are paired t-tests over them.
        rounds: pruning rounds (after j rounds a hidden layer keeps 0.8^j of its weights).
        rate: per-round pruning rate of the hidden layers.
        output_rate: per-round pruning rate of the output layer.
        steps: training steps of every network (dense, tickets, controls).
        lr: Adam learning rate.
        batch_size: minibatch size.
        rewind_step: rewind to this step of dense training (0: the initialization).
        control_every: train the two controls every this many rounds (and at the last).
        instability: also measure the error barrier between two copies of each ticket trained
            with different data orders (Frankle et al. 2020).
        target_kept: the claims are checked at the first round keeping at most this fraction.
        data: the data set (a registry name, e.g. ``mnist1d`` or ``digits``).
        model: the network (a registry model name, e.g. ``lenet300``).
    """

    name: ClassVar[str] = "lottery-ticket"
    summary: ClassVar[str] = (
        "Winning tickets: pruned subnetworks rewound to init match the dense net; "
        "re-initialized ones do not"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        # quick: half the training steps and the controls at the last round only, so that five
        # seeds fit in a few CPU minutes
        "quick": {"seeds": 5, "steps": 1500, "control_every": 9},
        "paper": {"seeds": 5, "rounds": 15, "control_every": 1, "instability": True},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "fast-pruning": {"rate": 0.36, "output_rate": 0.19, "rounds": 5},
    }

    seeds: int = 3
    rounds: int = 9
    rate: float = 0.2
    output_rate: float = 0.1
    steps: int = 3000
    lr: float = 1.2e-3
    batch_size: int = 60
    rewind_step: int = 0
    control_every: int = 3
    instability: bool = False
    target_kept: float = 0.15
    data: str = "mnist1d"
    model: str = "lenet300"

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.rounds < 1 or self.steps < 1:
            raise ValueError("lottery-ticket needs seeds, rounds and steps >= 1")
        if not 0 < self.target_kept < 1:
            raise ValueError(f"target_kept must be in (0, 1), got {self.target_kept}")
        data_spec(self.data), model_spec(self.model)  # unknown names fail here

    def recipe(self, seed: int) -> TrainSpec:
        return TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=0,
            max_steps=self.steps,
            schedule="constant",
            eval_every=10_000,  # evaluate at the end only
            seed=seed,
        )

    def run(self, ctx: Context) -> ExperimentResult:
        spec = LotterySpec(
            rounds=self.rounds,
            rate=self.rate,
            output_rate=self.output_rate,
            rewind_step=self.rewind_step,
            control_every=self.control_every,
            instability=self.instability,
        )
        results = []
        for seed in ctx.track(range(self.seeds), "seeds"):

            def compute(_directory, seed=seed) -> dict[str, Any]:
                subject = make_subject(model=self.model, data=data_spec(self.data), seed=seed)
                fresh = build_model(
                    model_spec(self.model),
                    input_shape=subject.data.input_shape,
                    num_outputs=subject.data.num_outputs,
                    seed=seed + FRESH_SEED,
                )
                fresh_params = {k: p.detach() for k, p in fresh.named_parameters()}
                result = lottery_ticket(subject, self.recipe(seed), spec=spec, fresh=fresh_params)
                return result.to_dict()

            key = {**self.__dict__, "seed": seed}
            key.pop("seeds")
            key.pop("target_kept")
            results.append(ctx.cached("imp", key, compute))
        table = summarize(results)
        return ExperimentResult(
            metrics={"dense_error": table[0]["dense"], "rounds": table},
            tables={"error by sparsity (mean over seeds)": table, "per seed": per_seed(results)},
            figures={"test error vs weights kept": figure(table)},
            claims=claims(results, target_kept=self.target_kept),
        )


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean (± std) over seeds of each round's test errors."""
    out = []
    dense, dense_sd = mean_std([r["dense"]["test_error"] for r in results])
    for j, row in enumerate(results[0]["table"]):
        entry: dict[str, Any] = {
            "round": row["round"],
            "kept": row["kept"],
            "sparsity": 1.0 - row["kept"],
        }
        for key in ("ticket", "reinit", "random", "ticket_barrier"):
            values = [r["table"][j][key] for r in results if r["table"][j][key] is not None]
            mean, sd = mean_std(values) if values else (None, None)
            entry[key], entry[f"{key}_std"] = mean, sd
        entry["dense"], entry["dense_std"] = dense, dense_sd
        out.append(entry)
    return out


def per_seed(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"seed": s, **{k: row[k] for k in ("round", "kept", "ticket", "reinit", "random")}}
        for s, r in enumerate(results)
        for row in r["table"]
    ]


def claims(results: list[dict[str, Any]], *, target_kept: float) -> list[Claim]:
    """At the first round with at most ``target_kept`` of the weights (and a control), paired
    t-tests over the seeds (each seed's ticket, controls and dense network share its data and
    initialization)."""
    rows = results[0]["table"]
    j = next(
        (i for i, r in enumerate(rows) if r["kept"] <= target_kept and r["reinit"] is not None),
        None,
    )
    if j is None:
        missing = f"no round with <= {target_kept:.0%} of the weights and a control was run"
        return [
            Claim(
                "the ticket is within 0.02 of the dense network's test error",
                False,
                missing,
                SOURCE + ", Fig. 3",
            ),
            Claim(
                "the ticket beats the re-initialized mask by at least 0.05",
                False,
                missing,
                SOURCE + ", Fig. 4",
            ),
        ]

    def at(key: str) -> list[float]:
        return [r["table"][j][key] for r in results]

    ticket, dense = at("ticket"), [r["dense"]["test_error"] for r in results]
    where = f"at {rows[j]['kept']:.1%} of the weights (round {rows[j]['round']})"
    out = [
        Claim.tested(
            "the ticket is within 0.02 of the dense network's test error",
            compare(
                dense,
                ticket,
                margin=-0.02,
                paired=True,
                names=("dense", "ticket"),
                hypothesis="dense − ticket error > −0.02",
            ),
            f"ticket {np.mean(ticket):.3f} vs dense {np.mean(dense):.3f} {where}",
            SOURCE + ", Fig. 3",
        ),
        Claim.tested(
            "the ticket beats the same mask re-initialized by at least 0.05",
            compare(
                at("reinit"),
                ticket,
                margin=0.05,
                paired=True,
                names=("re-initialized", "ticket"),
                hypothesis="re-initialized − ticket error > 0.05",
            ),
            f"re-initialized {np.mean(at('reinit')):.3f} vs ticket {np.mean(ticket):.3f} {where}",
            SOURCE + ", Fig. 4",
        ),
    ]
    if rows[j]["random"] is not None:
        out.append(
            Claim.tested(
                "the ticket beats a random mask of the same layer sizes",
                compare(
                    at("random"),
                    ticket,
                    paired=True,
                    names=("random mask", "ticket"),
                    hypothesis="random mask − ticket error > 0",
                ),
                f"random mask {np.mean(at('random')):.3f} vs ticket {np.mean(ticket):.3f} {where}",
                SOURCE + ", Fig. 4 (random pruning)",
            )
        )
    return out


def figure(table: list[dict[str, Any]]) -> Any:
    """Mean test error against the fraction of weights kept."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    styles = {
        "ticket": ("o-", "ticket (rewound to init)"),
        "reinit": ("s--", "same mask, re-initialized"),
        "random": ("^:", "random mask, original init"),
    }
    for key, (style, label) in styles.items():
        rows = [r for r in table if r[key] is not None]
        if rows:
            ax.errorbar(
                [r["kept"] for r in rows],
                [r[key] for r in rows],
                yerr=[r[f"{key}_std"] for r in rows],
                fmt=style,
                capsize=3,
                label=label,
            )
    ax.axhline(table[0]["dense"], color="k", lw=1, label="dense")
    ax.set(xscale="log", xlabel="fraction of weights kept", ylabel="test error")
    percent_kept_axis(ax)
    ax.legend(fontsize=8)
    return fig
