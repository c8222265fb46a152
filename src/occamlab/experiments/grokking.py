"""Grokking (Power, Burda, Edwards, Babuschkin & Misra 2022, arXiv 2201.02177).

A network trained on a fraction of the table ``(a + b) mod p`` fits its training pairs quickly
and, with weight decay, generalizes to the held-out pairs only much later: validation accuracy
jumps from chance to ~100% long after training accuracy reached 100% (their Fig. 1). Weight decay
is the intervention that makes this happen within a training budget (their Fig. 2, right); without
it the network stays in its memorizing solution.

Here: an MLP on learned token embeddings (``embed_mlp``), AdamW with weight decay 1 on 30% of the
97 × 97 table, against the same recipe with weight decay 0. Train and test accuracy are evaluated
every few epochs by the training loop; a run with weight decay stops once it has generalized.

The claims are tests over the seeds (see :func:`claims`): the delay is a one-sample t-test of the
per-seed ratio of the steps to generalize to the steps to fit, with the paper's 10× as margin;
the control's train and test accuracy are one-sample t-tests against their thresholds. That every
weight-decay run generalizes within the budget is checked run by run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, mean_std
from occamlab.models import model_spec
from occamlab.train import Callback, TrainSpec, TrainState

SOURCE = "Power et al. 2022, arXiv 2201.02177"


class StopWhenGeneralized(Callback):
    """Stop training once the last evaluation's test accuracy reaches ``target``."""

    def __init__(self, target: float) -> None:
        self.target = target

    def on_epoch_end(self, state: TrainState) -> None:
        last = state.last
        if last and last["step"] == state.step and (last["test_accuracy"] or 0) >= self.target:
            state.request_stop(f"test accuracy {last['test_accuracy']:.4f} >= {self.target}")


@EXPERIMENTS.register
@dataclass(frozen=True)
class Grokking:
    """(a + b) mod p with an embedding MLP: test accuracy jumps long after train accuracy.

    Attributes:
        seeds: seeds per weight decay (initialization, data order and the train/test split); the
            claims are tests over them (with one seed the tested claims are inconclusive).
        p: the modulus.
        op: the operation of the table (``add``, ``sub``, ``mul`` or ``div``: (a ∘ b) mod p).
        train_fraction: fraction of the p² pairs used for training.
        embed_dim: token embedding dimension.
        width: hidden width of the MLP after the embedding.
        depth: hidden layers of the MLP after the embedding.
        lr: AdamW learning rate.
        weight_decay: AdamW (decoupled) weight decay of the grokking runs.
        control_weight_decay: weight decay of the control runs.
        batch_size: minibatch size.
        max_steps: step budget of the weight-decay runs (each stops once it generalizes).
        control_factor: the control runs train for this many times the steps the slowest
            weight-decay run needed to generalize (``max_steps`` if one never did).
        eval_every: evaluate train and test accuracy every this many epochs.
        target: accuracy that counts as fitted (train) or generalized (test).
    """

    name: ClassVar[str] = "grokking"
    summary: ClassVar[str] = (
        "Modular addition: with weight decay, test accuracy jumps to 99% long after train accuracy"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "lr": 1e-3, "max_steps": 100_000, "control_factor": 4.0},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # modular subtraction (a − b) mod 97 instead of addition
        "subtraction": {"op": "sub"},
    }

    seeds: int = 3
    p: int = 97
    op: str = "add"
    train_fraction: float = 0.3
    embed_dim: int = 128
    width: int = 256
    depth: int = 1
    lr: float = 5e-3
    weight_decay: float = 1.0
    control_weight_decay: float = 0.0
    batch_size: int = 512
    max_steps: int = 20_000
    control_factor: float = 2.0
    eval_every: int = 5
    target: float = 0.99

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.max_steps < 1 or self.control_factor <= 0:
            raise ValueError("grokking needs seeds >= 1, max_steps >= 1 and control_factor > 0")

    def recipe(self, weight_decay: float, seed: int, steps: int) -> TrainSpec:
        return TrainSpec(
            optimizer="adamw",
            lr=self.lr,
            weight_decay=weight_decay,
            batch_size=self.batch_size,
            epochs=0,
            max_steps=steps,
            schedule="constant",
            eval_every=self.eval_every,
            seed=seed,
        )

    def run(self, ctx: Context) -> ExperimentResult:
        model = model_spec(
            "embed_mlp", embed_dim=self.embed_dim, width=self.width, depth=self.depth
        )
        rows, curves = [], {}
        # Weight-decay runs first: the control's budget follows from how long they took.
        for wd in (self.weight_decay, self.control_weight_decay):
            control = wd != self.weight_decay
            steps = self.max_steps
            if control:
                took = [r["test_step"] for r in rows]
                steps = control_budget(took, factor=self.control_factor, fallback=self.max_steps)
            for seed in ctx.track(range(self.seeds), f"weight decay {wd:g}"):
                data = data_spec(
                    "modular", p=self.p, op=self.op, train_fraction=self.train_fraction, seed=seed
                )
                recipe = self.recipe(wd, seed, steps)
                stop_at = None if control else self.target
                key = {
                    "model": model,
                    "data": data,
                    "train": recipe,
                    "seed": seed,
                    "stop_at": stop_at,
                }
                out = ctx.cached(
                    "train",
                    key,
                    lambda _d, data=data, recipe=recipe, seed=seed, stop_at=stop_at: _train(
                        model, data, recipe, seed, stop_at
                    ),
                )
                curves[(wd, seed)] = out["history"]
                rows.append(
                    {
                        "weight_decay": wd,
                        "seed": seed,
                        "budget": steps,
                        "train_step": first_step(out["history"], "train_accuracy", self.target),
                        "test_step": first_step(out["history"], "test_accuracy", self.target),
                        "steps": out["steps"],
                        "final_train_accuracy": out["history"][-1]["train_accuracy"],
                        "final_test_accuracy": out["history"][-1]["test_accuracy"],
                        "seconds": out["seconds"],
                    }
                )
        summary = summarize(rows, grok_wd=self.weight_decay, control_wd=self.control_weight_decay)
        return ExperimentResult(
            metrics=summary,
            tables={
                "runs": rows,
                "curves (seed 0)": curve_table(
                    curves[(self.weight_decay, 0)], curves[(self.control_weight_decay, 0)]
                ),
            },
            figures={"train and test accuracy": figure(curves, self)},
            claims=claims(
                rows,
                grok_wd=self.weight_decay,
                control_wd=self.control_weight_decay,
                target=self.target,
                max_steps=self.max_steps,
            ),
        )


def _train(model: Any, data: Any, recipe: TrainSpec, seed: int, stop_at: float | None) -> dict:
    from occamlab.recipes import make_subject
    from occamlab.train import fit

    subject = make_subject(model=model, data=data, seed=seed)
    callbacks = [StopWhenGeneralized(stop_at)] if stop_at is not None else []
    result = fit(subject, recipe, callbacks=callbacks)
    history = [
        {k: h[k] for k in ("step", "train_accuracy", "test_accuracy", "train_loss", "test_loss")}
        for h in result.history
    ]
    return {"history": history, "steps": result.steps, "seconds": result.seconds}


def control_budget(test_steps: list[int | None], *, factor: float, fallback: int) -> int:
    """Steps for the control: ``factor`` × the slowest run's step of generalization.

    ``fallback`` (the full budget) if some run never generalized.

    >>> control_budget([1200, 2950], factor=2.0, fallback=20000)
    5900
    >>> control_budget([1200, None], factor=2.0, fallback=20000)
    20000
    """
    if not test_steps or any(t is None for t in test_steps):
        return fallback
    return max(1, math.ceil(factor * max(test_steps)))


def first_step(history: list[dict[str, Any]], key: str, target: float) -> int | None:
    """The first evaluated step at which ``history[key] >= target`` (None if never)."""
    return next((h["step"] for h in history if (h[key] or 0) >= target), None)


def summarize(rows: list[dict[str, Any]], *, grok_wd: float, control_wd: float) -> dict[str, Any]:
    """Steps to fit and to generalize with weight decay, and the control's final accuracies."""
    grok = [r for r in rows if r["weight_decay"] == grok_wd]
    control = [r for r in rows if r["weight_decay"] == control_wd]
    out: dict[str, Any] = {
        "seeds": len(grok),
        "all_fit": all(r["train_step"] is not None for r in rows),
        "all_grokked": all(r["test_step"] is not None for r in grok),
    }
    if out["all_fit"]:
        out["train_step"], out["train_step_std"] = mean_std([r["train_step"] for r in grok])
    if out["all_fit"] and out["all_grokked"]:
        out["test_step"], out["test_step_std"] = mean_std([r["test_step"] for r in grok])
        ratios = [r["test_step"] / r["train_step"] for r in grok]
        out["delay_ratio"], out["delay_ratio_std"] = mean_std(ratios)
        out["min_delay_ratio"] = min(ratios)
    out["control_train_accuracy"], _ = mean_std([r["final_train_accuracy"] for r in control])
    out["control_test_accuracy"], out["control_test_accuracy_std"] = mean_std(
        [r["final_test_accuracy"] for r in control]
    )
    out["control_max_test_accuracy"] = max(r["final_test_accuracy"] for r in control)
    out["control_steps"] = max(r["steps"] for r in control)
    return out


def claims(
    rows: list[dict[str, Any]],
    *,
    grok_wd: float,
    control_wd: float,
    target: float,
    max_steps: int,
) -> list[Claim]:
    """Power et al.'s findings as tests over the per-seed runs.

    Every weight-decay run generalizing within the budget is checked run by run (untested: a
    statement about each run). The delay is a one-sample t-test of the per-seed ratio (steps to
    test accuracy ≥ ``target``) / (steps to train accuracy ≥ ``target``) above 10, decided only
    when every run got there (a run that never did has no ratio). The control's final train
    accuracy is tested above ``target`` and its final test accuracy below 0.5 (one-sample
    t-tests over the seeds).
    """
    grok = sorted((r for r in rows if r["weight_decay"] == grok_wd), key=lambda r: r["seed"])
    control = sorted((r for r in rows if r["weight_decay"] == control_wd), key=lambda r: r["seed"])
    missing = [r["seed"] for r in grok if r["train_step"] is None or r["test_step"] is None]
    if missing:
        unfit = [r["seed"] for r in grok if r["train_step"] is None]
        ungrokked = [r["seed"] for r in grok if r["test_step"] is None]
        parts = [
            f"seed {', '.join(map(str, seeds))} never reached {target} {what} accuracy"
            for seeds, what in ((unfit, "train"), (ungrokked, "test"))
            if seeds
        ]
        delay = "; ".join(parts) + f" within {max_steps} steps"
    else:
        s = summarize(rows, grok_wd=grok_wd, control_wd=control_wd)
        delay = (
            f"train accuracy ≥ {target} at step {s['train_step']:.0f} ± "
            f"{s['train_step_std']:.0f}, test accuracy at {s['test_step']:.0f} ± "
            f"{s['test_step_std']:.0f} (ratio per seed "
            + ", ".join(f"{r['test_step'] / r['train_step']:.1f}" for r in grok)
            + f"; {len(grok)} seeds)"
        )
    delay_statement = (
        "generalization comes long after fitting: at least 10× the steps to fit the train set"
    )
    delay_source = SOURCE + ", Fig. 1 (validation accuracy rises orders of magnitude later)"
    train_acc = [r["final_train_accuracy"] for r in control]
    test_acc = [r["final_test_accuracy"] for r in control]
    steps = max(r["steps"] for r in control)
    return [
        Claim(
            "with weight decay every run generalizes (test accuracy ≥ 99%) within the budget",
            passed=not missing,
            evidence=delay,
            source=SOURCE + ", Fig. 1",
        ),
        Claim(delay_statement, False, delay, delay_source)
        if missing
        else Claim.tested(
            delay_statement,
            exceeds(
                [r["test_step"] / r["train_step"] for r in grok],
                10.0,
                name="steps ratio",
                hypothesis="steps to generalize / steps to fit (per seed) > 10",
            ),
            delay,
            delay_source,
        ),
        Claim.tested(
            "without weight decay the network fits the train set",
            exceeds(
                train_acc,
                target,
                name="control train accuracy",
                hypothesis=f"final train accuracy without weight decay > {target}",
            ),
            f"control after {steps} steps: train accuracy "
            + ", ".join(f"{v:.3f}" for v in train_acc)
            + " per seed",
            SOURCE + ", Fig. 2",
        ),
        Claim.tested(
            "without weight decay the network does not generalize (test accuracy < 0.5)",
            exceeds(
                [-v for v in test_acc],
                -0.5,
                name="−control test accuracy",
                hypothesis="final test accuracy without weight decay < 0.5",
            ),
            f"control after {steps} steps: test accuracy "
            + ", ".join(f"{v:.3f}" for v in test_acc)
            + " per seed (threshold 0.5)",
            SOURCE + ", Fig. 2 (weight decay is the intervention that makes it generalize)",
        ),
    ]


def curve_table(grok: list[dict[str, Any]], control: list[dict[str, Any]]) -> list[dict]:
    """The curves behind the figure (seed 0), thinned to at most ~60 rows per run."""
    rows = []
    for label, history in (("weight decay", grok), ("control", control)):
        stride = max(1, len(history) // 60)
        for h in history[::stride] + ([history[-1]] if (len(history) - 1) % stride else []):
            rows.append(
                {
                    "run": label,
                    "step": h["step"],
                    "train_accuracy": h["train_accuracy"],
                    "test_accuracy": h["test_accuracy"],
                }
            )
    return rows


def figure(curves: dict[tuple[float, int], list[dict[str, Any]]], spec: Grokking) -> Any:
    """Train and test accuracy against steps (log scale), weight decay vs control."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2, sharey=True)
    panels = (
        (axes[0], spec.weight_decay, f"weight decay {spec.weight_decay:g}"),
        (
            axes[1],
            spec.control_weight_decay,
            f"control: weight decay {spec.control_weight_decay:g}",
        ),
    )
    for ax, wd, title in panels:
        for (w, seed), history in sorted(curves.items()):
            if w != wd:
                continue
            steps = [max(h["step"], 1) for h in history]
            alpha = 1.0 if seed == 0 else 0.35
            ax.plot(steps, [h["train_accuracy"] for h in history], "C0", alpha=alpha, lw=1)
            ax.plot(steps, [h["test_accuracy"] for h in history], "C3", alpha=alpha, lw=1)
        ax.plot([], [], "C0", label="train")
        ax.plot([], [], "C3", label="test")
        ax.set(xscale="log", xlabel="optimizer step", title=title, ylim=(-0.02, 1.02))
        ax.legend(loc="center left", fontsize=8)
    axes[0].set_ylabel("accuracy")
    return fig
