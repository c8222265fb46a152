"""The one training loop against a hand-written PyTorch loop doing the same work.

Both train the same MLP from the same initial weights on MNIST-1D with the same minibatch order
and evaluate train and test loss/accuracy once at the end. Target: our loop's overhead (progress,
callbacks, schedules, NaN checks) stays within 10% of the plain loop (ratio <= 1.10).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, report, row  # noqa: E402

from occamlab import TrainSpec, fit, make_subject  # noqa: E402


def plain_loop(model, data, *, lr, momentum, batch_size, epochs, seed):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    g = torch.Generator().manual_seed(seed)
    x, y = data.train.x, data.train.y
    n = len(y)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=g) if batch_size < n else torch.arange(n)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        for split in (data.train, data.test):
            out = model(split.x)
            F.cross_entropy(out, split.y).item()
            (out.argmax(1) == split.y).float().mean().item()


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for case, batch_size, epochs in (
        ("mlp 40-256-256-10, batch 128, 10 epochs", 128, 10),
        ("mlp 40-256-256-10, full batch, 200 steps", 0, 200),
    ):
        subject = make_subject(model="mlp", data="mnist1d", seed=0)
        init = copy.deepcopy(subject.model.state_dict())
        spec = TrainSpec(
            lr=0.05,
            momentum=0.9,
            batch_size=batch_size,
            epochs=epochs,
            schedule="constant",
            eval_every=10_000,
        )

        def ours(subject=subject, init=init, spec=spec):
            subject.model.load_state_dict(init)
            fit(subject, spec)

        def plain(subject=subject, init=init, batch_size=batch_size, epochs=epochs):
            subject.model.load_state_dict(init)
            plain_loop(
                subject.model,
                subject.data,
                lr=0.05,
                momentum=0.9,
                batch_size=batch_size or len(subject.data.train),
                epochs=epochs,
                seed=0,
            )

        ours(), plain()  # warm up
        rows.append(
            row(
                case,
                best_of(ours, repeats=5),
                "plain PyTorch loop",
                best_of(plain, repeats=5),
                target=1.10,
            )
        )
    report("train_loop", rows)


if __name__ == "__main__":
    main()
