"""Grid points spread over two gloo processes on 127.0.0.1 give the single-process surface."""

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from occamlab.probes.landscape import curvature_map, loss_surface, random_directions
from occamlab.testing import least_squares_subject, tiny_subject


def _surface_and_map():
    subject = tiny_subject("relu_mlp")
    surface = loss_surface(subject, random_directions(subject, seed=2), steps=5)
    quad = least_squares_subject(n=20, d=3)
    dirs = [{"weight": torch.ones(1, 3)}, {"weight": torch.tensor([[1.0, -1.0, 0.0]])}]
    cmap = curvature_map(quad, dirs, steps=3, tol=1e-8)
    return surface, cmap


def _worker(rank: int, world: int, out: str) -> None:
    torch.set_num_threads(1)
    # A file store: no TCP store server thread in rank 0 and no port to race for.
    dist.init_process_group("gloo", init_method=f"file://{out}/store", rank=rank, world_size=world)
    try:
        from occamlab.probes.landscape.evaluate import PointEvaluator

        subject = tiny_subject("relu_mlp")
        evaluator = PointEvaluator(subject)
        theta = subject.params()
        evaluator.run(lambda i, o: [o[k].copy_(theta[k] * (1 + i)) for k in o], 9)
        surface, cmap = _surface_and_map()
        # A data-parallel subject: every process evaluates every point on its half of the data.
        from occamlab.sweep.distributed import shard

        sharded = shard(tiny_subject("relu_mlp"))
        halves = loss_surface(sharded, random_directions(sharded, seed=2), steps=5)
        np.savez(
            f"{out}/rank{rank}.npz",
            evaluated=evaluator.num_evaluated,
            loss=surface.values["train_loss"],
            accuracy=surface.values["test_accuracy"],
            lambda_max=cmap.lambda_max,
            sharded_loss=halves.values["train_loss"],
            sharded_accuracy=halves.values["test_accuracy"],
            sharded_center=halves.at_center()["train_loss"] == sharded.evaluate().loss,
        )
        dist.barrier()  # neither rank tears down while the other still talks to it
    finally:
        dist.destroy_process_group()


def test_points_are_split_over_ranks_and_gathered(tmp_path):
    surface, cmap = _surface_and_map()  # the reference, computed first so that the forked
    # children inherit every import (fork, not spawn: seconds saved; CPU only)
    args = (2, str(tmp_path))
    mp.start_processes(_worker, args=args, nprocs=2, join=True, start_method="fork")
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    assert [int(r["evaluated"]) for r in ranks] == [5, 4]  # 9 points: 0,2,4,6,8 and 1,3,5,7
    for r in ranks:
        np.testing.assert_array_equal(r["loss"], surface.values["train_loss"])
        np.testing.assert_array_equal(r["accuracy"], surface.values["test_accuracy"])
        np.testing.assert_allclose(r["lambda_max"], cmap.lambda_max, rtol=1e-10)
        np.testing.assert_allclose(r["sharded_loss"], surface.values["train_loss"], rtol=1e-6)
        np.testing.assert_allclose(r["sharded_accuracy"], surface.values["test_accuracy"])
        assert bool(r["sharded_center"])
