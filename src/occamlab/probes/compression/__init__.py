"""Compression and lottery tickets: can the model be simpler, is its size essential?

Modules, one concept each:

- :mod:`~occamlab.probes.pruning` (next door): exact-sparsity magnitude and random masks.
- :mod:`.structured`: whole neurons/channels by norm.
- :mod:`.finetune`: training with a mask kept at exactly zero (:class:`MaskKeeper`).
- :mod:`.lowrank`: truncated SVD per layer, ranks by energy or a global parameter budget.
- :mod:`.lottery`: iterative magnitude pruning with rewinding, controls, instability.
- :mod:`.width`: width/depth sweeps of registry architectures.
- :mod:`.robustness`: which layers are critical (reset to init, a checkpoint, re-randomized).
- :mod:`.frontier` and :mod:`.simplify`: the accuracy-vs-parameters frontier and the smallest
  model within tolerance.
- :mod:`.counting`, :mod:`.rebuild`: what a compressed model needs; registry initial weights
  and resized specs.
"""

from occamlab.probes.compression.counting import dead_input_masks, kept_parameters
from occamlab.probes.compression.finetune import Finetuned, MaskKeeper, finetune
from occamlab.probes.compression.frontier import pareto, plot_frontier, smallest_within
from occamlab.probes.compression.lottery import (
    LotteryResult,
    LotterySpec,
    Snapshot,
    lottery_ticket,
)
from occamlab.probes.compression.lowrank import LowRank, low_rank, lowrank_curve, truncate
from occamlab.probes.compression.rebuild import initial_params, registry_spec, resized
from occamlab.probes.compression.robustness import LayerRobustnessResult, layer_robustness
from occamlab.probes.compression.simplify import SimplifyResult, SimplifySpec, simplify
from occamlab.probes.compression.structured import neuron_masks
from occamlab.probes.compression.width import WidthSweepResult, train_member, width_sweep

__all__ = [
    "Finetuned",
    "LayerRobustnessResult",
    "LotteryResult",
    "LotterySpec",
    "LowRank",
    "MaskKeeper",
    "SimplifyResult",
    "SimplifySpec",
    "Snapshot",
    "WidthSweepResult",
    "dead_input_masks",
    "finetune",
    "initial_params",
    "kept_parameters",
    "layer_robustness",
    "lottery_ticket",
    "low_rank",
    "lowrank_curve",
    "neuron_masks",
    "pareto",
    "plot_frontier",
    "registry_spec",
    "resized",
    "simplify",
    "smallest_within",
    "train_member",
    "truncate",
    "width_sweep",
]
