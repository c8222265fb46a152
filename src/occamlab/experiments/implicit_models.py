"""Implicit models: a deep-equilibrium layer that is well posed, differentiated by the implicit
function theorem, and as accurate as an explicit network of equal size (El Ghaoui et al. 2019;
Bai, Kolter & Koltun 2019).

The network (:mod:`occamlab.models.implicit`, registry name ``"deq"``) is z* = φ(Az* + Bx + b),
ŷ = Cz* + Dx + c, with ‖A‖_∞ ≤ κ < 1 held by parameterization. It is trained like any module,
through :func:`occamlab.train.fit` (``ctx.train``: one run at a time, since the solver cannot be
vectorized over an ensemble), on MNIST-1D, beside an MLP whose width is chosen so that it has
(as nearly as possible) the same number of parameters. On every trained network, in float64 on
test examples (:mod:`occamlab.probes.dynamics.implicit`):

* the implicit gradient against the gradient of unrolling the solver to convergence (until
  ‖A‖_∞ᵏ < 1e-17), and Hessian-vector products by double backward through the implicit backward
  against those of the unrolled solver;
* Picard's distance to z* at every iteration against the contraction bound ‖A‖_∞ᵏ‖z₀ − z*‖_∞,
  the fixed points reached from random starts (uniqueness), and ‖A‖_∞ itself (well-posedness);
* the iterations Picard and Anderson acceleration take to the training tolerance.

Claims, each a test over seeds (one trained network per seed): the implicit gradient and the
implicit Hessian-vector products agree with the unrolled ones to 1e-8 relative (the solves run
to 1e-12: "to solver tolerance" with room for the float64 rounding of a few hundred unrolled
steps); the worst average per-step rate of Picard iteration stays below ‖A‖_∞ (the bound of El
Ghaoui et al.'s well-posedness condition); Anderson acceleration needs fewer iterations than
Picard (Walker & Ni 2011, as DEQ solvers use); and the implicit network's test accuracy is not
more than ``margin`` below the explicit network's (a paired non-inferiority t-test: Bai et al.
report DEQs matching explicit networks of the same size). Well-posedness (‖A‖_∞ ≤ κ after
training, a unique fixed point) is a check.

The probes run on the trained networks of seed 0 as on any subject: Hessian λ_max and trace
(Lanczos and Hutch++ on double-backward products), weight spectra, the test-set, compression and
PAC-Bayes bounds; the norm-based bounds refuse the implicit layer with their reason, reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, mean_std
from occamlab.models import model_spec
from occamlab.models.implicit import IMPLICIT_ACTIVATIONS, SOLVERS
from occamlab.models.mlp import fully_connected_width
from occamlab.train import TrainSpec

EL_GHAOUI = "El Ghaoui et al. 2019, arXiv 1908.06315"
BAI = "Bai, Kolter & Koltun 2019, arXiv 1909.01377"
UNROLL_STEPS = (1, 2, 4, 8, 16, 32, 64, 128)


@EXPERIMENTS.register
@dataclass(frozen=True)
class ImplicitModels:
    """A deep-equilibrium network on MNIST-1D: IFT derivatives, contraction, equal-size accuracy.

    Attributes:
        width: dimension of the equilibrium state z.
        activation: the implicit layer's φ (``relu`` or ``tanh``).
        kappa: the well-posedness bound ‖A‖_∞ ≤ κ < 1.
        solver: the forward solver in training (``anderson`` or ``picard``).
        tol: the solvers' relative residual in training.
        mlp_depth: hidden layers of the explicit network (its width matches the parameters;
            its activation is the implicit layer's).
        epochs: training epochs of both networks.
        lr: Adam's learning rate.
        batch_size: minibatch size.
        num_train: MNIST-1D training examples.
        num_test: MNIST-1D test examples (8000 measure a paired accuracy difference to about
            ±0.005, well inside the margin; 1000 would add about ±0.017 of test-sample noise
            per seed to the difference between initializations).
        seeds: independent initializations and minibatch orders: the sample of every test.
        margin: the accuracy non-inferiority margin (accuracy points as a fraction).
        check_examples: test examples the float64 derivative and solver checks use.
        check_tol: the solvers' relative tolerance in the float64 checks.
        derivative_tolerance: the relative agreement the derivative claims test.
        probe_examples: training examples the Hessian probe averages over.
    """

    name: ClassVar[str] = "implicit-models"
    summary: ClassVar[str] = (
        "A deep-equilibrium layer with ‖A‖_∞ < 1: IFT gradients and Hessian products equal "
        "unrolling to convergence, Picard converges at the contraction rate, Anderson faster, "
        "and MNIST-1D accuracy matches an explicit net of equal size"
    )
    paper: ClassVar[str] = f"{EL_GHAOUI}; {BAI}"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"width": 128, "epochs": 100, "seeds": 30, "check_examples": 256},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"tanh": {"activation": "tanh"}}

    width: int = 64
    activation: str = "relu"
    kappa: float = 0.9
    solver: str = "anderson"
    tol: float = 1e-5
    mlp_depth: int = 1
    epochs: int = 30
    lr: float = 3e-3
    batch_size: int = 128
    num_train: int = 4000
    num_test: int = 8000
    seeds: int = 24
    margin: float = 0.02
    check_examples: int = 64
    check_tol: float = 1e-12
    derivative_tolerance: float = 1e-8
    probe_examples: int = 1000

    def __post_init__(self) -> None:
        if self.activation not in IMPLICIT_ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(IMPLICIT_ACTIVATIONS)}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {list(SOLVERS)}")
        if (
            self.width < 1
            or not 0 < self.kappa < 1
            or self.mlp_depth < 1
            or self.epochs < 1
            or self.seeds < 1
            or self.check_examples < 1
            or self.probe_examples < 1
            or not 0 < self.check_tol < self.derivative_tolerance < 1
            or self.margin < 0
        ):
            raise ValueError(
                "implicit-models needs width, mlp_depth, epochs, seeds, check_examples and "
                "probe_examples >= 1, 0 < kappa < 1, 0 < check_tol < derivative_tolerance < 1 "
                "and margin >= 0"
            )

    def data(self):
        return data_spec("mnist1d", num_train=self.num_train, num_test=self.num_test)

    def implicit(self):
        return model_spec(
            "deq",
            width=self.width,
            activation=self.activation,
            kappa=self.kappa,
            solver=self.solver,
            tol=self.tol,
        )

    def explicit(self, input_size: int, num_outputs: int):
        target = self.implicit().num_parameters((input_size,), num_outputs)
        width = fully_connected_width(target, input_size, self.mlp_depth, num_outputs)
        return model_spec("mlp", width=width, depth=self.mlp_depth, activation=self.activation)

    def recipe(self, seed: int) -> TrainSpec:
        return TrainSpec(
            optimizer="adam",
            lr=self.lr,
            epochs=self.epochs,
            batch_size=self.batch_size,
            seed=seed,
            eval_every=self.epochs,
        )

    def run(self, ctx: Context) -> ExperimentResult:
        from occamlab.data import load_data

        dataset = load_data(self.data())
        d, k = int(np.prod(dataset.input_shape)), dataset.num_outputs
        deq_spec, mlp_spec = self.implicit(), self.explicit(d, k)
        key = fields_except(self, "seeds")
        rows, curves, probes = [], [], []
        for seed in ctx.track(range(self.seeds), "seeds"):
            deq = ctx.train(model=deq_spec, data=self.data(), train=self.recipe(seed), seed=seed)
            mlp = ctx.train(model=mlp_spec, data=self.data(), train=self.recipe(seed), seed=seed)
            part = ctx.cached(
                "checks",
                {**key, "seed": seed},
                lambda _, s=deq.subject: self._checks(s),
            )
            rows.append(
                {
                    "seed": seed,
                    "deq_test_accuracy": deq.record.metrics["test_accuracy"],
                    "mlp_test_accuracy": mlp.record.metrics["test_accuracy"],
                    "deq_train_accuracy": deq.record.metrics["train_accuracy"],
                    "mlp_train_accuracy": mlp.record.metrics["train_accuracy"],
                    **part["row"],
                }
            )
            curves.append(part["curves"])
            if seed == 0:
                probes = ctx.cached(
                    "probes",
                    {**key, "seed": seed},
                    lambda _, a=deq.subject, b=mlp.subject: {"rows": probe_rows(a, b, self)},
                )["rows"]
        counts = {
            "deq_parameters": deq_spec.num_parameters(dataset.input_shape, k),
            "mlp_parameters": mlp_spec.num_parameters(dataset.input_shape, k),
            "mlp_width": mlp_spec.width,
        }
        summary = summarize(rows) | counts
        return ExperimentResult(
            metrics=summary,
            tables={"per seed": rows, "probes (seed 0)": probes},
            figures={"solver, unrolled gradients and accuracy": figure(rows, curves, summary)},
            claims=claims(rows, summary, self),
        )

    def _checks(self, subject) -> dict[str, Any]:
        from occamlab.models.implicit import infinity_norm
        from occamlab.probes.dynamics import implicit as probe

        test = subject.split("test")
        x, y = test.x[: self.check_examples], test.y[: self.check_examples]
        agreement = probe.derivative_agreement(subject.model, x, y, tol=self.check_tol)
        unrolled = probe.unrolled_gradient_errors(
            subject.model, x, y, UNROLL_STEPS, tol=self.check_tol
        )
        profile = probe.contraction_profile(subject.model, x)
        iterations = probe.solver_iterations(subject.model, test.x, tol=self.tol)
        layer = probe.implicit_layer(subject.model)
        norm = float(infinity_norm(layer.matrix().detach()))
        row = {
            "norm_A": norm,
            "raw_norm_W": float(infinity_norm(layer.A.weight.detach())),
            "gradient_error": agreement["gradient_error"],
            "hvp_error": agreement["hvp_error"],
            "unrolled_steps": agreement["steps"],
            "adjoint_iterations": agreement["adjoint_iterations"],
            "worst_rate": profile["worst_rate"],
            "rate_over_bound": profile["worst_rate"] / profile["norm"],
            "fixed_point_spread": profile["spread"],
            "picard_iterations": iterations["picard"],
            "anderson_iterations": iterations["anderson"],
            "solvers_converged": iterations["converged"],
        }
        curves = {
            "unrolled_steps": list(UNROLL_STEPS),
            "unrolled_errors": unrolled,
            "picard_errors": profile["errors"],
            "bound": profile["bound"],
            "picard_residuals": iterations["picard_residuals"],
            "anderson_residuals": iterations["anderson_residuals"],
        }
        return {"row": row, "curves": curves}


def probe_rows(deq, mlp, spec: ImplicitModels) -> list[dict[str, Any]]:
    """The probes on the implicit and the explicit network: one row per quantity."""
    from occamlab.probes.bounds import error_bounds
    from occamlab.probes.curvature import hessian_spectrum
    from occamlab.probes.spectra import weight_spectra

    out: dict[str, dict[str, Any]] = {}

    def put(probe: str, quantity: str, which: str, value: Any) -> None:
        out.setdefault(f"{probe}|{quantity}", {"probe": probe, "quantity": quantity})[which] = value

    for which, subject in (("deq", deq), ("mlp", mlp)):
        h = hessian_spectrum(
            subject, k=1, limit=spec.probe_examples, trace_matvecs=60, tol=1e-4, max_matvecs=150
        )
        put("hessian", "λ_max", which, h.eigenvalues[0])
        put("hessian", f"trace ({h.trace_method})", which, h.trace)
        put("hessian", "matrix-vector products", which, h.eigen_matvecs + h.trace_matvecs)
        spectra = weight_spectra(subject.model)
        for layer in spectra.layers:
            put("weight spectra", f"α of {layer.name}", which, layer.row().get("alpha"))
        bounds = error_bounds(subject, subspace_dims="")
        for row in bounds.rows:
            put("bounds", row["bound"], which, row["value"])
        for name, reason in bounds.skipped.items():
            put("bounds", f"{name} (refused)", which, reason)
        put("bounds", "test error", which, bounds.test_error)
    return list(out.values())


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means ± sd over seeds of every per-seed number."""
    out: dict[str, Any] = {"seeds": len(rows)}
    for field in (
        "deq_test_accuracy",
        "mlp_test_accuracy",
        "norm_A",
        "gradient_error",
        "hvp_error",
        "worst_rate",
        "rate_over_bound",
        "picard_iterations",
        "anderson_iterations",
    ):
        out[f"{field}_mean"], out[f"{field}_std"] = mean_std([r[field] for r in rows])
    out["gradient_error_max"] = max(r["gradient_error"] for r in rows)
    out["hvp_error_max"] = max(r["hvp_error"] for r in rows)
    out["norm_A_max"] = max(r["norm_A"] for r in rows)
    out["fixed_point_spread_max"] = max(r["fixed_point_spread"] for r in rows)
    return out


def claims(rows: list[dict[str, Any]], s: dict[str, Any], spec: ImplicitModels) -> list[Claim]:
    """The papers' findings, tested over the seeds (one trained network each)."""
    digits = -float(np.log10(spec.derivative_tolerance))
    n = len(rows)
    out = []
    for field, what in (
        (
            "gradient_error",
            "the implicit-function-theorem gradient equals the gradient of "
            "unrolling the solver to convergence",
        ),
        (
            "hvp_error",
            "Hessian-vector products by double backward through the implicit backward "
            "equal those of the unrolled solver",
        ),
    ):
        logs = [-float(np.log10(max(r[field], 1e-300))) for r in rows]
        out.append(
            Claim.tested(
                f"{what} (float64, relative difference below {spec.derivative_tolerance:g})",
                exceeds(
                    logs,
                    digits,
                    name=f"−log10 {field}",
                    hypothesis=f"mean −log10(relative difference) > {digits:g}",
                ),
                f"relative difference {s[f'{field}_mean']:.2e} on average, at most "
                f"{s[f'{field}_max']:.2e} ({n} trained networks, {spec.check_examples} test "
                f"examples, solves to {spec.check_tol:g})",
                f"{BAI}, Thm 1 (implicit backward); {EL_GHAOUI}, Sec. 3",
            )
        )
    ratios = [r["rate_over_bound"] for r in rows]
    out.append(
        Claim.tested(
            "Picard iteration converges at least at the rate the well-posedness bound predicts: "
            "max_k (‖z_k − z*‖_∞/‖z_0 − z*‖_∞)^(1/k) ≤ ‖A‖_∞",
            exceeds(
                [-r for r in ratios],
                -1.0,
                name="−rate/‖A‖_∞",
                hypothesis="mean worst rate / ‖A‖_∞ < 1",
            ),
            f"worst per-step rate {s['worst_rate_mean']:.3f} against ‖A‖_∞ = "
            f"{s['norm_A_mean']:.3f} (ratio {s['rate_over_bound_mean']:.3f} ± "
            f"{s['rate_over_bound_std']:.3f}, {n} seeds)",
            f"{EL_GHAOUI}, Sec. 3 (well-posedness, contraction in the ∞-norm)",
        )
    )
    out.append(
        Claim.tested(
            f"Anderson acceleration reaches the training tolerance ({spec.tol:g}) in fewer "
            "iterations than Picard iteration",
            compare(
                [r["picard_iterations"] for r in rows],
                [r["anderson_iterations"] for r in rows],
                paired=True,
                names=("Picard iterations", "Anderson iterations"),
            ),
            f"Picard {s['picard_iterations_mean']:.1f} ± {s['picard_iterations_std']:.1f}, "
            f"Anderson {s['anderson_iterations_mean']:.1f} ± "
            f"{s['anderson_iterations_std']:.1f} iterations over the test set",
            f"Walker & Ni 2011 (Anderson acceleration); {BAI}, Sec. 3.3 (quasi-Newton solvers)",
        )
    )
    out.append(
        Claim.tested(
            f"the implicit network is as accurate on MNIST-1D as an explicit network with the "
            f"same number of parameters (test accuracy at most {spec.margin:g} below)",
            compare(
                [r["deq_test_accuracy"] for r in rows],
                [r["mlp_test_accuracy"] for r in rows],
                margin=-spec.margin,
                paired=True,
                names=("implicit", "explicit"),
            ),
            f"test accuracy {s['deq_test_accuracy_mean']:.3f} ± {s['deq_test_accuracy_std']:.3f} "
            f"(implicit, {s['deq_parameters']:,} parameters) vs "
            f"{s['mlp_test_accuracy_mean']:.3f} ± {s['mlp_test_accuracy_std']:.3f} (MLP of "
            f"width {s['mlp_width']}, {s['mlp_parameters']:,} parameters), {n} seeds",
            f"{BAI}, Sec. 5 (DEQs match explicit networks of equal size); {EL_GHAOUI}, Sec. 2",
        )
    )
    well_posed = s["norm_A_max"] <= spec.kappa * (1 + 1e-6) and s["fixed_point_spread_max"] <= 1e-9
    out.append(
        Claim(
            f"the trained layer stays well posed: ‖A‖_∞ ≤ κ = {spec.kappa:g} and one fixed point "
            "is reached from every start (check)",
            bool(well_posed),
            f"largest ‖A‖_∞ {s['norm_A_max']:.6f}; largest distance between fixed points from "
            f"random starts {s['fixed_point_spread_max']:.1e}",
            f"{EL_GHAOUI}, Thm 2.2 (well-posedness)",
        )
    )
    return out


def figure(rows: list[dict[str, Any]], curves: list[dict[str, Any]], s: dict[str, Any]) -> Any:
    """Solver convergence against the bound; unrolled-gradient error against steps; accuracy."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 4))
    ax, bx, cx = fig.subplots(1, 3)
    first = curves[0]
    errors = np.asarray(first["picard_errors"])
    k = np.arange(errors.size)
    keep = errors > 1e-14 * errors[0]
    ax.semilogy(k[keep], errors[keep], color="C0", label="Picard ‖z_k − z*‖_∞ (float64)")
    ax.semilogy(k[keep], np.asarray(first["bound"])[keep], "k--", label="‖A‖_∞ᵏ ‖z₀ − z*‖_∞")
    ax.semilogy(
        np.arange(1, len(first["picard_residuals"]) + 1),
        first["picard_residuals"],
        ":",
        color="C0",
        label="Picard residual (training)",
    )
    ax.semilogy(
        np.arange(1, len(first["anderson_residuals"]) + 1),
        first["anderson_residuals"],
        "-",
        color="C1",
        label="Anderson residual (training)",
    )
    ax.set(
        xlabel="iteration k",
        ylabel="error / relative residual",
        title=f"solver (seed 0): ‖A‖_∞ = {rows[0]['norm_A']:.3f}",
    )
    ax.legend(fontsize=7)
    for c in curves:
        bx.loglog(c["unrolled_steps"], c["unrolled_errors"], "o-", color="C2", alpha=0.5, ms=3)
    bx.axhline(s["gradient_error_max"], color="k", ls=":", label="IFT vs converged unrolling")
    bx.set(
        xlabel="unrolled solver steps K",
        ylabel="‖g_K − g_IFT‖ / ‖g_IFT‖",
        title="unrolled gradients converge to the implicit one",
    )
    bx.legend(fontsize=7)
    deq = [r["deq_test_accuracy"] for r in rows]
    mlp = [r["mlp_test_accuracy"] for r in rows]
    for a, b in zip(deq, mlp, strict=True):
        cx.plot([0, 1], [a, b], "-", color="0.7")
    cx.plot(np.zeros(len(deq)), deq, "o", color="C0")
    cx.plot(np.ones(len(mlp)), mlp, "s", color="C3")
    cx.set_xticks(
        [0, 1],
        [
            f"implicit\n{s['deq_parameters']:,} params",
            f"MLP w={s['mlp_width']}\n{s['mlp_parameters']:,} params",
        ],
    )
    cx.set(xlim=(-0.5, 1.5), ylabel="test accuracy", title="MNIST-1D, equal parameters")
    fig.tight_layout()
    return fig
