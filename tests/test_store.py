import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from occamlab.store import RunInProgressError, Store


def test_run_ids_are_pinned():
    # A changed hash would orphan every stored run: change it only on purpose.
    assert Store.run_id("train", {"lr": 0.1, "model": {"name": "mlp", "width": 100}}) == (
        Store.run_id("train", {"model": {"width": 100, "name": "mlp"}, "lr": 0.1})
    )
    assert Store.run_id("train", {"a": 1}) == "691554c68fef"


def test_finished_runs_are_reused(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    with store.run("train", {"a": 1}) as run:
        assert not run.reused
        run.metrics["acc"] = 0.9
        run.add_artifact("weights", "w.safetensors")
    with store.run("train", {"a": 1}) as again:
        assert again.reused and again.metrics == {"acc": 0.9}
    record = store.get(run.id[:6])
    assert record.status == "done" and record.artifacts == {"weights": "w.safetensors"}


def test_an_exception_marks_the_run_failed_and_a_rerun_starts_again(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    with pytest.raises(RuntimeError), store.run("train", {"a": 2}) as run:
        run.metrics["partial"] = 1.0
        raise RuntimeError("boom")
    record = store.get(run.id)
    assert record.status == "failed" and record.error == "RuntimeError: boom"
    assert record.metrics == {}  # no half-written metrics
    with store.run("train", {"a": 2}) as again:
        assert not again.reused
    assert store.get(run.id).status == "done"


def test_non_finite_metrics_are_stored_as_null(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    with store.run("x", {}) as run:
        run.metrics["loss"] = float("nan")
    raw = (
        sqlite3.connect(tmp_path / "runs.sqlite").execute("SELECT metrics FROM runs").fetchone()[0]
    )
    assert json.loads(raw) == {"loss": None}


def test_unknown_and_ambiguous_ids(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    with pytest.raises(KeyError, match="occam list"):
        store.get("abc")


def _python(code: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def test_a_killed_process_leaves_a_readable_registry_and_a_failed_run(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    proc = _python(
        """
        import os, signal, sys
        from occamlab.store import Store
        store = Store(sys.argv[1])
        with store.run("train", {"crash": True}) as run:
            run.metrics["half"] = 1
            os.kill(os.getpid(), signal.SIGKILL)
        """,
        path,
        check=False,
    )
    assert proc.returncode == -9
    store = Store(path)
    [record] = store.runs()
    assert record.status == "running"  # as the dead process left it ...
    assert store.reap() == 1  # ... until a writer notices the process is gone
    record = store.get(record.id)
    assert record.status == "failed" and "died" in record.error and record.metrics == {}
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_two_processes_write_the_same_store_at_once(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    code = """
        import sys
        from occamlab.store import Store
        store = Store(sys.argv[1])
        for i in range(40):
            with store.run("sweep", {"worker": sys.argv[2], "i": i}) as run:
                run.metrics["i"] = i
        """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), path, w]) for w in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    runs = Store(path).runs(kind="sweep")
    assert len(runs) == 80 and all(r.status == "done" for r in runs)


def test_a_live_run_of_the_same_spec_is_not_started_twice(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
            import sys, time
            from occamlab.store import Store
            with Store(sys.argv[1]).run("train", {"same": 1}):
                print("started", flush=True)
                time.sleep(30)
            """
            ),
            path,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "started"
        with pytest.raises(RunInProgressError, match="being run by process"):
            Store(path).begin("train", {"same": 1})
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
