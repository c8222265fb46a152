"""Can my model be simpler? The compression frontier of a subject and the smallest model that
stays within a tolerance of its test accuracy.

:func:`simplify` compresses the subject several ways — global magnitude pruning (with the random
pruning control), neuron/channel pruning by norm, each fine-tuned through the one training loop
with the mask kept; truncated SVD of every weight (no retraining); narrower copies of the
architecture retrained from scratch with the same recipe (registry subjects only); and, at the
``deep`` budget, lottery tickets rewound to the initialization — and returns every point, the
frontier, and the smallest model within ``tolerance``. Comparing pruned and narrower retrained
models answers a second question: is the over-parameterization essential?

Parameters counted are those a smaller network would need: pruned entries and the weights of
inputs that pruning made identically zero are not counted
(:func:`~occamlab.probes.compression.counting.dead_input_masks`); a rank-r layer counts
``r·(m + n)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from occamlab.probes.compression.counting import dead_input_masks, kept_parameters
from occamlab.probes.compression.finetune import finetune, finetune_recipe
from occamlab.probes.compression.frontier import (
    METHOD_LABELS,
    pareto,
    plot_frontier,
    smallest_within,
    within,
)
from occamlab.probes.compression.lottery import LotterySpec, lottery_ticket
from occamlab.probes.compression.lowrank import low_rank
from occamlab.probes.compression.rebuild import registry_spec, size_field
from occamlab.probes.compression.structured import neuron_masks
from occamlab.probes.compression.width import (
    Trainer,
    WidthSweepResult,
    train_members,
    width_sweep,
)
from occamlab.probes.pruning import Scope, apply_masks, magnitude_masks, random_masks
from occamlab.specs import spec_to_dict
from occamlab.subject import Params, Subject
from occamlab.train import UNKNOWN_RECIPE, TrainSpec

Budget = Literal["quick", "standard", "deep"]

# What each budget computes. Fine-tuning epochs are of the subject's training set.
_STANDARD: dict[str, Any] = {
    "sparsities": (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99),
    "neurons": (0.25, 0.5, 0.75, 0.875),
    "energies": (0.999, 0.99, 0.95, 0.9, 0.8, 0.7, 0.5),
    "widths": (1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32),
    "finetune_epochs": 10,
    "random_control": True,
    "lottery_rounds": 0,
}
BUDGETS: dict[str, dict[str, Any]] = {
    "quick": {
        "sparsities": (0.5, 0.8, 0.9, 0.95),
        "neurons": (0.5, 0.75),
        "energies": (0.99, 0.95, 0.9, 0.8),
        "widths": (1 / 2, 1 / 4, 1 / 8),
        "finetune_epochs": 2,
        "random_control": False,
        "lottery_rounds": 0,
    },
    "standard": _STANDARD,
    "deep": {**_STANDARD, "finetune_epochs": 20, "lottery_rounds": 8},
}


@dataclass(frozen=True)
class SimplifySpec:
    """Options of :func:`simplify` (and the flags of ``occam probe simplify``).

    Attributes:
        budget: how much to compute: quick (about a minute for the default subject), standard,
            or deep (more fine-tuning, and lottery tickets when the initial weights are known).
        tolerance: largest drop of test accuracy (regression: relative rise of test loss)
            still counted as "as good as the original".
        finetune_epochs: fine-tuning epochs after pruning (0: the budget's).
        finetune_lr_scale: fine-tuning learning rate as a fraction of the recipe's.
        scope: magnitude pruning with one global threshold or each layer to the same sparsity.
        pruning: include magnitude pruning (and, in standard/deep, the random control).
        structured: include neuron/channel pruning.
        lowrank: include truncated SVD.
        narrower: include narrower networks retrained from scratch (registry subjects only).
        seed: seeds the random control and the initializations of the narrower networks.
    """

    budget: Budget = "standard"
    tolerance: float = 0.01
    finetune_epochs: int = 0
    finetune_lr_scale: float = 0.1
    scope: Scope = "global"
    pruning: bool = True
    structured: bool = True
    lowrank: bool = True
    narrower: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.budget in BUDGETS, f"budget must be one of {list(BUDGETS)}, got {self.budget!r}"),
            (0 <= self.tolerance < 1, f"tolerance must be in [0, 1), got {self.tolerance}"),
            (self.finetune_epochs >= 0, "finetune_epochs must be >= 0 (0: the budget's)"),
            (self.finetune_lr_scale > 0, "finetune_lr_scale must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class SimplifyResult:
    """The compression frontier of a subject.

    Attributes:
        spec: the options.
        recipe: the training recipe used for fine-tuning (scaled) and retraining.
        original: the subject's parameters and metrics.
        points: every compressed model (see :mod:`~occamlab.probes.compression.frontier`).
        frontier: the non-dominated points.
        smallest: the smallest model within tolerance (the original if none is smaller).
        answer: that finding in one sentence.
        essential: whether the over-parameterization is essential, in one sentence.
        lottery: the lottery-ticket result (deep budget with known initial weights) or None.
        notes: what was skipped and why.
        seconds: wall time.
        eval_mode: every metric is measured in eval mode.
    """

    spec: SimplifySpec
    recipe: dict[str, Any]
    original: dict[str, Any]
    points: list[dict[str, Any]]
    frontier: list[dict[str, Any]]
    smallest: dict[str, Any]
    answer: str
    essential: str
    lottery: dict[str, Any] | None
    notes: list[str]
    seconds: float
    eval_mode: bool = True

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["spec"] = dict(self.spec.__dict__)
        return out

    def plot(self, ax: Any = None) -> Any:
        """The frontier figure (:func:`~occamlab.probes.compression.frontier.plot_frontier`)."""
        return plot_frontier(self.to_dict(), ax=ax)


def _metrics(subject: Subject, params: Params | None) -> dict[str, Any]:
    train = subject.evaluate(params, split="train")
    test = subject.evaluate(params, split="test")
    return {
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "train_accuracy": train.accuracy,
        "train_loss": train.loss,
    }


def frontier_point(
    method: str, setting: str, num: int, total: int, metrics: dict
) -> dict[str, Any]:
    return {
        "method": method,
        "setting": setting,
        "num_parameters": int(num),
        "fraction": num / total,
        **metrics,
    }


def simplify(
    subject: Subject,
    *,
    spec: SimplifySpec | None = None,
    train: TrainSpec | None = None,
    init: Params | None = None,
    trainer: Trainer = train_members,
    log: Callable[[str], None] | None = None,
) -> SimplifyResult:
    """Compress ``subject`` every way the budget allows and name the smallest good model.

    Args:
        subject: the trained subject; its module is never modified.
        spec: options (:class:`SimplifySpec`).
        train: the recipe the subject was trained with (default: ``subject.recipe``). Fine-tuning
            uses it shortened and at a lower learning rate; narrower networks and lottery tickets
            are trained with it in full. When no recipe is known, nothing is trained: pruned
            models are evaluated as pruned (no fine-tuning), and narrower networks and lottery
            tickets are skipped, each with a note saying so (no recipe is assumed).
        init: the subject's initial weights (enables lottery tickets at the deep budget).
        trainer: trains the narrower networks (see :func:`~occamlab.probes.compression.width.
            width_sweep`).
        log: called with a short line as each stage starts (progress for a CLI).
    """
    say = log or (lambda _line: None)
    started = time.perf_counter()
    spec = spec or SimplifySpec()
    plan = BUDGETS[spec.budget]
    recipe = train if train is not None else subject.recipe
    tune = None
    if recipe is not None:
        tune = finetune_recipe(
            recipe,
            epochs=spec.finetune_epochs or plan["finetune_epochs"],
            lr_scale=spec.finetune_lr_scale,
        )
    params = subject.params()
    total = subject.num_parameters
    original = {
        "method": "original",
        "setting": "as given",
        "num_parameters": total,
        "fraction": 1.0,
        **_metrics(subject, None),
    }
    points: list[dict[str, Any]] = []
    notes: list[str] = []
    if recipe is None:
        notes.append(
            f"{UNKNOWN_RECIPE}: pruned models are not fine-tuned, and narrower networks and "
            "lottery tickets (which need training) are skipped"
        )

    def pruned(method: str, setting: str, masks: dict[str, torch.Tensor]) -> None:
        masks = dead_input_masks(subject, params, masks)
        if tune is None:
            kept = apply_masks(dict(params), masks)
            metrics = _metrics(subject, kept)
        else:
            metrics = _metrics(finetune(subject, masks, tune).subject, None)
        num = kept_parameters(params, masks)
        points.append(frontier_point(method, setting, num, total, metrics))

    tuned = "fine-tuned" if tune is not None else "not fine-tuned (recipe unknown)"
    if spec.pruning:
        say(f"magnitude pruning at {len(plan['sparsities'])} sparsities, {tuned}")
        gen = torch.Generator().manual_seed(spec.seed)
        for s in plan["sparsities"]:
            pruned(
                "magnitude",
                f"{s:.0%} of weights pruned ({spec.scope})",
                magnitude_masks(params, sparsity=s, scope=spec.scope),
            )
            if plan["random_control"]:
                pruned(
                    "random",
                    f"{s:.0%} of weights pruned at random ({spec.scope})",
                    random_masks(params, sparsity=s, scope=spec.scope, generator=gen),
                )
    if spec.structured:
        say(f"neuron/channel pruning, {tuned}")
        try:
            for s in plan["neurons"]:
                pruned(
                    "neurons",
                    f"{s:.0%} of units removed per layer",
                    neuron_masks(params, sparsity=s),
                )
        except ValueError as exc:
            notes.append(f"neuron pruning skipped: {exc}")
    if spec.lowrank:
        say("truncated SVD")
        for tau in plan["energies"]:
            lr = low_rank(params, energy=tau)
            ranks = ", ".join(f"{lr.ranks[k]}/{lr.full_ranks[k]}" for k in lr.ranks)
            points.append(
                frontier_point(
                    "lowrank",
                    f"energy {tau:g}: ranks {ranks}",
                    lr.num_parameters,
                    total,
                    _metrics(subject, lr.params),
                )
            )
    if spec.narrower and recipe is not None:
        say("narrower networks, retrained from scratch")
        points += _narrower(subject, recipe, plan["widths"], spec.seed, trainer, total, notes)
    lottery = None
    if plan["lottery_rounds"] and recipe is not None:
        if init is None:
            notes.append("lottery tickets skipped: the initial weights are unknown (pass init=)")
        else:
            say(f"lottery tickets, {plan['lottery_rounds']} rounds")
            result = lottery_ticket(
                subject,
                recipe,
                spec=LotterySpec(
                    rounds=plan["lottery_rounds"],
                    scope="layer",
                    random_control=False,
                    seed=spec.seed,
                ),
                init=init,
            )
            lottery = result.to_dict()
            for row in result.rounds:
                points.append(
                    frontier_point(
                        "ticket",
                        f"round {row['round']}: {row['kept']:.1%} of weights kept",
                        row["kept_parameters"],
                        total,
                        {
                            k: row["ticket"][k]
                            for k in ("test_accuracy", "test_loss", "train_accuracy", "train_loss")
                        },
                    )
                )
    smallest = smallest_within(points, original, spec.tolerance)
    return SimplifyResult(
        spec=spec,
        recipe=None if recipe is None else spec_to_dict(recipe),
        original=original,
        points=points,
        frontier=pareto([*points, original]),
        smallest=smallest,
        answer=_answer(original, smallest, spec.tolerance, tuned=tune is not None),
        essential=essential_answer(points, original, spec.tolerance),
        lottery=lottery,
        notes=notes,
        seconds=time.perf_counter() - started,
    )


def _narrower(subject, recipe, fractions, seed, trainer, total, notes) -> list[dict[str, Any]]:
    model = registry_spec(subject)
    field = size_field(model, "width") if model is not None else None
    if model is None or field is None:
        notes.append(
            "narrower networks skipped: retraining at other widths needs a registry model spec "
            "(build the subject with occamlab.make_subject or occam train)"
            if model is None
            else f"narrower networks skipped: {type(model).name!r} has no width"
        )
        return []
    width = getattr(model, field)
    widths = sorted({max(1, round(width * f)) for f in fractions} - {width}, reverse=True)
    if not widths:
        return []
    sweep = width_sweep(subject, recipe, widths=widths, seeds=(seed,), trainer=trainer)
    return narrower_points(sweep, total)


def narrower_points(sweep: WidthSweepResult, total: int) -> list[dict[str, Any]]:
    """Frontier points of the networks of a width sweep narrower than the subject (metrics
    averaged over seeds)."""
    field, width = sweep.width_field, sweep.reference["width"]
    return [
        frontier_point(
            "narrower",
            f"{field} {row['width']} (of {width})"
            + (f", mean of {row['seeds']} seeds" if row["seeds"] > 1 else ""),
            row["num_parameters"],
            total,
            {k: row.get(k) for k in ("test_accuracy", "test_loss", "train_accuracy", "train_loss")},
        )
        for row in sweep.mean_rows()
        if row["width"] < width
    ]


def tolerance_text(original: dict, tolerance: float) -> str:
    """What "within tolerance" means for this subject: test accuracy points, or (regression,
    where there is no accuracy) a relative rise of the test loss."""
    if original["test_accuracy"] is not None:
        return f"at most {tolerance:g} below the original's test accuracy"
    return f"test loss at most {tolerance:.0%} above the original's"


def _answer(original: dict, smallest: dict, tolerance: float, *, tuned: bool = True) -> str:
    if smallest["method"] == "original":
        return (
            f"No compressed model tried stays within tolerance "
            f"({tolerance_text(original, tolerance)}): at this budget the "
            f"{original['num_parameters']:,}-parameter original is the smallest good model."
        )
    metric = (
        f"test accuracy {smallest['test_accuracy']:.3f} vs {original['test_accuracy']:.3f}"
        if original["test_accuracy"] is not None
        else f"test loss {smallest['test_loss']:.4g} vs {original['test_loss']:.4g}"
    )
    label = METHOD_LABELS[smallest["method"]]
    if not tuned:
        label = label.replace(" + fine-tuning", " (not fine-tuned: the recipe is unknown)")
    return (
        f"Yes: {label} ({smallest['setting']}) keeps "
        f"{smallest['num_parameters']:,} of {original['num_parameters']:,} parameters "
        f"({smallest['fraction']:.1%}) with {metric} (tolerance: "
        f"{tolerance_text(original, tolerance)})."
    )


def essential_answer(points: list[dict], original: dict, tolerance: float) -> str:
    def best(methods: tuple[str, ...]) -> dict | None:
        good = [
            p
            for p in points
            if p["method"] in methods
            and p["num_parameters"] < original["num_parameters"]
            and within(p, original, tolerance)
        ]
        return min(good, key=lambda p: p["num_parameters"]) if good else None

    narrow = best(("narrower",))
    compressed = best(("magnitude", "neurons", "lowrank", "ticket"))
    if not any(p["method"] == "narrower" for p in points):
        return "Not measured: narrower networks were not retrained (needs a registry model)."
    if narrow is not None:
        return (
            f"No: a narrower network with {narrow['fraction']:.1%} of the parameters, trained from "
            "scratch with the same recipe, is within tolerance of the original."
        )
    if compressed is not None:
        return (
            f"Partly: compressing the trained network keeps it within tolerance down to "
            f"{compressed['fraction']:.1%} of the parameters, but no narrower network trained "
            "from scratch is — the size helps training find the solution more than it is needed "
            "to represent it."
        )
    return (
        "Yes, at this budget: neither compression nor narrower retraining stays within tolerance."
    )
