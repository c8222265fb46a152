import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from occamlab.cli import main
from occamlab.runs import train_run
from occamlab.store import Store
from occamlab.sweep import LocalExecutor, load_sweep, parse_sweep, run_sweep
from occamlab.weights import load_weights

SWEEP = """
[sweep]
name = "tiny"
kind = "train"

[base]
model = "mlp"
data = "gaussian_mixture"
"data.num_train" = 96
"data.num_test" = 32
"train.epochs" = 3
"train.batch_size" = 16
"train.lr" = 0.05

[grid]
"model.width" = [4, 8]
seed = [0, 1, 2, 3, 4, 5]
"""


def write(tmp_path, text=SWEEP, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_members_and_errors(tmp_path):
    sweep = load_sweep(write(tmp_path))
    assert sweep.name == "tiny" and len(sweep.members) == 12
    assert {(m.model.width, m.seed) for m in sweep.members} == {
        (w, s) for w in (4, 8) for s in range(6)
    }
    listed = parse_sweep(
        {
            "base": {"model": "mlp", "data": "gaussian_mixture"},
            "members": [{"seed": 1}, {"seed": 2, "train.lr": 0.5}],
            "grid": {"model.width": [3, 5]},
        }
    )
    assert len(listed.members) == 4 and listed.members[3].train.lr == 0.5
    bad = [
        ({"base": {"model": "mlp"}}, "needs 'data'"),
        ({"base": {"model": "mlp", "data": "mnist1d", "widht": 3}}, "unknown sweep field"),
        ({"base": {"model": "mlp", "data": "mnist1d", "model.widht": 3}}, "valid options"),
        ({"base": {"model": "mlp", "data": "mnist1d"}, "grid": {"seed": 3}}, "non-empty list"),
        ({"base": {"model": "mlp", "data": "mnist1d"}, "grid": {"seed": [1, 1]}}, "twice"),
        ({"sweep": {"kind": "huge"}}, "kind must be"),
        ({"sweep": {"kind": "experiment"}}, "experiment = NAME"),
    ]
    for doc, message in bad:
        with pytest.raises(ValueError, match=message):
            parse_sweep(doc)
    with pytest.raises(FileNotFoundError):
        load_sweep(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="TOML"):
        load_sweep(write(tmp_path, "[sweep\n", "broken.toml"))


def test_local_sweep_stores_members_like_single_runs_and_resumes(tmp_path):
    sweep = load_sweep(write(tmp_path))
    store = Store(tmp_path / "a" / "runs.sqlite")
    result = run_sweep(sweep, store, LocalExecutor())
    assert (result.done, result.reused, result.failed) == (12, 0, 0)
    records = {r.id: r for r in store.runs(kind="train")}
    assert set(records) == set(result.runs)
    assert {r.metrics["trained_with"] for r in records.values()} == {6}
    # A member equals the same spec trained alone (same run id, weights to rounding).
    job = sweep.members[7]
    fields = {k: v for k, v in vars(job).items() if k != "data_contents"}  # no file data here
    alone = train_run(Store(tmp_path / "b" / "runs.sqlite"), **fields)
    assert alone.record.id == result.runs[7]
    stored = load_weights(store.root / records[result.runs[7]].artifacts["weights"])
    for k, v in alone.subject.params().items():
        assert torch.allclose(stored[k], v, atol=1e-5), k
    again = run_sweep(sweep, store, LocalExecutor())
    assert (again.done, again.reused) == (0, 12)


def test_a_failing_member_is_recorded_and_the_rest_go_on(tmp_path):
    # One vectorized group with a diverging member: the group falls back to one by one.
    text = SWEEP.replace('"train.lr" = 0.05', '"train.momentum" = 0.0')
    text = text.replace("seed = [0, 1, 2, 3, 4, 5]", 'seed = [0, 1]\n"train.lr" = [0.05, 1e30]')
    sweep = load_sweep(write(tmp_path, text))
    store = Store(tmp_path / "runs.sqlite")
    result = run_sweep(sweep, store, LocalExecutor())
    status = {m.train.lr: set() for m in sweep.members}
    for member, run_id in zip(sweep.members, result.runs, strict=True):
        status[member.train.lr].add(store.get(run_id).status)
    assert status[0.05] == {"done"} and status[1e30] == {"failed"}
    assert result.failed == 4 and result.done == 4
    assert all("NonFiniteLossError" in e for e in result.errors.values())


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.mark.slow
def test_ray_executor_stores_the_same_results_as_local(tmp_path, capsys):
    path = write(tmp_path)
    local_store = str(tmp_path / "local" / "runs.sqlite")
    ray_store = str(tmp_path / "ray" / "runs.sqlite")
    code, out, _ = run_cli(capsys, "sweep", str(path), "--store", local_store, "--json")
    assert code == 0
    local = json.loads(out)
    code, out, err = run_cli(
        capsys,
        "sweep",
        str(path),
        "--executor",
        "ray",
        "--num-cpus",
        "2",
        "--max-group",
        "3",
        "--store",
        ray_store,
        "--json",
    )
    assert code == 0, err
    remote = json.loads(out)
    assert remote["executor"] == "ray" and remote["done"] == 12 and remote["failed"] == 0
    assert remote["runs"] == local["runs"]
    a, b = Store(local_store), Store(ray_store)
    for run_id in local["runs"]:
        ra, rb = a.get(run_id), b.get(run_id)
        assert ra.spec == rb.spec and ra.metrics["steps"] == rb.metrics["steps"]
        assert ra.metrics["train_loss"] == pytest.approx(rb.metrics["train_loss"], rel=1e-4)
        wa = load_weights(a.root / ra.artifacts["weights"])
        wb = load_weights(b.root / rb.artifacts["weights"])
        assert all(torch.allclose(wa[k], wb[k], atol=1e-5) for k in wa)


def _done(path: Path) -> int:
    return len(Store(path).runs(kind="train", status="done")) if path.exists() else 0


@pytest.mark.slow
def test_a_killed_driver_continues_where_it_stopped(tmp_path):
    path = write(tmp_path, SWEEP.replace('"train.epochs" = 3', '"train.epochs" = 40'))
    store = tmp_path / "runs.sqlite"
    args = [
        sys.executable,
        "-m",
        "occamlab",
        "sweep",
        str(path),
        "--max-group",
        "1",
        "--store",
        str(store),
        "--json",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while _done(store) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the sweep finished before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = _done(store)
    assert 2 <= finished < 12
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    payload = json.loads(out)
    assert payload["reused"] == finished and payload["done"] == 12 - finished
