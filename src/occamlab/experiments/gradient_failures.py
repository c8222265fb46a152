"""Failures of gradient-based learning: parities (Shalev-Shwartz, Shamir & Shammah 2017).

Learning the parity h_v(x) = Π_{i: vᵢ = 1} xᵢ of a hidden subset v of d bits (x ∈ {±1}^d) with
a ReLU network and Adam succeeds at small d and stays at chance at d = 30.

The paper's explanation (its Theorem 1) is a measurement here: for the square loss
F_v(w) = E_x[½(p_w(x) − h_v(x))²], the gradient ∇F_v(w) = E[p_w ∇p_w] − E[h_v ∇p_w] depends on
the target only through the Fourier coefficient ĝ(v) = E_x[h_v(x) ∇p_w(x)] of the network's
gradient, and Parseval gives Σ_v ‖ĝ(v)‖² = E_x‖∇p_w(x)‖² = G². The variance of the gradient over
a uniformly random target parity is therefore at most G²/2^d: the gradient carries exponentially
little information about which parity is the target. The experiment computes that variance
exactly — all 2^d inputs, per-example gradients of the network at initialization, one fast
Walsh–Hadamard transform giving ĝ(v) for all 2^d parities at once — and compares it with G²/2^d.

The accuracy claims are t-tests over the seeds' runs (one-sample at the smallest and the largest
d, a slope over every (d, seed) run), Holm-corrected together; the gradient variance is an exact
computation at one initialization, checked against the theorem's bound and slope.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, linear_fit, mean_std, trend
from occamlab.models import build_model, model_spec
from occamlab.train import TrainSpec

SOURCE = "Shalev-Shwartz, Shamir & Shammah 2017, arXiv 1703.07950"


def walsh_hadamard(a: np.ndarray) -> np.ndarray:
    """Unnormalized fast Walsh–Hadamard transform along axis 0 (length a power of two).

    Row r of the result is Σ_x (−1)^{popcount(r & x)} a[x]: with bit i of x meaning xᵢ = −1, this
    is Σ_x h_v(x) a[x] for the parity whose subset v has the bits of r.
    """
    out = np.array(a, dtype=np.float64, copy=True)
    n = out.shape[0]
    if n & (n - 1):
        raise ValueError(f"length must be a power of two, got {n}")
    h = 1
    while h < n:
        view = out.reshape(n // (2 * h), 2, h, *out.shape[1:])
        lo, hi = view[:, 0].copy(), view[:, 1].copy()
        view[:, 0], view[:, 1] = lo + hi, lo - hi
        h *= 2
    return out


def all_inputs(d: int) -> torch.Tensor:
    """Every x ∈ {±1}^d as rows, row index = the bits with xᵢ = −1."""
    idx = torch.arange(2**d)
    bits = (idx[:, None] >> torch.arange(d)[None, :]) & 1
    return (1 - 2 * bits).to(torch.float64)


def parity_gradient_variance(d: int, *, width: int, seed: int) -> dict[str, float]:
    """Var_v[∇F_v(w)] over all 2^d target parities at a random initialization, exactly.

    The network is the MLP (one hidden ReLU layer of ``width``, one output) of the parity
    experiment, in float64. Returns the variance, the bound G²/2^d of Theorem 1 and G².
    """
    from torch.func import functional_call, grad, vmap

    model = build_model(
        model_spec("mlp", width=width, depth=1),
        input_shape=(d,),
        num_outputs=1,
        seed=seed,
    ).double()
    params = {k: v.detach() for k, v in model.named_parameters()}

    def output(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (x[None],))[0, 0]

    x = all_inputs(d)
    per_example = vmap(grad(output), in_dims=(None, 0))(params, x)
    g = torch.cat([per_example[k].reshape(len(x), -1) for k in params], dim=1).numpy()
    coefficients = walsh_hadamard(g) / len(x)  # ĝ(v) = E_x[h_v(x) ∇p(x)] for every v
    variance = float(coefficients.var(axis=0).sum())  # E_v‖ĝ(v) − E_v ĝ‖²
    g2 = float((g**2).sum(axis=1).mean())
    return {"d": d, "variance": variance, "bound": g2 / len(x), "grad_norm_sq": g2}


@EXPERIMENTS.register
@dataclass(frozen=True)
class GradientFailures:
    """Parities of d bits with a ReLU net: learned at small d, at chance at d = 30.

    Attributes:
        seeds: seeds per dimension (parity subset, data, initialization); the accuracy claims
            are t-tests over them.
        dims: number of parity sizes d = first_dim, first_dim + dim_step, ….
        first_dim: the smallest d (bits of the input).
        dim_step: the step between the parity sizes.
        num_train: training examples.
        num_test: test examples.
        width: hidden width of the ReLU MLP.
        depth: hidden layers.
        epochs: Adam epochs.
        lr: Adam learning rate.
        batch_size: Adam minibatch size.
        variance_dims: largest d of the exact gradient-variance measurement (d = 2, 4, …).
        variance_width: hidden width of the network whose gradient variance is measured.
    """

    name: ClassVar[str] = "gradient-failures"
    summary: ClassVar[str] = (
        "Gradient descent learns parities of few bits but not of 30; the gradient's variance "
        "across target parities shrinks like 2^-d"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "num_train": 100_000, "width": 512, "epochs": 40},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # parities of 8, 16 and 24 bits with a narrower network
        "small-parities": {"first_dim": 8, "dim_step": 8, "width": 64},
    }

    seeds: int = 3
    dims: int = 3
    first_dim: int = 10
    dim_step: int = 10
    num_train: int = 20_000
    num_test: int = 2000
    width: int = 128
    depth: int = 2
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 128
    variance_dims: int = 14
    variance_width: int = 32

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.dims < 2 or self.variance_dims < 4:
            raise ValueError("gradient-failures needs seeds >= 1, dims >= 2, variance_dims >= 4")
        if self.first_dim < 2 or self.dim_step < 1:
            raise ValueError("gradient-failures needs first_dim >= 2 and dim_step >= 1")

    def parity_dims(self) -> list[int]:
        """The parity sizes d of the accuracy runs."""
        return [self.first_dim + i * self.dim_step for i in range(self.dims)]

    def run(self, ctx: Context) -> ExperimentResult:
        model = model_spec("mlp", width=self.width, depth=self.depth)
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.epochs,
            schedule="constant",
            eval_every=self.epochs,
        )
        rows = []
        runs = [(d, s) for d in self.parity_dims() for s in range(self.seeds)]
        for d, seed in ctx.track(runs, "training"):
            data = data_spec(
                "parity",
                n=d,
                k=d // 2,
                num_train=self.num_train,
                num_test=self.num_test,
                seed=seed,
            )
            train = dataclasses.replace(recipe, seed=seed)
            m = ctx.train(model=model, data=data, train=train, seed=seed).record.metrics
            rows.append(
                {
                    "d": d,
                    "k": d // 2,
                    "seed": seed,
                    "train_accuracy": m["train_accuracy"],
                    "test_accuracy": m["test_accuracy"],
                }
            )
        variance = [
            ctx.cached(
                "gradient variance",
                {"d": d, "width": self.variance_width, "seed": 0},
                lambda _, d=d: parity_gradient_variance(d, width=self.variance_width, seed=0),
            )
            for d in ctx.track(range(2, self.variance_dims + 1, 2), "gradient variance")
        ]
        summary = summarize(rows, variance)
        return ExperimentResult(
            metrics=summary,
            tables={
                "parity runs": rows,
                "accuracy by d": summary["by_d"],
                "gradient variance": variance,
            },
            figures={"accuracy vs d": figure(summary, variance)},
            claims=claims(rows, summary),
        )


def summarize(rows: list[dict[str, Any]], variance: list[dict[str, float]]) -> dict[str, Any]:
    """Accuracy mean ± std per d; slope of log₂ of the gradient variance against d."""
    by_d = []
    for d in sorted({r["d"] for r in rows}):
        acc, sd = mean_std([r["test_accuracy"] for r in rows if r["d"] == d])
        train, _ = mean_std([r["train_accuracy"] for r in rows if r["d"] == d])
        by_d.append(
            {"d": d, "test_accuracy": acc, "test_accuracy_std": sd, "train_accuracy": train}
        )
    slope, _, r2 = linear_fit(
        [v["d"] for v in variance], [math.log2(v["variance"]) for v in variance]
    )
    return {
        "by_d": by_d,
        "variance_log2_slope": slope,
        "variance_r2": r2,
        "variance_within_bound": all(v["variance"] <= v["bound"] * (1 + 1e-9) for v in variance),
        "variance_first": variance[0]["variance"],
        "variance_last": variance[-1]["variance"],
        "variance_dims": [variance[0]["d"], variance[-1]["d"]],
    }


def claims(rows: list[dict[str, Any]], s: dict[str, Any]) -> list[Claim]:
    """The paper's findings: t-tests over the runs' test accuracies (one-sample at the smallest
    d against 0.95; at the largest d each run's distance from ½ against 0.05; the slope against d
    over every run), and the exact gradient variances against the theorem."""
    by = s["by_d"]
    small, large = by[0], by[-1]
    accs = " / ".join(f"{b['test_accuracy']:.3f}" for b in by)
    ds = " / ".join(str(b["d"]) for b in by)

    def at(d: int) -> list[float]:
        return [r["test_accuracy"] for r in sorted(rows, key=lambda r: r["seed"]) if r["d"] == d]

    falls_statement = "test accuracy falls as d grows"
    if len(rows) >= 3:
        falls = Claim.tested(
            falls_statement,
            trend(
                [r["d"] for r in rows],
                [-r["test_accuracy"] for r in rows],
                name="−test accuracy",
                hypothesis="slope of test accuracy against d < 0",
            ),
            f"test accuracy {accs} for d = {ds}",
            f"{SOURCE}, Sec. 2.1",
        )
    else:
        falls = Claim(
            falls_statement,
            False,
            f"test accuracy {accs} for d = {ds}: {len(rows)} runs, too few for a slope",
            f"{SOURCE}, Sec. 2.1",
        )
    return [
        Claim.tested(
            f"parities of d = {small['d']} bits are learned (test accuracy ≥ 0.95)",
            exceeds(
                at(small["d"]),
                0.95,
                name=f"test accuracy (d = {small['d']})",
                hypothesis=f"test accuracy at d = {small['d']} > 0.95",
            ),
            f"test accuracy {accs} for d = {ds} (mean over seeds)",
            f"{SOURCE}, Sec. 2.1 and Fig. 1",
        ),
        Claim.tested(
            f"at d = {large['d']} the network stays at chance (test accuracy within 0.05 of ½)",
            exceeds(
                [-abs(a - 0.5) for a in at(large["d"])],
                -0.05,
                name=f"−|test accuracy − ½| (d = {large['d']})",
                hypothesis=f"|test accuracy − ½| at d = {large['d']} < 0.05",
            ),
            f"test accuracy {large['test_accuracy']:.3f} ± "
            f"{large['test_accuracy_std']:.3f} at d = {large['d']} "
            f"(training accuracy {large['train_accuracy']:.3f})",
            f"{SOURCE}, Sec. 2.1 and Fig. 1",
        ),
        falls,
        Claim(
            "the gradient's variance across target parities is below G²/2^d and shrinks "
            "exponentially in d (log₂-slope within ±0.25 of −1 per bit)",
            passed=s["variance_within_bound"]
            and abs(s["variance_log2_slope"] + 1.0) <= 0.25
            and s["variance_r2"] >= 0.98,
            evidence=f"Var {s['variance_first']:.2e} at d={s['variance_dims'][0]} → "
            f"{s['variance_last']:.2e} at d={s['variance_dims'][1]}; slope of log₂ Var "
            f"{s['variance_log2_slope']:.3f} per bit (R² {s['variance_r2']:.3f}); below G²/2^d "
            f"at every d: {s['variance_within_bound']} (exact, one initialization)",
            source=f"{SOURCE}, Thm. 1",
        ),
    ]


def figure(s: dict[str, Any], variance: list[dict[str, float]]) -> Any:
    """Test accuracy against d; gradient variance and its bound against d (log scale)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax, vx = fig.subplots(1, 2)
    by = s["by_d"]
    ax.errorbar(
        [b["d"] for b in by],
        [b["test_accuracy"] for b in by],
        yerr=[b["test_accuracy_std"] for b in by],
        marker="o",
        capsize=3,
        label="test accuracy (mean ± sd over seeds)",
    )
    ax.axhline(0.5, color="k", ls=":", lw=1, label="chance")
    ax.set(
        xlabel="number of bits d (parity of d/2 of them)",
        ylabel="test accuracy",
        ylim=(0.4, 1.02),
        title="learning parities with a ReLU net",
    )
    ax.legend(fontsize=8)
    ds = [v["d"] for v in variance]
    vx.plot(ds, [v["variance"] for v in variance], "o-", label="Var over target parities")
    vx.plot(ds, [v["bound"] for v in variance], "k--", label="bound G²/2^d (Thm. 1)")
    vx.set(yscale="log", xlabel="d", ylabel="gradient variance", title="gradient variance at init")
    vx.legend(fontsize=8)
    fig.tight_layout()
    return fig
