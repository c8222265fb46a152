"""Layer robustness (Zhang, Bengio & Singer 2019, "Are all layers created equal?", arXiv
1902.01996): put one layer back to an earlier state, keep the others trained, measure the error.

For each layer ℓ (the parameters of one module) and each state s, evaluate the network
``θ_trained`` with ``θ_ℓ`` replaced by

- ``init``: its initial value θ_ℓ⁰ (*re-initialization robustness*);
- a checkpoint ``θ_ℓ^t`` from early training (e.g. after one epoch);
- ``rerandomized``: a fresh draw from the initialization distribution (*re-randomization*).

A layer is *critical* when putting it back raises the error far above the trained network's;
Zhang et al. find the first layers of fully connected nets critical and later layers robust to
re-initialization, and re-randomization more damaging than re-initialization. Each evaluation is
a new parameter set through the functional view, in eval mode; the module is never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from occamlab.probes.compression.counting import layer_groups, shuffled
from occamlab.subject import Params, Subject


def _error(subject: Subject, params: Params, split: str, limit: int | None) -> float:
    result = subject.evaluate(params, split=split, limit=limit)  # type: ignore[arg-type]
    return result.error if result.error is not None else result.loss


@dataclass(frozen=True)
class LayerRobustnessResult:
    """Error with each layer put back to each state.

    Attributes:
        split: the split the errors are measured on.
        metric: ``"error"`` (1 − accuracy) or ``"loss"`` (regression).
        baseline: the trained network's error.
        states: the state names, in column order.
        rows: one per layer: ``layer``, ``num_parameters`` and the error per state.
        eval_mode: errors are measured in eval mode.
    """

    split: str
    metric: str
    baseline: float
    states: list[str]
    rows: list[dict[str, Any]]
    eval_mode: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def plot(self, ax: Any = None) -> Any:
        """Heat map of errors, layers × states (as Zhang et al., Fig. 1)."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(
                figsize=(1.6 + 1.4 * len(self.states), 0.9 + 0.45 * len(self.rows))
            )
        values = [[row[s] for s in self.states] for row in self.rows]
        image = ax.imshow(values, cmap="RdYlGn_r", vmin=0.0, aspect="auto")
        for i, line in enumerate(values):
            for j, v in enumerate(line):
                ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(self.states)), self.states)
        ax.set_yticks(range(len(self.rows)), [r["layer"] for r in self.rows])
        ax.set_title(f"{self.split} {self.metric} (trained: {self.baseline:.3f})")
        ax.figure.colorbar(image, ax=ax)
        return ax


def layer_robustness(
    subject: Subject,
    *,
    init: Params,
    checkpoints: Mapping[str, Params] | None = None,
    fresh: Params | None = None,
    rerandomize: bool = True,
    split: str = "test",
    limit: int | None = None,
    generator: torch.Generator | None = None,
) -> LayerRobustnessResult:
    """Error of the trained subject with each layer reset to each earlier state.

    Args:
        subject: the trained subject (its current weights); never modified.
        init: its initial weights (for registry subjects
            :func:`occamlab.probes.compression.rebuild.initial_params`).
        checkpoints: more states by name, e.g. ``{"epoch 1": params}``.
        fresh: a fresh initialization for ``rerandomized`` (default: each tensor of ``init``
            randomly permuted with ``generator``, a draw from the same i.i.d. distribution).
        rerandomize: include the ``rerandomized`` state.
        split: ``"test"`` or ``"train"``.
        limit: use the first ``limit`` examples.
        generator: randomness of the default re-randomization (seed 0 if None).
    """
    trained = subject.params()
    states: dict[str, Params] = {"init": init, **dict(checkpoints or {})}
    if rerandomize:
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        states["rerandomized"] = fresh if fresh is not None else shuffled(init, generator=gen)
    for state, params in states.items():
        missing = sorted(set(trained) - set(params))
        if missing:
            raise ValueError(f"state {state!r} lacks parameters {missing[:5]}")
        for k, v in trained.items():
            if tuple(params[k].shape) != tuple(v.shape):
                raise ValueError(f"state {state!r}: {k!r} has shape {tuple(params[k].shape)}")
    baseline = _error(subject, trained, split, limit)
    rows = []
    for layer, names in layer_groups(trained).items():
        row: dict[str, Any] = {
            "layer": layer,
            "num_parameters": sum(trained[k].numel() for k in names),
        }
        for state, params in states.items():
            mixed = dict(trained)
            mixed.update({k: params[k].detach() for k in names})
            row[state] = _error(subject, mixed, split, limit)
        rows.append(row)
    classification = subject.data.task == "classification"
    return LayerRobustnessResult(
        split=split,
        metric="error" if classification else "loss",
        baseline=baseline,
        states=list(states),
        rows=rows,
    )
