"""The run registry: one SQLite file, artifacts in folders beside it.

A run is addressed by the hash of ``(kind, spec)``: running the same spec again finds the finished
run and reuses it. Every write is one transaction; the database runs in WAL mode with a busy
timeout so several ``occam`` processes can write the same store at once. A run that raises is
marked ``failed`` with its error; a run whose process died (killed, power loss) is found
``running`` with a dead pid and marked ``failed`` the next time the store is opened for writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from occamlab.jsonable import jsonable
from occamlab.specs import spec_hash

Status = Literal["running", "done", "failed"]
DEFAULT_STORE = Path("occam-runs") / "runs.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id        TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    spec      TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    created   REAL NOT NULL,
    updated   REAL NOT NULL,
    metrics   TEXT NOT NULL DEFAULT '{}',
    artifacts TEXT NOT NULL DEFAULT '{}',
    error     TEXT,
    host      TEXT,
    pid       INTEGER
);
CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, updated);
"""


class RunInProgressError(RuntimeError):
    """The same spec is being run right now by another live process."""


class StoreAccessError(ValueError):
    """The store's file or folder cannot be created, opened or written."""


# SQLite's messages when the file or its folder cannot be opened or written.
_ACCESS_ERRORS = ("unable to open database file", "readonly database")


@dataclass(frozen=True)
class RunRecord:
    """One row of the registry."""

    id: str
    kind: str
    name: str
    spec: dict[str, Any]
    status: Status
    created: float
    updated: float
    metrics: dict[str, Any]
    artifacts: dict[str, str]
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "created": self.created,
            "updated": self.updated,
            "spec": self.spec,
            "metrics": self.metrics,
            "artifacts": self.artifacts,
            "error": self.error,
        }


@dataclass
class RunHandle:
    """A run in progress: fill ``metrics`` and ``artifacts``; they are written when it ends."""

    record: RunRecord
    directory: Path
    reused: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.record.id

    def add_artifact(self, key: str, path: str | os.PathLike) -> None:
        self.artifacts[key] = str(path)


def _row(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        spec=json.loads(row["spec"]),
        status=row["status"],
        created=row["created"],
        updated=row["updated"],
        metrics=json.loads(row["metrics"]),
        artifacts=json.loads(row["artifacts"]),
        error=row["error"],
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """SQLite run registry at ``path`` (default ``./occam-runs/runs.sqlite``).

    Args:
        path: the database file; artifacts go to ``<its folder>/artifacts/<run id>/``.
        create: create the file (and its folder) if missing. With ``False`` a missing file is a
            ``FileNotFoundError`` and nothing is written on opening (for commands that only
            read).

    Raises:
        StoreAccessError: the folder or file cannot be created or opened, or the file is not
            a store.
    """

    def __init__(self, path: str | os.PathLike = DEFAULT_STORE, *, create: bool = True) -> None:
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise ValueError(f"store path {str(self.path)!r} is a folder; give a .sqlite file path")
        self.root = self.path.parent
        self._create = create
        if not create and not self.path.is_file():
            raise FileNotFoundError(
                f"no store at {str(self.path)!r}; give the --store your runs were written to "
                f"(default {DEFAULT_STORE})"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = (
                "a file is in the way"
                if isinstance(exc, (FileExistsError, NotADirectoryError))
                else (exc.strerror or str(exc)).lower()
            )
            raise StoreAccessError(
                f"cannot create the store folder {str(self.root)!r} ({reason}); pass --store "
                "with a path in a folder you can write"
            ) from None
        with self._connect() as db:
            if create:
                db.executescript(_SCHEMA)
            elif db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone() is None:
                raise StoreAccessError(
                    f"{str(self.path)!r} is not an occamlab store (it has no runs table); pass "
                    "--store with the .sqlite file of your runs"
                )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise self._access_error(exc) from None
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 60000")
            if self._create:  # the mode is kept in the file: a reader need not set it
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            yield db
        except sqlite3.DatabaseError as exc:
            if "file is not a database" in str(exc):
                raise StoreAccessError(
                    f"{str(self.path)!r} is not an occamlab store (SQLite: {exc}); pass --store "
                    "with the .sqlite file of your runs or a new path"
                ) from None
            if not any(text in str(exc) for text in _ACCESS_ERRORS):
                raise
            raise self._access_error(exc) from None
        finally:
            db.close()

    def _access_error(self, exc: sqlite3.Error) -> StoreAccessError:
        return StoreAccessError(
            f"cannot open the store {str(self.path)!r} ({exc}); the file and its "
            f"folder {str(self.root)!r} must be writable (SQLite keeps -wal and -shm files "
            "beside it): fix their permissions or pass --store with a path you can write"
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- ids and paths ------------------------------------------------------------------------
    @staticmethod
    def run_id(kind: str, spec: Mapping[str, Any]) -> str:
        """Run id: the first 12 hex digits of SHA-256 over the canonical JSON of kind and spec."""
        return spec_hash({"kind": kind, "spec": jsonable(spec)})

    def artifact_dir(self, run_id: str) -> Path:
        return self.root / "artifacts" / run_id

    # -- reading --------------------------------------------------------------------------------
    def get(self, run_id: str) -> RunRecord:
        """The run with this id, or the only run whose id starts with it."""
        if not run_id:
            raise KeyError("give a run id (or a unique prefix); `occam list` shows the runs")
        with self._connect() as db:
            # A literal prefix match: LIKE would read % and _ in the argument as wildcards.
            rows = db.execute(
                "SELECT * FROM runs WHERE substr(id, 1, ?) = ? ORDER BY updated DESC",
                (len(run_id), run_id),
            ).fetchall()
        exact = [r for r in rows if r["id"] == run_id]
        if exact:
            return _row(exact[0])
        if len(rows) == 1:
            return _row(rows[0])
        if not rows:
            raise KeyError(f"no run {run_id!r} in {str(self.path)!r}; `occam list` shows the runs")
        raise KeyError(f"{run_id!r} matches {len(rows)} runs; give more of the id")

    def runs(self, *, kind: str | None = None, status: Status | None = None) -> list[RunRecord]:
        query, args = "SELECT * FROM runs WHERE 1=1", []
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind)
        if status is not None:
            query += " AND status = ?"
            args.append(status)
        with self._connect() as db:
            return [_row(r) for r in db.execute(query + " ORDER BY updated DESC", args)]

    # -- writing --------------------------------------------------------------------------------
    def reap(self) -> int:
        """Mark ``running`` runs of dead processes on this host as failed; return how many."""
        host = socket.gethostname()
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (host,)
            ).fetchall()
            dead = [r["id"] for r in rows if r["pid"] is None or not _pid_alive(r["pid"])]
            for run_id in dead:
                db.execute(
                    "UPDATE runs SET status = 'failed', updated = ?, error = ? WHERE id = ?",
                    (time.time(), "the process running it died before it finished", run_id),
                )
        return len(dead)

    def begin(
        self, kind: str, spec: Mapping[str, Any], *, name: str | None = None, force: bool = False
    ) -> tuple[RunRecord, bool]:
        """Start (or find) the run of ``spec``. Returns the record and whether it was reused.

        A finished run is reused unless ``force``; a failed one is started again.
        """
        self.reap()
        spec = jsonable(spec)
        run_id = self.run_id(kind, spec)
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None and row["status"] == "done" and not force:
                return _row(row), True
            if row is not None and row["status"] == "running" and row["pid"] != os.getpid():
                if row["host"] != socket.gethostname() or _pid_alive(row["pid"]):
                    raise RunInProgressError(
                        f"run {run_id} is being run by process {row['pid']} on {row['host']}; "
                        "wait for it or use another store"
                    )
            db.execute(
                "INSERT INTO runs (id, kind, name, spec, status, created, updated, host, pid) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "status = 'running', updated = excluded.updated, metrics = '{}', "
                "artifacts = '{}', error = NULL, host = excluded.host, pid = excluded.pid",
                (
                    run_id,
                    kind,
                    name or kind,
                    json.dumps(spec, sort_keys=True),
                    now,
                    now,
                    socket.gethostname(),
                    os.getpid(),
                ),
            )
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _row(row), False

    def finish(
        self, run_id: str, *, metrics: Mapping[str, Any], artifacts: Mapping[str, str] | None = None
    ) -> RunRecord:
        """Mark a run done with its metrics and artifact paths, in one transaction."""
        metrics_json = json.dumps(jsonable(metrics), sort_keys=True)
        artifacts_json = json.dumps(jsonable(dict(artifacts or {})), sort_keys=True)
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'done', updated = ?, metrics = ?, artifacts = ?, "
                "error = NULL WHERE id = ?",
                (time.time(), metrics_json, artifacts_json, run_id),
            )
        return self.get(run_id)

    def fail(self, run_id: str, error: str, *, artifacts: Mapping[str, str] | None = None) -> None:
        """Mark a run failed with its error (artifacts written so far are kept)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'failed', updated = ?, error = ?, artifacts = ? "
                "WHERE id = ?",
                (time.time(), error, json.dumps(jsonable(dict(artifacts or {}))), run_id),
            )

    def update_metrics(self, run_id: str, metrics: Mapping[str, Any]) -> None:
        """Merge ``metrics`` into a run's metrics (e.g. probe results added to a finished run)."""
        with self._transaction() as db:
            row = db.execute("SELECT metrics FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(f"no run {run_id!r}")
            merged = {**json.loads(row["metrics"]), **jsonable(metrics)}
            db.execute(
                "UPDATE runs SET metrics = ?, updated = ? WHERE id = ?",
                (json.dumps(merged, sort_keys=True), time.time(), run_id),
            )

    @contextlib.contextmanager
    def run(
        self, kind: str, spec: Mapping[str, Any], *, name: str | None = None, force: bool = False
    ) -> Iterator[RunHandle]:
        """Context manager around one run.

        Inside, fill ``handle.metrics``/``handle.artifacts``; on normal exit the run is marked
        done, on any exception (including Ctrl-C) failed with the error, and the exception
        propagates. If the spec already finished, ``handle.reused`` is True and the body should
        skip the work (the record is returned unchanged).
        """
        record, reused = self.begin(kind, spec, name=name, force=force)
        handle = RunHandle(record=record, directory=self.artifact_dir(record.id), reused=reused)
        if reused:
            handle.metrics.update(record.metrics)
            handle.artifacts.update(record.artifacts)
            yield handle
            return
        handle.directory.mkdir(parents=True, exist_ok=True)
        try:
            yield handle
        except BaseException as exc:
            self.fail(record.id, f"{type(exc).__name__}: {exc}", artifacts=handle.artifacts)
            raise
        handle.record = self.finish(record.id, metrics=handle.metrics, artifacts=handle.artifacts)
