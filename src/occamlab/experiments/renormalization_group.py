"""A stack of RBMs trained on Ising configurations coarse-grains like the renormalization group
(Mehta & Schwab 2014; Lin, Tegmark & Rolnick 2017).

Each seed draws ``samples`` training and ``test_samples`` held-out configurations of the 2-D
Ising model on an L×L periodic lattice at ``temperature`` (:mod:`occamlab.data.ising`; cluster
Monte Carlo, independent chains per seed) and trains a stack of ``layers`` Bernoulli RBMs
greedily, layer k having (L/b^k)² hidden units (b = ``block``: 1600-400-100-25 for L = 40 and
b = 2 as in the paper), each on the hidden probabilities of the one below. The RBMs are
scikit-learn's :class:`~sklearn.neural_network.BernoulliRBM` (persistent contrastive
divergence): their update is a sampled log-likelihood gradient whose negative phase comes from
persistent Gibbs chains, not the minibatch gradient of a loss, so they do not go through
occamlab.train.

The paper's observations, measured over the seeds and Holm-corrected together:

* **local receptive fields**: a first-layer unit's weights, reshaped to the lattice, hold the
  fraction ℓ of their |w| mass within (periodic) distance ``radius`` of their own centre of mass
  (circular mean on the torus). The claim: ℓ is at least twice (``LOCAL_RATIO``) that of the same
  weights with their sites shuffled (per unit), the score of a field with no spatial structure
  (one-sample t-test of the per-seed ratio > 2).
* **deeper layers resemble block spins, against random features**: the layer-K reconstruction
  (up through K layers and back down, mean field) correlates with the majority-rule block spins
  at its scale b^K (Kadanoff blocks of b^K × b^K sites, upsampled back to the lattice) more than
  the reconstruction of the same stack with every unit's weights shuffled (random features with
  the trained weights' values and biases; paired t-test, margin 0).
* **coarse-graining, not copying**: the layer-K reconstruction correlates more with the block
  spins at its scale than with the configuration itself (one-sample t-test of the gap > 0).
* **deeper is coarser**: that gap is larger at layer K than at layer 1 (paired t-test, margin 0).
* **the resemblance is spatial**: the three comparisons above pool all sites of all
  configurations, so a reconstruction that only carries each configuration's magnetization (a
  uniform grey of the right sign) already scores high on an ordered lattice. With each
  configuration's own mean removed from the reconstruction and from the block spins, at least
  half (``SPATIAL_FRACTION``) of layer K's correlation must remain (one-sample t-test of the
  per-seed ratio centered/pooled > 0.5).

The table "correlation vs block scale" gives every layer's correlation with the block spins at
every scale b^j, j = 0..K, trained, control and centered; the matched scale (largest
correlation) per layer is in the metrics. The samples' energy and |magnetization| per spin
are reported beside Onsager's.

Literature: Mehta & Schwab (arXiv 1410.3831) report local receptive fields with an L1 penalty
on the weights (not used here: scikit-learn's RBM has none); Koch-Janusz & Ringel (2018, arXiv
1704.06279) argue that RBM stacks need not implement a physical RG; reproductions of the
locality are mixed. A failed claim here is a finding.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import ising
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds

MEHTA = "Mehta & Schwab 2014, arXiv 1410.3831"
LIN = "Lin, Tegmark & Rolnick 2017, arXiv 1608.08225, Sec. III"
LOCAL_RATIO = 2.0  # "local": twice the mass near the centre that a structureless field holds
SPATIAL_FRACTION = 0.5  # "mostly spatial": half the resemblance is left without the magnetization


@EXPERIMENTS.register
@dataclass(frozen=True)
class RenormalizationGroup:
    """RBM stacks on 2-D Ising samples: local receptive fields, block-spin reconstructions.

    Attributes:
        size: lattice side L (divisible by block**layers).
        temperature: T of the Ising samples (default T_c = 2/ln(1 + √2)).
        layers: RBMs in the stack (layer k has (L/block^k)² hidden units).
        block: linear coarse-graining factor per layer b (the paper: 2).
        samples: training configurations per seed.
        test_samples: held-out configurations per seed (reconstructions are measured on them).
        chains: independent Markov chains of the sampler.
        burn_in: sampler steps discarded per chain.
        thin: sampler steps between kept configurations.
        algorithm: ``"swendsen-wang"`` (every cluster updated per step: the same decorrelation
            per step at every temperature), ``"wolff"`` or ``"metropolis"``.
        learning_rate: the RBMs' learning rate.
        epochs: passes over the data per RBM.
        batch_size: the RBMs' minibatch size.
        radius: distance (lattice units) within which the locality score counts weight mass.
        seeds: independent samples and stacks: the sample of the tests.
    """

    name: ClassVar[str] = "renormalization-group"
    summary: ClassVar[str] = (
        "RBMs stacked on 2-D Ising samples at T_c learn local receptive fields, and deeper "
        "layers reconstruct coarser majority-rule block spins"
    )
    paper: ClassVar[str] = f"{MEHTA}; {LIN}"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"size": 40, "samples": 20000, "test_samples": 1000, "epochs": 50},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "above-critical": {"temperature": 2.5},
    }

    size: int = 16
    temperature: float = ising.CRITICAL_TEMPERATURE
    layers: int = 3
    block: int = 2
    samples: int = 6000
    test_samples: int = 500
    chains: int = 200
    burn_in: int = 100
    thin: int = 3
    algorithm: str = "swendsen-wang"
    learning_rate: float = 0.05
    epochs: int = 30
    batch_size: int = 20
    radius: float = 2.0
    seeds: int = 5

    def __post_init__(self) -> None:
        if self.layers < 2 or self.block < 2 or self.size % self.block**self.layers:
            raise ValueError(
                "renormalization-group needs layers >= 2, block >= 2 and size divisible by "
                f"block**layers; got size={self.size}, block={self.block}, layers={self.layers}"
            )
        if self.algorithm not in ising.ALGORITHMS:
            raise ValueError(
                f"unknown algorithm {self.algorithm!r}; choose one of {', '.join(ising.ALGORITHMS)}"
            )
        if (
            not self.temperature > 0
            or self.samples < self.batch_size
            or self.test_samples < 2
            or self.learning_rate <= 0
            or self.epochs < 1
            or not 0 < self.radius < self.size / 2
            or self.seeds < 1
        ):
            raise ValueError(
                "renormalization-group needs temperature > 0, samples >= batch_size, "
                "test_samples >= 2, learning_rate > 0, epochs >= 1, 0 < radius < size/2, seeds >= 1"
            )

    def hidden_sizes(self) -> list[int]:
        """Hidden units per layer: (L/b^k)², k = 1..layers."""
        return [(self.size // self.block**k) ** 2 for k in range(1, self.layers + 1)]

    def run(self, ctx: Context) -> ExperimentResult:
        key = fields_except(self, "seeds")
        per_seed = [
            ctx.cached(f"seed {seed}", {**key, "seed": seed}, lambda _, s=seed: self._seed(s))
            for seed in ctx.track(range(self.seeds), "seeds", total=self.seeds)
        ]
        summary = summarize(per_seed)
        scales = [self.block**j for j in range(self.layers + 1)]
        table = [
            {
                "seed": seed,
                "layer": k + 1,
                "scale": b,
                "trained": r["correlation"][k][j],
                "control": r["control"][k][j],
                "trained_centered": r["spatial"][k][j],
            }
            for seed, r in enumerate(per_seed)
            for k in range(self.layers)
            for j, b in enumerate(scales)
        ]
        rows = [
            {
                "seed": seed,
                "locality": r["locality"],
                "locality_shuffled": r["locality_shuffled"],
                "energy": r["energy"],
                "abs_magnetization": r["abs_magnetization"],
            }
            for seed, r in enumerate(per_seed)
        ]
        return ExperimentResult(
            metrics=summary,
            tables={"correlation vs block scale": table, "per seed": rows},
            figures={"samples, receptive fields, reconstructions": figure(per_seed[0], summary)},
            claims=claims(summary, self.radius),
        )

    def _seed(self, seed: int) -> dict[str, Any]:
        from sklearn.neural_network import BernoulliRBM

        common = {
            "chains": self.chains,
            "burn_in": self.burn_in,
            "thin": self.thin,
            "algorithm": self.algorithm,
        }
        train = ising.sample_ising(
            self.size, self.temperature, samples=self.samples, seed=2 * seed, **common
        )
        test = ising.sample_ising(
            self.size, self.temperature, samples=self.test_samples, seed=2 * seed + 1, **common
        )
        visible = (train.reshape(len(train), -1) > 0).astype(np.float64)
        rbms, hidden = [], visible
        for k, units in enumerate(self.hidden_sizes()):
            rbm = BernoulliRBM(
                n_components=units,
                learning_rate=self.learning_rate,
                batch_size=self.batch_size,
                n_iter=self.epochs,
                random_state=1000 * seed + k,
            )
            rbm.fit(hidden)
            rbms.append(rbm)
            hidden = rbm.transform(hidden)
        rng = np.random.default_rng([seed, 7])
        weights = rbms[0].components_
        shuffled = np.stack([rng.permutation(w) for w in weights])
        control = []
        for rbm in rbms:
            c = copy.deepcopy(rbm)
            c.components_ = np.stack([rng.permutation(w) for w in rbm.components_])
            control.append(c)
        scales = [self.block**j for j in range(self.layers + 1)]
        blocks = [ising.block_spins(test, b, seed=seed) for b in scales]
        recon = [reconstruct(rbms, test, k) for k in range(1, self.layers + 1)]
        recon_control = [reconstruct(control, test, k) for k in range(1, self.layers + 1)]
        # the figure's examples: the least magnetized held-out configurations (at T_c most are
        # nearly all up or all down, which shows nothing of the blocks)
        show = np.argsort(np.abs(ising.magnetization(test)), kind="stable")[:4]
        return {
            "locality": float(np.mean(locality(weights, self.size, self.radius))),
            "locality_shuffled": float(np.mean(locality(shuffled, self.size, self.radius))),
            "correlation": [[block_correlation(r, b) for b in blocks] for r in recon],
            "control": [[block_correlation(r, b) for b in blocks] for r in recon_control],
            "spatial": [[block_correlation(r, b, centered=True) for b in blocks] for r in recon],
            "scales": scales,
            "energy": float(ising.energy(train).mean()),
            "abs_magnetization": float(np.abs(ising.magnetization(train)).mean()),
            "onsager_energy": ising.onsager_energy(self.temperature),
            "onsager_magnetization": ising.onsager_magnetization(self.temperature),
            "examples": test[show].tolist(),
            "example_blocks": [b[show].tolist() for b in blocks[1:]],
            "example_reconstructions": [r[show].tolist() for r in recon],
            "receptive_fields": weights[:16].reshape(-1, self.size, self.size).tolist(),
        }


def locality(weights: np.ndarray, size: int, radius: float) -> np.ndarray:
    """Fraction of each unit's |w| mass within periodic distance ``radius`` of its centre of mass.

    Weights (units, L²) are reshaped to the L×L torus; the centre of each coordinate is the
    circular mean of the site positions weighted by |w| (angle 2π·x/L). A field spread evenly
    over the lattice scores ≈ (sites within the radius)/L²; a single site scores 1.

    >>> w = np.zeros((1, 64)); w[0, 9] = 1.0
    >>> float(locality(w, 8, 1.0)[0])
    1.0
    """
    w = np.abs(np.asarray(weights, dtype=np.float64))
    if w.ndim != 2 or w.shape[1] != size * size:
        raise ValueError(f"weights need shape (units, {size * size}), got {w.shape}")
    mass = w.reshape(-1, size, size)
    total = mass.sum(axis=(1, 2), keepdims=True)
    if (total <= 0).any():
        raise ValueError("every unit needs some nonzero weight to have a centre of mass")
    mass = mass / total
    angle = 2 * np.pi * np.arange(size) / size
    phase = np.exp(1j * angle)
    cy = np.angle((mass.sum(axis=2) * phase).sum(axis=1)) / (2 * np.pi) * size
    cx = np.angle((mass.sum(axis=1) * phase).sum(axis=1)) / (2 * np.pi) * size
    pos = np.arange(size)

    def wrapped(c: np.ndarray) -> np.ndarray:
        d = np.abs(pos[None, :] - c[:, None]) % size
        return np.minimum(d, size - d)

    dy, dx = wrapped(cy), wrapped(cx)
    near = dy[:, :, None] ** 2 + dx[:, None, :] ** 2 <= radius**2
    return (mass * near).sum(axis=(1, 2))


def reconstruct(rbms: list[Any], spins: np.ndarray, depth: int) -> np.ndarray:
    """Mean-field reconstruction of ±1 configurations (n, L, L) through the first ``depth`` RBMs:
    up by hidden probabilities, down by p(v = 1 | h) = σ(hW + b_v); returned as 2p − 1."""
    n, size = spins.shape[0], spins.shape[-1]
    h = (spins.reshape(n, -1) > 0).astype(np.float64)
    for rbm in rbms[:depth]:
        h = rbm.transform(h)
    for rbm in reversed(rbms[:depth]):
        h = 1.0 / (1.0 + np.exp(-(h @ rbm.components_ + rbm.intercept_visible_)))
    return (2.0 * h - 1.0).reshape(n, size, size)


def block_correlation(
    reconstruction: np.ndarray, blocks: np.ndarray, *, centered: bool = False
) -> float:
    """Pearson correlation, over all sites and configurations, of reconstructions (n, L, L) with
    block spins (n, L/b, L/b) upsampled to the lattice (every site takes its block's spin).

    ``centered``: first remove each configuration's own mean from both (its magnetization), so
    that only the spatial pattern within a configuration counts: Σ x̃ỹ / √(Σ x̃² Σ ỹ²) with
    x̃ = x − mean over the configuration's sites.
    """
    b = reconstruction.shape[-1] // blocks.shape[-1]
    x = np.asarray(reconstruction, dtype=np.float64)
    y = np.repeat(np.repeat(np.asarray(blocks, dtype=np.float64), b, axis=-1), b, axis=-2)
    if centered:
        x = x - x.mean(axis=(-2, -1), keepdims=True)
        y = y - y.mean(axis=(-2, -1), keepdims=True)
    else:
        x, y = x - x.mean(), y - y.mean()
    norm = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    return float((x * y).sum() / norm) if norm > 0 else 0.0


def summarize(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-seed locality ratios, correlations at each layer's own scale, control, gaps."""
    depth = len(per_seed[0]["correlation"])
    corr = np.array([r["correlation"] for r in per_seed])  # (seeds, layers, scales)
    ctrl = np.array([r["control"] for r in per_seed])
    own = corr[:, np.arange(depth), np.arange(1, depth + 1)]  # layer k at scale b^k
    own_ctrl = ctrl[:, np.arange(depth), np.arange(1, depth + 1)]
    gap = own - corr[:, :, 0]  # block spins at b^k minus the configuration itself
    spatial = np.array([r["spatial"] for r in per_seed])
    own_spatial = spatial[:, np.arange(depth), np.arange(1, depth + 1)]
    scales = per_seed[0]["scales"]
    matched = [[scales[int(j)] for j in np.argmax(c, axis=1)] for c in corr]
    return {
        "scales": scales,
        "locality": [r["locality"] for r in per_seed],
        "locality_shuffled": [r["locality_shuffled"] for r in per_seed],
        "locality_ratio": [r["locality"] / r["locality_shuffled"] for r in per_seed],
        "own_scale_correlation": own.tolist(),
        "own_scale_correlation_control": own_ctrl.tolist(),
        "coarse_gap": gap.tolist(),
        "own_scale_spatial_correlation": own_spatial.tolist(),
        "spatial_fraction": (own_spatial[:, -1] / own[:, -1]).tolist(),
        "matched_scale": matched,
        "energy": [r["energy"] for r in per_seed],
        "abs_magnetization": [r["abs_magnetization"] for r in per_seed],
        "onsager_energy": per_seed[0]["onsager_energy"],
        "onsager_magnetization": per_seed[0]["onsager_magnetization"],
    }


def _fmt(values: Any, spec: str = ".3f") -> str:
    return ", ".join(format(float(v), spec) for v in values)


def claims(s: dict[str, Any], radius: float) -> list[Claim]:
    """The paper's observations on :func:`summarize`'s output."""
    own = np.asarray(s["own_scale_correlation"])
    ctrl = np.asarray(s["own_scale_correlation_control"])
    gap = np.asarray(s["coarse_gap"])
    depth = own.shape[1]
    deep = s["scales"][depth]
    return [
        Claim.tested(
            f"first-layer receptive fields are local: their |w| mass within distance {radius:g} "
            "of their centre is at least twice that of the same weights with sites shuffled",
            exceeds(
                s["locality_ratio"],
                LOCAL_RATIO,
                name="locality / shuffled locality",
                hypothesis="mean locality ratio (trained / site-shuffled) > 2",
            ),
            f"fraction of |w| within r = {radius:g}, per seed: {_fmt(s['locality'])} "
            f"(site-shuffled: {_fmt(s['locality_shuffled'])})",
            MEHTA + ", Fig. 4",
        ),
        Claim.tested(
            f"the deepest layer's reconstructions resemble the majority-rule block spins at its "
            f"scale ({deep}×{deep}) more than those of random features (shuffled weights) do",
            compare(
                own[:, -1],
                ctrl[:, -1],
                paired=True,
                names=("trained stack", "shuffled-weight stack"),
                hypothesis="correlation with block spins: trained − random features > 0",
            ),
            f"correlation of layer {depth}'s reconstruction with its block spins per seed: "
            f"{_fmt(own[:, -1])} (random features {_fmt(ctrl[:, -1])})",
            MEHTA + ", Fig. 5",
        ),
        Claim.tested(
            f"coarse-graining, not copying: layer {depth}'s reconstruction correlates more with "
            f"the {deep}×{deep} block spins than with the configuration itself",
            exceeds(
                gap[:, -1],
                0.0,
                name="corr(block spins) − corr(configuration)",
                hypothesis="mean corr(reconstruction, block spins) − corr(reconstruction, "
                "configuration) > 0",
            ),
            f"per seed {_fmt(gap[:, -1])}; best-matching block scale per layer (seed 0): "
            f"{s['matched_scale'][0]}",
            MEHTA + ", Fig. 5; " + LIN,
        ),
        Claim.tested(
            f"deeper is coarser: the block-spin gap is larger at layer {depth} than at layer 1",
            compare(
                gap[:, -1],
                gap[:, 0],
                paired=True,
                names=(f"layer {depth}", "layer 1"),
                hypothesis=f"gap at layer {depth} − gap at layer 1 > 0",
            ),
            f"gap at layer 1 per seed {_fmt(gap[:, 0])}, at layer {depth} {_fmt(gap[:, -1])}",
            MEHTA + ", Fig. 5",
        ),
        Claim.tested(
            f"the resemblance is spatial, not only the magnetization: at least half of layer "
            f"{depth}'s correlation with its block spins survives removing each configuration's "
            "mean",
            exceeds(
                s["spatial_fraction"],
                SPATIAL_FRACTION,
                name="centered / pooled correlation",
                hypothesis=f"mean ratio of layer {depth}'s centered to pooled correlation > 0.5",
            ),
            f"centered correlation with the block spins at each layer's own scale, per seed "
            f"(layers 1..{depth}): "
            + "; ".join(_fmt(row) for row in s["own_scale_spatial_correlation"])
            + f"; pooled at layer {depth}: {_fmt(own[:, -1])}",
            MEHTA + ", Fig. 5; Koch-Janusz & Ringel 2018, arXiv 1704.06279",
        ),
    ]


def figure(seed0: dict[str, Any], s: dict[str, Any]) -> Any:
    """Samples, their block spins and the layers' reconstructions (seed 0); receptive fields;
    correlation with block spins against the block scale, trained vs random features."""
    from matplotlib.figure import Figure

    layers = len(seed0["example_reconstructions"])
    cols = layers + 1
    fig = Figure(figsize=(2.2 * (cols + 2), 6.6))
    grid = fig.add_gridspec(3, cols + 2)
    example = np.asarray(seed0["examples"][0])
    show = {"cmap": "gray", "vmin": -1, "vmax": 1, "interpolation": "nearest"}
    for row, title in ((0, "configuration"), (1, "configuration")):
        ax = fig.add_subplot(grid[row, 0])
        ax.imshow(example, **show)
        ax.set(title=title, xticks=[], yticks=[])
    for k in range(layers):
        b = s["scales"][k + 1]
        ax = fig.add_subplot(grid[0, k + 1])
        ax.imshow(np.asarray(seed0["example_blocks"][k][0]), **show)
        ax.set(title=f"block spins {b}×{b}", xticks=[], yticks=[])
        ax = fig.add_subplot(grid[1, k + 1])
        ax.imshow(np.asarray(seed0["example_reconstructions"][k][0]), **show)
        ax.set(title=f"layer {k + 1} reconstruction", xticks=[], yticks=[])
    fields = np.asarray(seed0["receptive_fields"])
    for i in range(min(cols, len(fields))):
        w = fields[i]
        ax = fig.add_subplot(grid[2, i])
        scale = max(float(np.abs(w).max()), 1e-12)
        ax.imshow(w, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set(title=f"receptive field {i + 1}", xticks=[], yticks=[])
    ax = fig.add_subplot(grid[:, cols:])
    corr = np.asarray(seed0["correlation"])
    ctrl = np.asarray(seed0["control"])
    for k in range(layers):
        (line,) = ax.plot(s["scales"], corr[k], "o-", label=f"layer {k + 1}")
        ax.plot(s["scales"], ctrl[k], "x--", color=line.get_color(), alpha=0.6)
        ax.plot(s["scales"], np.asarray(seed0["spatial"])[k], "s:", color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.minorticks_off()
    ax.set(
        xlabel="block scale b (1 = the configuration)",
        ylabel="corr(reconstruction, block spins)",
        title="trained (o), random features (x), centered (□)",
    )
    ax.set_xticks(s["scales"], [str(b) for b in s["scales"]])
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
