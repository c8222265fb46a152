"""Entropy-SGD finds flatter minima than SGD at the same training loss (Chaudhari et al. 2017).

An MLP (``depth`` hidden ReLU layers of ``width`` units) is trained on ``data`` (scikit-learn's
digits by default) with cross-entropy, from the same initialization and minibatch stream per
seed, by two optimizers:

* SGD at step ``lr`` and batch ``batch_size``;
* Entropy-SGD (:mod:`occamlab.probes.dynamics.entropy_sgd`, the paper's Algorithm 1):
  ``inner_steps`` SGLD steps at the same step and batch on f(x′) + (γ/2)‖x − x′‖² with thermal
  noise ``noise``, averaged as μ ← (1 − α)μ + αx′, then x ← x − ηγ(x − μ) with ηγ = ``outer_step``
  (1: x moves to μ), and the scope γ_t = ``gamma0`` (1 + ``gamma1``)^t.

The seeds of one optimizer are trained together, vectorized (``torch.func.vmap`` over the
stacked parameters), each on its own minibatch stream (a generator per seed, the same stream for
both optimizers); the Langevin noise of all seeds comes from one generator. Each seed is checked
every ``inner_steps`` minibatch gradients (one Entropy-SGD step) and stops at the first check where
its full training loss is ≤ ``target_loss``. At that point the experiment measures λ_max of the
training-loss Hessian (Lanczos, :func:`occamlab.probes.curvature.hessian_spectrum`) and Keskar et
al.'s ε-sharpness φ at ε = 1e-3 (:func:`occamlab.probes.sharpness.keskar.keskar_sharpness`).

Claims (over seeds, Holm-corrected): both stop at the same training loss (exact); the Entropy-SGD
minimum is markedly flatter, its λ_max at least ``min_reduction`` (10%) below SGD's on average
over seeds (the per-seed relative reduction 1 − Entropy-SGD/SGD, a one-sample t-test against the
margin: an interval entirely below it fails the claim); likewise for φ. The paper's own evidence
is qualitative (the Hessian eigenspectrum at a solution, Fig. 1; the smoother local-entropy
landscape, Sect. 3, 4): it gives no size for the difference, so the margin is a conventional
smallest relative effect, the same at every setting.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from occamlab.data import sized_data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds
from occamlab.models import model_spec
from occamlab.models.registry import build_model
from occamlab.probes.dynamics import entropy_sgd as es

SOURCE = "Chaudhari et al. 2017, arXiv 1611.01838"
OPTIMIZERS = ("sgd", "entropy-sgd")


@EXPERIMENTS.register
@dataclass(frozen=True)
class EntropySGD:
    """Entropy-SGD against SGD, both stopped at one training loss: λ_max and φ.

    Attributes:
        data: the data set (a registry name).
        width: hidden units per layer of the MLP.
        depth: hidden layers of the MLP.
        test_fraction: fraction held out, for data sets with a fixed pool (the 1,797 digits).
        batch_size: minibatch size of SGD and of Entropy-SGD's inner loop.
        lr: SGD's step, and the inner Langevin step η′.
        inner_steps: Langevin steps L per Entropy-SGD step (the stopping check runs every L
            minibatch gradients for both optimizers).
        gamma0: initial scope γ₀.
        gamma1: scoping rate γ₁ (γ_t = γ₀(1 + γ₁)^t).
        noise: thermal noise ε of the Langevin steps.
        alpha: weight α of the newest inner iterate in the average μ.
        outer_step: ηγ, the outer step as a fraction of x − μ.
        target_loss: both runs stop at the first check with training cross-entropy ≤ this.
        max_gradients: give up after this many minibatch gradients.
        epsilon: Keskar's box size ε.
        min_reduction: the smallest mean relative reduction 1 − Entropy-SGD/SGD of λ_max and of
            φ that counts as "flatter" (the paper gives no size; 10% is a conventional smallest
            effect worth the name).
        seeds: initializations and minibatch streams (shared by both optimizers).
    """

    name: ClassVar[str] = "entropy-sgd"
    summary: ClassVar[str] = (
        "At equal training loss, Entropy-SGD's minimum is flatter than SGD's (lower λ_max and "
        "Keskar φ)"
    )
    paper: ClassVar[str] = "Chaudhari et al. 2017, arXiv 1611.01838"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"width": 1024, "target_loss": 0.01, "seeds": 10},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"wider": {"width": 128}}

    data: str = "digits"
    width: int = 64
    depth: int = 2
    test_fraction: float = 0.2
    batch_size: int = 32
    lr: float = 0.1
    inner_steps: int = 20
    gamma0: float = 0.03
    gamma1: float = 1e-3
    noise: float = 1e-4
    alpha: float = 0.75
    outer_step: float = 1.0
    target_loss: float = 0.05
    max_gradients: int = 200_000
    epsilon: float = 1e-3
    min_reduction: float = 0.1
    seeds: int = 96

    def __post_init__(self) -> None:
        if (
            self.width < 1
            or self.depth < 1
            or self.batch_size < 1
            or self.lr <= 0
            or self.inner_steps < 1
            or self.gamma0 <= 0
            or self.gamma1 < 0
            or self.noise < 0
            or not 0 < self.alpha <= 1
            or self.outer_step <= 0
            or self.target_loss <= 0
            or self.max_gradients < 1
            or not 0 <= self.min_reduction < 1
            or self.seeds < 1
        ):
            raise ValueError(
                "entropy-sgd needs positive sizes, steps, gamma0 and target_loss, gamma1 >= 0, "
                "noise >= 0, 0 < alpha <= 1, 0 <= min_reduction < 1, seeds >= 1"
            )
        self.data_spec()  # an unknown data set fails here

    def data_spec(self) -> Any:
        """The data set, with ``test_fraction`` where it takes one."""
        return sized_data_spec(self.data, {"test_fraction": self.test_fraction}, seed=0)

    def run(self, ctx: Context) -> ExperimentResult:
        key = fields_except(self, "min_reduction")
        rows = [
            row
            for opt in ctx.track(OPTIMIZERS, "training")
            for row in ctx.cached(
                "runs", {**key, "optimizer": opt}, lambda _, o=opt: {"rows": self._run(o)}
            )["rows"]
        ]
        return ExperimentResult(
            metrics=summarize(rows),
            tables={"runs": rows},
            figures={"λ_max and φ: Entropy-SGD vs SGD": figure(rows, self.min_reduction)},
            claims=claims(rows, self.target_loss, self.min_reduction),
        )

    def _run(self, optimizer: str) -> list[dict[str, Any]]:
        """Every seed trained by ``optimizer`` at once, then measured one by one."""
        from occamlab.probes.curvature import hessian_spectrum
        from occamlab.probes.sharpness.keskar import keskar_sharpness
        from occamlab.subject import Subject

        data = self.data_spec().load()
        x, y = data.train.x, data.train.y
        models = [
            build_model(
                model_spec("mlp", width=self.width, depth=self.depth),
                input_shape=data.input_shape,
                num_outputs=data.num_outputs,
                seed=seed,
            )
            for seed in range(self.seeds)
        ]
        names = [n for n, _ in models[0].named_parameters()]
        stacked, _ = torch.func.stack_module_state(models)
        params = [stacked[n].detach() for n in names]
        template = copy.deepcopy(models[0]).to("meta")
        batches = [torch.Generator().manual_seed(seed) for seed in range(self.seeds)]
        noise = torch.Generator().manual_seed(self.seeds)  # a seed no member's batches use

        def loss(values: Any, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            out = torch.func.functional_call(
                template, dict(zip(names, values, strict=True)), (inputs,)
            )
            return F.cross_entropy(out, targets)

        per_seed_grad = torch.func.vmap(torch.func.grad(loss))
        full_loss = torch.func.vmap(loss, in_dims=(0, None, None))

        def grad_fn(values: Any) -> Any:
            idx = torch.stack(
                [torch.randint(0, x.shape[0], (self.batch_size,), generator=g) for g in batches]
            )
            return per_seed_grad(list(values), x[idx], y[idx])

        with torch.no_grad():
            first = full_loss(params, x, y).tolist()
        curves = [[(0, v)] for v in first]
        stopped = {s: (0, v) for s, v in enumerate(first) if v <= self.target_loss}
        final = {s: [p[s].clone() for p in params] for s in stopped}
        gradients, step = 0, 0
        while len(stopped) < self.seeds and gradients < self.max_gradients:
            if optimizer == "sgd":
                for _ in range(self.inner_steps):
                    for p, g in zip(params, grad_fn(params), strict=True):
                        p.sub_(self.lr * g)
            else:
                gamma = es.scoped_gamma(self.gamma0, self.gamma1, step)
                es.entropy_sgd_step(
                    params,
                    grad_fn,
                    gamma=gamma,
                    outer_lr=self.outer_step / gamma,
                    inner_steps=self.inner_steps,
                    inner_lr=self.lr,
                    noise=self.noise,
                    alpha=self.alpha,
                    generator=noise,
                )
            gradients += self.inner_steps
            step += 1
            active = [s for s in range(self.seeds) if s not in stopped]
            with torch.no_grad():
                losses = full_loss([p[active] for p in params], x, y).tolist()
            for s, value in zip(active, losses, strict=True):
                curves[s].append((gradients, value))
                if value <= self.target_loss or gradients >= self.max_gradients:
                    stopped[s] = (step, value)
                    final[s] = [p[s].clone() for p in params]
        rows = []
        for seed, model in enumerate(models):
            with torch.no_grad():
                for p, value in zip(model.parameters(), final[seed], strict=True):
                    p.copy_(value)
            subject = Subject(model=model, data=data)
            steps, train_loss = stopped[seed]
            rows.append(
                {
                    "seed": seed,
                    "optimizer": optimizer,
                    "gradients": steps * self.inner_steps,
                    "reached": train_loss <= self.target_loss,
                    "train_loss": train_loss,
                    "test_accuracy": subject.evaluate(split="test").accuracy,
                    "lambda_max": hessian_spectrum(
                        subject, k=1, trace=False, limit=0, tol=1e-4, seed=seed
                    ).lambda_max,
                    "phi": keskar_sharpness(subject, epsilon=self.epsilon, seed=seed).sharpness,
                    "final_gamma": es.scoped_gamma(self.gamma0, self.gamma1, steps),
                    "curve": curves[seed][:: max(1, len(curves[seed]) // 100)],
                }
            )
        return rows


def _by(rows: list[dict[str, Any]], optimizer: str, key: str) -> list[float]:
    return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["optimizer"] == optimizer]


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means per optimizer of every measure."""
    return {
        f"{key}_{opt}": float(np.mean(_by(rows, opt, key)))
        for opt in OPTIMIZERS
        for key in ("lambda_max", "phi", "train_loss", "test_accuracy", "gradients")
    }


def claims(rows: list[dict[str, Any]], target_loss: float, min_reduction: float) -> list[Claim]:
    """Chaudhari et al.'s finding on the runs, paired by seed."""
    losses = [r["train_loss"] for r in rows]
    steps = {opt: _by(rows, opt, "gradients") for opt in OPTIMIZERS}
    out = [
        Claim(
            "SGD and Entropy-SGD are compared at the same training loss",
            passed=all(r["reached"] for r in rows)
            and max(losses) <= target_loss
            and min(losses) >= 0.75 * target_loss,
            evidence=f"final training losses in [{min(losses):.4f}, {max(losses):.4f}] (target "
            f"{target_loss}); minibatch gradients used (median, range): "
            + "; ".join(
                f"{label} {np.median(steps[opt]):.0f} [{min(steps[opt])}, {max(steps[opt])}]"
                for opt, label in zip(OPTIMIZERS, ("SGD", "Entropy-SGD"), strict=True)
            ),
            source=f"{SOURCE}, Sect. 5 (compared at equal training loss)",
        )
    ]
    for key, label, source in (
        ("lambda_max", "top Hessian eigenvalue λ_max", "Fig. 1 and Sect. 3 (flat minima)"),
        ("phi", "Keskar ε-sharpness φ", "Sect. 4 (local entropy favours wide valleys)"),
    ):
        sgd, ent = np.array(_by(rows, "sgd", key)), np.array(_by(rows, "entropy-sgd", key))
        out.append(
            Claim.tested(
                f"Entropy-SGD's minimum has a markedly lower {label} than SGD's (by more than "
                f"{min_reduction:.0%} on average over seeds)",
                exceeds(
                    (1 - ent / sgd).tolist(),
                    min_reduction,
                    hypothesis=f"mean over seeds of 1 − {key}(Entropy-SGD) / {key}(SGD) > "
                    f"{min_reduction:g}",
                    name=f"1 − Entropy-SGD/SGD ({key})",
                ),
                f"{key} mean SGD {sgd.mean():.3f}, Entropy-SGD {ent.mean():.3f}; per-seed ratio "
                f"Entropy-SGD / SGD: mean {np.mean(ent / sgd):.3f}, range "
                f"[{np.min(ent / sgd):.2f}, {np.max(ent / sgd):.2f}]; test accuracy SGD "
                f"{np.mean(_by(rows, 'sgd', 'test_accuracy')):.3f}, Entropy-SGD "
                f"{np.mean(_by(rows, 'entropy-sgd', 'test_accuracy')):.3f}",
                f"{SOURCE}, {source}; the {min_reduction:.0%} margin is conventional (the paper "
                "gives no size)",
            )
        )
    return out


def figure(rows: list[dict[str, Any]], min_reduction: float) -> Any:
    """Per-seed λ_max and φ of Entropy-SGD against SGD (below the diagonal: flatter; below the
    dashed line: flatter by more than ``min_reduction``), and seed 0's training loss against
    minibatch gradients."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    ax, bx, cx = fig.subplots(1, 3)
    for panel, key, label in ((ax, "lambda_max", "λ_max"), (bx, "phi", "Keskar φ (ε = 1e-3)")):
        sgd, ent = _by(rows, "sgd", key), _by(rows, "entropy-sgd", key)
        panel.plot(sgd, ent, "o")
        lim = [0.9 * min(sgd + ent), 1.1 * max(sgd + ent)]
        panel.plot(lim, lim, "k:", lw=1)
        panel.plot(lim, [(1 - min_reduction) * v for v in lim], "k--", lw=1)
        panel.set(xlabel=f"SGD {label}", ylabel=f"Entropy-SGD {label}", title=f"{label} per seed")
    for r in rows:
        if r["seed"] == 0:
            k, loss = zip(*r["curve"], strict=True)
            cx.plot(k, loss, label=r["optimizer"])
    cx.set(yscale="log", xlabel="minibatch gradients", ylabel="training loss", title="seed 0")
    cx.legend(fontsize=8)
    fig.tight_layout()
    return fig
