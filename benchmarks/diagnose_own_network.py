"""Diagnosing the user's own network: ``diagnose`` (quick budget) on a custom CNN, in one process.

Workload: a user's own ``nn.Module`` subclass (not from occamlab's model registry) whose
``forward`` calls Conv2d/BatchNorm2d/ReLU/MaxPool2d/Dropout/Linear, about 38k parameters,
trained with Adam on scikit-learn's 8×8 digits (1,437 training images) before the timed part.
Target: the quick diagnosis of it within 60 s of CPU time of this process. Each stage (the four
questions, and the probes inside "what do the parameters say?") is timed in CPU seconds by
wrapping the functions ``diagnose`` calls; they are printed as a breakdown.

λ_max: the time of our Hessian probe's top eigenvalue (Lanczos, k=1, on the probe's examples)
against a plain-PyTorch power iteration on the same loss (double backward of the eval-mode
network, 1e-4 relative change of the Rayleigh quotient), with both values.

One thread; CPU seconds of this process (the machine is shared: wall time and the load average
are printed beside them).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row  # noqa: E402

from occamlab import Subject, TrainSpec, data_spec, fit, load_data  # noqa: E402
from occamlab.diagnose import DiagnoseSpec, diagnose, questions  # noqa: E402

CPU = time.process_time
TARGET = 60.0


class DigitsCNN(nn.Module):
    """A user's own CNN: two conv/BatchNorm/ReLU blocks, max-pooling, dropout, two Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = self.drop(torch.flatten(x, 1))
        return self.fc2(F.relu(self.fc1(x)))


def trained_subject() -> tuple[Subject, TrainSpec]:
    torch.manual_seed(0)
    data = load_data(data_spec("digits", flatten=False))
    subject = Subject(model=DigitsCNN(), data=data, name="digits-cnn")
    recipe = TrainSpec(optimizer="adam", lr=1e-3, batch_size=64, epochs=15, schedule="constant")
    fit(subject, recipe)
    return subject, recipe


class StageClock:
    """CPU seconds of every call of the wrapped functions, summed by stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, attribute: str, stage: str) -> None:
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            start = CPU()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + CPU() - start

        setattr(owner, attribute, timed)
        self._undo.append((owner, attribute, original))

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._undo):
            setattr(owner, attribute, original)
        self._undo.clear()


def staged_diagnosis(subject: Subject, recipe: TrainSpec):
    """The quick diagnosis, its CPU and wall seconds, and CPU seconds per stage."""
    import occamlab.probes.baselines as baselines
    import occamlab.probes.curvature as curvature
    import occamlab.probes.landscape.surface as surface
    import occamlab.probes.representations.similarity as similarity
    import occamlab.probes.sharpness.summary as sharpness
    import occamlab.probes.spectra.probe as spectra

    clock = StageClock()
    for key in ("simpler", "essential", "bounds", "parameters"):
        clock.wrap(questions, key, key)
    # The questions import their probes when called: wrapping the modules' attributes times them.
    clock.wrap(baselines, "baselines", "simpler: baselines")
    clock.wrap(spectra, "weight_spectra", "parameters: weight_spectra")
    clock.wrap(curvature, "hessian_spectrum", "parameters: hessian_spectrum")
    clock.wrap(sharpness, "sharpness_summary", "parameters: sharpness_summary")
    clock.wrap(surface, "landscape_plane", "parameters: landscape_plane")
    clock.wrap(similarity, "layer_similarity", "parameters: layer_similarity")
    try:
        wall, cpu = time.perf_counter(), CPU()
        result = diagnose(subject, recipe=recipe, spec=DiagnoseSpec())
        cpu, wall = CPU() - cpu, time.perf_counter() - wall
    finally:
        clock.restore()
    return result, cpu, wall, clock.seconds


def power_iteration(subject: Subject, n: int, *, tol: float = 1e-4, max_iter: int = 500):
    """λ_max of the mean loss over the first ``n`` training examples by plain power iteration
    (Hessian-vector products by double backward, eval mode); (value, iterations)."""
    model = subject.model
    x, y = subject.data.train.x[:n], subject.data.train.y[:n]
    params = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    try:
        loss = F.cross_entropy(model(x), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        v = [torch.randn(p.shape, generator=torch.Generator().manual_seed(0)) for p in params]
        norm = torch.sqrt(sum((u * u).sum() for u in v))
        v = [u / norm for u in v]
        value = 0.0
        for step in range(1, max_iter + 1):
            hv = torch.autograd.grad(grads, params, v, retain_graph=True)
            new = float(sum((a * b).sum() for a, b in zip(hv, v, strict=True)))
            norm = torch.sqrt(sum((u * u).sum() for u in hv))
            v = [u / norm for u in hv]
            if step > 1 and abs(new - value) <= tol * abs(new):
                return new, step
            value = new
        return value, max_iter
    finally:
        model.train(was_training)


def main() -> None:
    from occamlab.threads import limit_threads

    limit_threads(1)  # BLAS and OpenMP too: the baselines' solvers and tree ensembles
    subject, recipe = trained_subject()
    train = subject.evaluate(split="train")
    print(
        f"subject: {type(subject.model).__name__}, {subject.num_parameters:,} parameters, "
        f"{subject.num_examples('train'):,} train examples, train accuracy {train.accuracy:.3f}"
    )
    result, cpu, wall, stages = staged_diagnosis(subject, recipe)
    load = os.getloadavg()
    hessian = result.answers["parameters"].results["hessian"]
    print(
        f"quick diagnosis: {cpu:.1f} s CPU, {wall:.1f} s wall, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)"
    )
    print(
        f"Hessian: λ_max {hessian['lambda_max']:.6g} ({hessian['eigen_matvecs']} products), "
        f"trace {hessian['trace']:.6g} ({hessian['trace_method']}), "
        f"{hessian['operator']['num_examples']:,} of {hessian['operator']['split_examples']:,} "
        "training examples"
    )
    for stage, seconds in stages.items():
        print(f"  {stage:<36} {seconds:8.2f} s CPU")

    # The stages are printed above (a breakdown, not targets); the row is the whole diagnosis.
    rows = [
        row(
            f"quick diagnosis, CPU s (wall {wall:.1f} s at load {load[0]:.2f})",
            cpu,
            "budget",
            TARGET,
            1.0,
        )
    ]

    from occamlab.probes.curvature import hessian_spectrum

    n = hessian["operator"]["num_examples"]
    start = CPU()
    ours = hessian_spectrum(subject, k=1, limit=n, trace=False, seed=0)
    t_ours = CPU() - start
    start = CPU()
    anchor, iterations = power_iteration(subject, n)
    t_anchor = CPU() - start
    print(
        f"λ_max: ours {ours.lambda_max:.6g} ({ours.eigen_matvecs} products, {t_ours:.2f} s), "
        f"power iteration {anchor:.6g} ({iterations} products, {t_anchor:.2f} s)"
    )
    lam = row(
        f"λ_max on {n:,} examples: ours {ours.lambda_max:.5g} vs power iteration {anchor:.5g}",
        t_ours,
        "plain PyTorch power iteration",
        t_anchor,
        1.0,
    )
    lam["ours_lambda_max"], lam["anchor_lambda_max"] = ours.lambda_max, anchor
    rows.append(lam)
    report("diagnose_own_network", rows)


if __name__ == "__main__":
    main()
