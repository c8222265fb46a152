import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from occamlab import TrainSpec, fit, make_subject
from occamlab.data import data_spec
from occamlab.linalg.diagonal import ggn_diagonal
from occamlab.linalg.ggn import GGNOperator
from occamlab.linalg.hessian import HessianOperator
from occamlab.models import model_spec
from occamlab.probes.curvature import HessianSpec, hessian_spectrum
from occamlab.probes.sharpness.common import FlatObjective
from occamlab.sweep.distributed import shard


def subject():
    s = make_subject(
        model=model_spec("mlp", width=8),
        data=data_spec("gaussian_mixture", num_train=101, num_test=37),
        seed=3,
    )
    fit(s, TrainSpec(epochs=2, batch_size=16, lr=0.05))
    return s


def measure(s) -> dict:
    torch.set_num_threads(1)
    v = torch.randn(s.num_parameters, generator=torch.Generator().manual_seed(0))
    op = HessianOperator(s)
    limited = HessianOperator(s, limit=77, batch_size=10)
    objective = FlatObjective(s, "train", None)
    loss, grad = objective.loss_and_grad(objective.w)
    report = hessian_spectrum(s, spec=HessianSpec(k=2, trace=True, seed=0))
    return {
        "train": s.evaluate(split="train").to_dict(),
        "test_limited": s.evaluate(split="test", limit=30).to_dict(),
        "hvp": op.matvec(v).tolist(),
        "hvp_limited": limited.matvec(v).tolist(),
        "gradient": op.gradient().tolist(),
        "loss": op.loss(),
        "ggn": GGNOperator(s).matvec(v).tolist(),
        "diagonal_sum": float(ggn_diagonal(s).sum()),
        "objective": [loss, grad.tolist()],
        "eigenvalues": report.eigenvalues,
        "trace": report.trace,
    }


def _worker(rank: int, out: str) -> None:
    # A file store: no TCP store server thread in rank 0 and no port to race for.
    dist.init_process_group("gloo", init_method=f"file://{out}.store", rank=rank, world_size=2)
    try:
        sharded = shard(subject())
        assert len(sharded.data.train) in (50, 51)
        result = measure(sharded)
        with open(f"{out}.{rank}", "w") as f:
            json.dump(result, f)
        dist.barrier()  # neither rank tears down while the other still talks to it
    finally:
        dist.destroy_process_group()


def close(a, b, path="") -> None:
    if isinstance(a, dict):
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=2e-5, abs=1e-6), path
    else:
        assert a == b, path


@pytest.mark.slow
def test_two_gloo_processes_give_the_single_process_numbers(tmp_path):
    out = str(tmp_path / "result")
    mp.spawn(_worker, args=(out,), nprocs=2, join=True)
    with open(f"{out}.0") as f0, open(f"{out}.1") as f1:
        r0, r1 = json.load(f0), json.load(f1)
    close(r0, r1)  # every process holds the same result
    close(measure(subject()), r0)


def test_shard_needs_an_initialized_process_group():
    with pytest.raises(ValueError, match="init_process_group"):
        shard(subject())
