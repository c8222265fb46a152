"""Spectral bias: networks learn low frequencies first, at the NTK's rates (Rahaman et al. 2019;
Basri et al. 2019, 2020).

A two-layer ReLU network with biases in the NTK parameterization
(:func:`~occamlab.probes.kernels.wide.wide_mlp`, depth 1, width ``width``, σ_w = 1, σ_b =
``bias_std``) is trained by full-batch gradient descent (step ``lr``, no momentum, through
:func:`occamlab.train.ensemble.fit_ensemble`: every seed one member of a vectorized ensemble) on
the mean squared error to the target ``y(θ) = a Σ_k cos(kθ + φ_k)`` at ``num_points`` points
``(cos θ, sin θ)`` of the unit circle: equal amplitudes ``a`` at the frequencies ``k = 1, 2, 4,
…, max_frequency`` (``spacing="octaves"``) or ``k = 1, …, max_frequency`` ("consecutive"), with
phases φ_k drawn per seed. The residual ``f − y`` on the training points is recorded at every
step (:class:`~occamlab.probes.dynamics.spectral_bias.ResidualRecorder`) and projected on
``cos kθ, sin kθ``; the time to learn frequency k is the step at which its amplitude has fallen
to half its initial value.

Theory (:mod:`occamlab.probes.dynamics.spectral_bias`): in the kernel regime each Fourier
component of the residual shrinks by ``1 − 2ηλ_k`` per step, with ``λ_k`` the eigenvalue of the
analytic NTK (:func:`~occamlab.probes.kernels.analytic.analytic_ntk`) on the uniform circle, its
Fourier coefficient; so frequency k is learned after ``ln 2 / −ln(1 − 2ηλ_k)`` steps. For the
two-layer ReLU NTK ``λ_k`` falls like k⁻² for large k (without biases the odd coefficients from
3 on vanish, Basri et al. 2019); over the first few octaves it falls faster (the read-out
layer's smoother kernel still counts), and the exponent the experiment compares with is the
kernel's own over the frequencies trained.

Non-uniform data (Basri et al. 2020): the same network, trained on the highest frequency alone,
``y = a cos(kθ + φ)``, at ``num_points`` points whose density is ``density_ratio`` times larger
on the half circle |θ| < π/2 than on the other half (equispaced within each half). The local
amplitude of k in each half (a least-squares fit of the sines and cosines of 1, 2 and k there)
falls at a rate proportional to the local density: k is learned ``density_ratio`` times sooner
in the dense half.

Claims, Holm-corrected together, over the seeds:

* low frequencies are learned first: each seed's smallest ln(t_{k'}/t_k) over consecutive
  frequencies k < k' is > 0 (one-sample t-test);
* the learning time grows like a power of k with the NTK's exponent: each seed's least-squares
  slope of ln t_k on ln k lies within 0.3 of the analytic NTK's slope over the same frequencies
  (two one-sided tests);
* each frequency is learned when the analytic NTK says: each seed's largest |ln(t_k/t_k^NTK)|
  is < ln 1.5 (one-sample t-test; the finite width's kernel fluctuates around the limit);
* on non-uniform data the dense half learns the highest frequency sooner: ln(t_sparse/t_dense)
  > 0 (one-sample t-test);
* by the density ratio (Basri et al. 2020): ln(t_sparse/t_dense) lies within ln 1.5 of
  ln ``density_ratio`` (two one-sided tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, within
from occamlab.probes.dynamics import spectral_bias as sb

RAHAMAN = "Rahaman et al. 2019, arXiv 1806.08734, Fig. 1"
BASRI = "Basri, Jacobs, Kasten & Kritchman 2019, arXiv 1906.00425, Thm. 1"
BASRI_DENSITY = "Basri, Galun, Geifman, Jacobs, Kasten & Kritchman 2020, arXiv 2003.04560"
EXPONENT_TOLERANCE = 0.3  # |fitted exponent − the NTK's| over a few frequencies
TIME_FACTOR = 1.5  # learning times within this factor of the infinite-width kernel's
DENSITY_FACTOR = 1.5  # t_sparse/t_dense within this factor of the density ratio


@EXPERIMENTS.register
@dataclass(frozen=True)
class SpectralBias:
    """Per-frequency residuals of a two-layer ReLU net on the circle against the NTK's rates.

    Attributes:
        max_frequency: the highest frequency of the target.
        spacing: ``"octaves"`` (k = 1, 2, 4, …, max_frequency; a power of 2) or
            ``"consecutive"`` (k = 1, …, max_frequency).
        amplitude: amplitude a of every frequency of the target (small: the kernel regime).
        num_points: training points on the circle (equispaced on the uniform circle).
        width: hidden units of the two-layer network (NTK parameterization).
        bias_std: σ_b of the biases (without biases the odd frequencies from 3 on are never
            learned).
        lr: gradient-descent step η on the mean squared error.
        horizon: training steps, in units of the NTK's predicted time to learn the highest
            frequency (on the non-uniform data: in its sparse half).
        density_ratio: density of the dense half circle over the sparse half's, non-uniform
            data.
        seeds: independent target phases and initializations: the sample of the tests.
    """

    name: ClassVar[str] = "spectral-bias"
    summary: ClassVar[str] = (
        "Two-layer ReLU nets learn a sum of sinusoids low frequency first, in a time ∝ 1/λ_k of "
        "the analytic NTK (≈ k², fitted exponent vs the kernel's); denser regions learn faster"
    )
    paper: ClassVar[str] = (
        "Rahaman et al. 2019, arXiv 1806.08734; Basri et al. 2019, arXiv 1906.00425; "
        "Basri et al. 2020, arXiv 2003.04560"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"max_frequency": 16, "num_points": 512, "width": 4096, "seeds": 20},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "consecutive": {"spacing": "consecutive", "max_frequency": 6},
    }

    max_frequency: int = 8
    spacing: Literal["octaves", "consecutive"] = "octaves"
    amplitude: float = 0.1
    num_points: int = 256
    width: int = 1024
    bias_std: float = 0.5
    lr: float = 1.0
    horizon: float = 2.0
    density_ratio: float = 3.0
    seeds: int = 8

    def __post_init__(self) -> None:
        octave = self.max_frequency > 0 and self.max_frequency & (self.max_frequency - 1) == 0
        if (
            self.spacing not in ("octaves", "consecutive")
            or self.max_frequency < 4
            or (self.spacing == "octaves" and not octave)
            or self.amplitude <= 0
            or self.num_points < 4 * self.max_frequency + 2
            or self.width < 1
            or self.bias_std <= 0
            or self.lr <= 0
            or self.horizon <= 1
            or self.density_ratio <= 1
            or self.seeds < 1
        ):
            raise ValueError(
                "spectral-bias needs spacing 'octaves' (max_frequency a power of 2 >= 4) or "
                "'consecutive' (max_frequency >= 4), amplitude > 0, num_points >= "
                "4·max_frequency + 2, width >= 1, bias_std > 0, lr > 0, horizon > 1, "
                "density_ratio > 1, seeds >= 1"
            )
        lam0 = float(sb.ntk_circle_spectrum([0], bias_std=self.bias_std)[0])
        if self.lr * lam0 >= 1.0:
            raise ValueError(
                f"lr {self.lr} is unstable for this kernel (its constant mode needs lr < "
                f"1/λ₀ = {1 / lam0:.3g}); lower lr or bias_std"
            )

    def frequencies(self) -> list[int]:
        if self.spacing == "octaves":
            return [2**j for j in range(int(math.log2(self.max_frequency)) + 1)]
        return list(range(1, self.max_frequency + 1))

    def uniform_angles(self) -> np.ndarray:
        return 2 * np.pi * np.arange(self.num_points) / self.num_points

    def dense_angles(self) -> np.ndarray:
        """Equispaced in each half circle; the half |θ| < π/2 holds density_ratio times as many
        points per unit angle as the other."""
        dense = round(self.num_points * self.density_ratio / (1 + self.density_ratio))
        sparse = self.num_points - dense
        return np.concatenate(
            [
                -np.pi / 2 + np.pi * (np.arange(dense) + 0.5) / dense,
                np.pi / 2 + np.pi * (np.arange(sparse) + 0.5) / sparse,
            ]
        )

    def ntk(self) -> dict[str, Any]:
        """The analytic NTK's eigenvalues at the target's frequencies and its predicted times."""
        ks = self.frequencies()
        lam = sb.ntk_circle_spectrum([0, *ks], bias_std=self.bias_std)
        times = sb.kernel_half_time(lam[1:], self.lr)
        return {
            "frequencies": ks,
            "lambda0": float(lam[0]),
            "eigenvalues": lam[1:].tolist(),
            "half_times": times.tolist(),
            "slope": float(np.polyfit(np.log(ks), np.log(times), 1)[0]),
        }

    def run(self, ctx: Context) -> ExperimentResult:
        ntk = self.ntk()
        key = fields_except(self, "density_ratio")
        uniform = ctx.cached("uniform circle", key, lambda _: self._uniform(ntk))
        dense = ctx.cached("non-uniform density", fields_except(self), lambda _: self._dense(ntk))
        summary = summarize(ntk, uniform, dense, self.density_ratio)
        ks = ntk["frequencies"]
        return ExperimentResult(
            metrics=summary,
            tables={
                "NTK eigenvalues": [
                    {"k": k, "eigenvalue": lam, "predicted_steps": t}
                    for k, lam, t in zip(ks, ntk["eigenvalues"], ntk["half_times"], strict=True)
                ],
                "learning times (uniform)": [
                    {"seed": s, "k": k, "steps": t, "predicted": p}
                    for s, row in enumerate(uniform["half_times"])
                    for k, t, p in zip(ks, row, ntk["half_times"], strict=True)
                ],
                "learning times by region (non-uniform)": [
                    {"seed": s, "k": dense["frequency"], "dense": a, "sparse": b}
                    for s, (a, b) in enumerate(
                        zip(dense["dense_times"], dense["sparse_times"], strict=True)
                    )
                ],
            },
            figures={"residual per frequency and learning time vs k": figure(ntk, uniform, dense)},
            claims=claims(summary),
        )

    def _train(self, theta: np.ndarray, steps: int, ks: list[int]) -> list[dict[str, Any]]:
        """Train one network per seed on the sinusoids of frequencies ``ks`` at angles
        ``theta``; each seed's residuals ``(steps + 1, n)``."""
        from occamlab.data.base import Data, Split
        from occamlab.probes.kernels.wide import wide_mlp
        from occamlab.subject import Subject
        from occamlab.train import TrainSpec
        from occamlab.train.ensemble import fit_ensemble

        x = sb.circle_inputs(theta)
        subjects, recorders = [], []
        for seed in range(self.seeds):
            phases = np.random.default_rng([seed, 19]).uniform(0, 2 * np.pi, len(ks))
            y = self.amplitude * sum(np.cos(k * theta + p) for k, p in zip(ks, phases, strict=True))
            yt = torch.tensor(y, dtype=torch.float32)[:, None]
            data = Data(
                name="sinusoids on the circle",
                train=Split(x, yt),
                test=Split(x[:0], yt[:0]),
                task="regression",
                num_outputs=1,
            )
            net = wide_mlp(
                2,
                self.width,
                1,
                1,
                bias_std=self.bias_std,
                generator=torch.Generator().manual_seed(seed),
            )
            subjects.append(Subject(net, data, loss="mse"))
            recorders.append(sb.ResidualRecorder(x, yt, every=1))
        recipe = TrainSpec(
            optimizer="sgd",
            lr=self.lr,
            momentum=0.0,
            batch_size=0,
            epochs=steps,
            schedule="constant",
            eval_every=steps,
        )
        # vmap: the layers' NTK gains (σ/√fan_in) live in their forward, which the stacked
        # forward of fully connected nets would skip
        fit_ensemble(subjects, recipe, method="vmap", callbacks=[[r] for r in recorders])
        return [{"steps": r.steps, "residuals": r.residuals()} for r in recorders]

    def _uniform(self, ntk: dict[str, Any]) -> dict[str, Any]:
        theta = self.uniform_angles()
        steps = math.ceil(self.horizon * ntk["half_times"][-1])
        ks = ntk["frequencies"]
        runs = self._train(theta, steps, ks)
        times, curves = [], []
        for r in runs:
            amp = sb.fourier_amplitudes(r["residuals"], theta, ks)
            times.append(sb.half_times(r["steps"], amp).tolist())
            curves.append(amp)
        every = max(1, steps // 400)
        return {
            "steps": steps,
            "half_times": times,
            "curve_steps": runs[0]["steps"][::every],
            "amplitudes_seed0": curves[0][::every].tolist(),
        }

    def _dense(self, ntk: dict[str, Any]) -> dict[str, Any]:
        theta = self.dense_angles()
        sparse_time = ntk["half_times"][-1] * (1 + self.density_ratio) / 2
        steps = math.ceil(self.horizon * sparse_time)
        k = ntk["frequencies"][-1]
        runs = self._train(theta, steps, [k])
        wrapped = np.angle(np.exp(1j * theta))
        dense, sparse = np.abs(wrapped) < np.pi / 2, np.abs(wrapped) > np.pi / 2
        # the lowest frequencies of the initial function, fitted beside k so that they do not
        # leak into its local amplitude (on a half circle only frequencies 2 apart separate)
        ks = [1, 2, k]
        out: dict[str, Any] = {
            "steps": steps,
            "frequency": k,
            "dense_times": [],
            "sparse_times": [],
        }
        every = max(1, steps // 400)
        for i, r in enumerate(runs):
            a = sb.fourier_amplitudes(r["residuals"], theta, ks, where=dense)[:, -1:]
            b = sb.fourier_amplitudes(r["residuals"], theta, ks, where=sparse)[:, -1:]
            out["dense_times"].append(float(sb.half_times(r["steps"], a)[0]))
            out["sparse_times"].append(float(sb.half_times(r["steps"], b)[0]))
            if i == 0:
                out["curve_steps"] = r["steps"][::every]
                out["dense_seed0"] = a[::every, 0].tolist()
                out["sparse_seed0"] = b[::every, 0].tolist()
        return out


def summarize(
    ntk: dict[str, Any], uniform: dict[str, Any], dense: dict[str, Any], density_ratio: float
) -> dict[str, Any]:
    """Per-seed order margins, exponents and deviations from the NTK's times; per-seed
    sparse/dense ratios of the highest frequency's learning time."""
    ks = np.asarray(ntk["frequencies"], dtype=np.float64)
    t = np.asarray(uniform["half_times"], dtype=np.float64)
    predicted = np.asarray(ntk["half_times"])
    finite = np.isfinite(t).all(axis=1)
    order, slopes, deviation = [], [], []
    for row, ok in zip(t, finite, strict=True):
        if not ok:
            order.append(math.nan)
            slopes.append(math.nan)
            deviation.append(math.nan)
            continue
        order.append(float(np.diff(np.log(row)).min()))
        slopes.append(float(np.polyfit(np.log(ks), np.log(row), 1)[0]))
        deviation.append(float(np.abs(np.log(row / predicted)).max()))
    td = np.asarray(dense["dense_times"], dtype=np.float64)
    ts = np.asarray(dense["sparse_times"], dtype=np.float64)
    return {
        "frequencies": ntk["frequencies"],
        "ntk_eigenvalues": ntk["eigenvalues"],
        "ntk_half_times": ntk["half_times"],
        "ntk_slope": ntk["slope"],
        "steps_uniform": uniform["steps"],
        "steps_dense": dense["steps"],
        "half_times_mean": np.nanmean(t, axis=0).tolist(),
        "order_margin": order,
        "slopes": slopes,
        "ntk_deviation": deviation,
        "density_ratio": density_ratio,
        "dense_time": td.tolist(),
        "sparse_time": ts.tolist(),
        "log_time_ratio": np.log(ts / td).tolist(),
    }


def _fmt(values: list[float], spec: str = ".3f") -> str:
    return ", ".join(format(v, spec) for v in values)


def _finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def claims(s: dict[str, Any]) -> list[Claim]:
    """The papers' findings on :func:`summarize`'s output."""
    ks = s["frequencies"]
    times = (
        "mean learning time (steps) "
        + _fmt(s["half_times_mean"], ".1f")
        + " at k = "
        + _fmt(ks, "d")
        + "; the NTK's "
        + _fmt(s["ntk_half_times"], ".1f")
    )
    out = []
    statement = "low frequencies are learned first: each frequency later than the one below it"
    if _finite(s["order_margin"]):
        out.append(
            Claim.tested(
                statement,
                exceeds(
                    s["order_margin"],
                    0.0,
                    name="min ln(t_k'/t_k)",
                    hypothesis="mean over seeds of min over consecutive k < k' of ln(t_k'/t_k) > 0",
                ),
                f"per-seed smallest ln(t_k'/t_k): {_fmt(s['order_margin'])}; {times}",
                RAHAMAN,
            )
        )
    else:
        out.append(Claim(statement, False, "some frequency was never learned; " + times, RAHAMAN))
    statement = (
        f"the time to learn frequency k grows like k^p with the NTK's exponent "
        f"(p = {s['ntk_slope']:.2f} over these k, → 2 for large k), within "
        f"{EXPONENT_TOLERANCE}"
    )
    if _finite(s["slopes"]):
        out.append(
            Claim.tested(
                statement,
                within(
                    s["slopes"],
                    s["ntk_slope"],
                    EXPONENT_TOLERANCE,
                    name="slope of ln t_k on ln k",
                    hypothesis=f"|mean slope of ln t_k on ln k − {s['ntk_slope']:.3f}| < "
                    f"{EXPONENT_TOLERANCE}",
                ),
                f"per-seed exponents {_fmt(s['slopes'])}; the analytic NTK's "
                f"{s['ntk_slope']:.3f} (eigenvalues {_fmt(s['ntk_eigenvalues'], '.3g')})",
                BASRI + " (λ_k ∝ k⁻² on the circle)",
            )
        )
        out.append(
            Claim.tested(
                f"each frequency is learned when the analytic NTK predicts, ln 2/−ln(1 − 2ηλ_k) "
                f"steps, within a factor {TIME_FACTOR}",
                exceeds(
                    [-v for v in s["ntk_deviation"]],
                    -math.log(TIME_FACTOR),
                    name="−max_k |ln(t_k/t_k^NTK)|",
                    hypothesis=f"mean over seeds of max_k |ln(t_k/t_k^NTK)| < ln {TIME_FACTOR}",
                ),
                f"per-seed largest |ln(t_k/t_k^NTK)|: {_fmt(s['ntk_deviation'])}; {times}",
                BASRI + "; Jacot et al. 2018, arXiv 1806.07572",
            )
        )
    else:
        for statement in ("exponent of the learning time", "learning times of the NTK"):
            out.append(Claim(statement, False, "some frequency was never learned; " + times, BASRI))
    ratio = s["log_time_ratio"]
    rho = s["density_ratio"]
    evidence = (
        f"highest frequency k = {ks[-1]}: steps to halve its local amplitude in the dense half "
        f"{_fmt(s['dense_time'], '.0f')}, in the sparse half {_fmt(s['sparse_time'], '.0f')}; "
        f"ln ratio per seed {_fmt(ratio)} (ln {rho:g} = {math.log(rho):.3f})"
    )
    if _finite(ratio):
        out += [
            Claim.tested(
                "non-uniform data: the dense half circle learns the highest frequency sooner",
                exceeds(
                    ratio,
                    0.0,
                    name="ln(t_sparse/t_dense)",
                    hypothesis="mean ln(t_sparse/t_dense) > 0",
                ),
                evidence,
                BASRI_DENSITY,
            ),
            Claim.tested(
                f"the time ratio follows the density ratio {rho:g} (within a factor "
                f"{DENSITY_FACTOR})",
                within(
                    ratio,
                    math.log(rho),
                    math.log(DENSITY_FACTOR),
                    name="ln(t_sparse/t_dense)",
                    hypothesis=f"|mean ln(t_sparse/t_dense) − ln {rho:g}| < ln {DENSITY_FACTOR}",
                ),
                evidence,
                BASRI_DENSITY + " (rate ∝ local density)",
            ),
        ]
    else:
        for statement in ("dense half learns sooner", "time ratio follows the density ratio"):
            out.append(
                Claim(statement, False, "a region never learned; " + evidence, BASRI_DENSITY)
            )
    return out


def figure(ntk: dict[str, Any], uniform: dict[str, Any], dense: dict[str, Any]) -> Any:
    """Seed 0's residual amplitude per frequency against the NTK's decay; learning time
    against k on log axes with the NTK's prediction and k²; dense vs sparse half."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 4))
    ax, bx, cx = fig.subplots(1, 3)
    ks = ntk["frequencies"]
    steps = np.asarray(uniform["curve_steps"], dtype=np.float64)
    amp = np.asarray(uniform["amplitudes_seed0"])
    for j, k in enumerate(ks):
        (line,) = ax.plot(steps, amp[:, j] / amp[0, j], lw=1.5, label=f"k = {k}")
        rate = math.log(2) / ntk["half_times"][j]
        ax.plot(steps, np.exp(-rate * steps), ":", color=line.get_color(), lw=1)
    ax.set(
        yscale="log",
        ylim=(1e-3, 2),
        xlabel="GD step",
        ylabel="|residual_k| / |residual_k(0)|",
        title="residual per frequency (seed 0; dotted: NTK)",
    )
    ax.legend(fontsize=8)
    t = np.asarray(uniform["half_times"], dtype=np.float64)
    for row in t:
        bx.plot(ks, row, "o", ms=4, color="C0", alpha=0.5)
    bx.plot(ks, ntk["half_times"], "k-", label=f"analytic NTK (slope {ntk['slope']:.2f})")
    kk = np.asarray(ks, dtype=np.float64)
    bx.plot(kk, ntk["half_times"][-1] * (kk / kk[-1]) ** 2, "k:", label="∝ k²")
    bx.set(
        xscale="log",
        yscale="log",
        xlabel="frequency k",
        ylabel="steps to halve the residual",
        title="learning time vs frequency",
    )
    bx.set_xticks(ks, [str(k) for k in ks])
    bx.minorticks_off()
    bx.legend(fontsize=8)
    ds = np.asarray(dense["curve_steps"], dtype=np.float64)
    d0, s0 = np.asarray(dense["dense_seed0"]), np.asarray(dense["sparse_seed0"])
    cx.plot(ds, d0 / d0[0], label="dense half")
    cx.plot(ds, s0 / s0[0], label="sparse half")
    cx.axhline(0.5, color="k", lw=0.5)
    cx.set(
        yscale="log",
        ylim=(1e-2, 2),
        xlabel="GD step",
        ylabel=f"local |residual_k| / initial, k = {ks[-1]}",
        title="non-uniform density (seed 0)",
    )
    cx.legend(fontsize=8)
    fig.tight_layout()
    return fig
