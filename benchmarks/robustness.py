"""The PGD attack: ours against the Adversarial Robustness Toolbox 1.20.1
(``art.attacks.evasion.ProjectedGradientDescent`` on a ``PyTorchClassifier``), in one process.

The same trained MLP, the same 1,000 MNIST-1D test inputs and labels, the same radius, step
size and number of steps, no random start (ART draws its random starts from NumPy's global
generator, so starting points could not be shared): the two attacks must produce the same
adversarial examples, example for example (max |Δ| over every input coordinate, and the
predicted class of every adversarial input). Timings are CPU seconds of this process, one
thread, best of three.
"""

from __future__ import annotations

import os

# One thread everywhere (also the anchor's numpy BLAS), set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row, timed  # noqa: E402

from occamlab import make_subject  # noqa: E402
from occamlab.data import data_spec  # noqa: E402
from occamlab.models import model_spec  # noqa: E402
from occamlab.probes.robustness import PGDSpec, pgd  # noqa: E402
from occamlab.train import TrainSpec, fit  # noqa: E402

CPU = time.process_time
BATCH = 250
CASES = (
    ("linf", 0.1, 0.01, 20),
    ("l2", 0.5, 0.05, 20),
)


def ours(model, x: torch.Tensor, y: torch.Tensor, attack: PGDSpec) -> torch.Tensor:
    return torch.cat(
        [pgd(model, x[i : i + BATCH], y[i : i + BATCH], attack) for i in range(0, len(x), BATCH)]
    )


def art_attack(model, x: torch.Tensor, y: torch.Tensor, norm: str, eps, step, steps, classes):
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    classifier = PyTorchClassifier(
        model=model,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=tuple(x.shape[1:]),
        nb_classes=classes,
    )
    attack = ProjectedGradientDescent(
        classifier,
        norm=np.inf if norm == "linf" else 2,
        eps=eps,
        eps_step=step,
        max_iter=steps,
        num_random_init=0,
        batch_size=BATCH,
        verbose=False,
    )
    return torch.from_numpy(attack.generate(x=x.numpy(), y=y.numpy()))


def main() -> None:
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    subject = make_subject(
        model=model_spec("mlp", width=100, depth=2), data=data_spec("mnist1d"), seed=0
    )
    fit(subject, TrainSpec(optimizer="adam", lr=3e-3, batch_size=128, epochs=10, seed=0))
    model = subject.model.eval()
    x, y = subject.data.test.x[:1000], subject.data.test.y[:1000]
    rows = []
    for norm, eps, step, steps in CASES:
        attack = PGDSpec(eps=eps, norm=norm, steps=steps, step_size=step, random_start=False)
        t_ours, adv_ours = timed(lambda a=attack: ours(model, x, y, a), clock=CPU)
        t_art, adv_art = timed(
            lambda n=norm, e=eps, s=step, k=steps: art_attack(
                model, x, y, n, e, s, k, subject.data.num_outputs
            ),
            clock=CPU,
        )
        diff = float((adv_ours - adv_art).abs().max())
        with torch.no_grad():
            p_ours, p_art = model(adv_ours).argmax(1), model(adv_art).argmax(1)
        same = float((p_ours == p_art).double().mean())
        acc_ours, acc_art = (
            float((p_ours == y).double().mean()),
            float((p_art == y).double().mean()),
        )
        print(
            f"{norm} ε={eps}: max |ours − ART| {diff:.2e}, same prediction {same:.4f}, "
            f"accuracy under attack ours {acc_ours:.4f}, ART {acc_art:.4f}"
        )
        label = f"PGD {norm} ε={eps} {steps} steps, 1000 ex."
        rows.append(row(f"{label} vs ART", t_ours, "art 1.20.1", t_art, 1.0))
        rows.append(row(f"{label}: max |x_ours − x_ART|", diff, "tolerance", 1e-5, 1.0))
        rows.append(row(f"{label}: predictions that differ", 1.0 - same, "tolerance", 1e-3, 1.0))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    report("robustness", rows)


if __name__ == "__main__":
    main()
