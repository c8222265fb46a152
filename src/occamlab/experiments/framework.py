"""Experiments: a typed spec, a ``run`` method, and claims checked on the run's own numbers.

An experiment is a frozen dataclass registered in
:data:`~occamlab.experiments.registry.EXPERIMENTS`. Its fields are flat
scalars (they become CLI flags and hash into the run id); class variables give its ``name``, a
one-line ``summary``, the ``paper`` it reproduces and ``scales``: field overrides per scale, where
``"quick"`` (the field defaults, minutes on a laptop CPU) and ``"paper"`` (the closest setup to the
publication the data allow) are required. ``spec.run(ctx)`` does the work through a
:class:`Context` and returns an :class:`ExperimentResult` whose :class:`Claim` s state what the
paper found and whether this run found it too.

Runs are stored (run id = hash of kind and spec). Expensive parts go through
:meth:`Context.cached` or :meth:`Context.train`, which store each part as a run of its own, so
an interrupted experiment resumes without recomputing finished parts.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from occamlab.experiments.page import write_experiment_page
from occamlab.experiments.stats import ClaimTest, holm_decisions
from occamlab.jsonable import jsonable
from occamlab.notebook import HtmlRepr
from occamlab.report.pages import save_run_figures
from occamlab.specs import spec_to_dict
from occamlab.store import RunRecord, Store

T = TypeVar("T")


@dataclass(frozen=True)
class Claim:
    """A statement of what a paper found, evaluated on this run's measurements.

    A claim decided by a statistical test over seeds carries it (:class:`ClaimTest`; build it
    with :meth:`tested`): its decision is "passed", "failed" or "inconclusive" after Holm's
    correction over the experiment's tested claims (:func:`run_experiment` applies it), and
    ``passed`` is whether it passed. A claim without a test is decided by ``passed`` alone.

    Attributes:
        statement: what the paper found, in words ("test error rises with label corruption").
        passed: whether this run's numbers agree.
        evidence: the numbers behind the verdict.
        source: where the statement and its threshold come from (arXiv id, figure).
        test: the statistical test that decides it (None: a threshold on one run's numbers).
    """

    statement: str
    passed: bool
    evidence: str
    source: str = ""
    test: ClaimTest | None = None

    def __post_init__(self) -> None:
        if isinstance(self.passed, np.bool_):  # numpy's bool: accepted, stored as a Python bool
            object.__setattr__(self, "passed", bool(self.passed))
        if not isinstance(self.passed, bool):
            raise TypeError(f"Claim.passed must be a bool, got {type(self.passed).__name__}")
        if self.test is not None and self.passed != (self.test.decision == "passed"):
            raise ValueError("a tested claim passes exactly when its test decides 'passed'")

    @classmethod
    def tested(cls, statement: str, test: ClaimTest, evidence: str, source: str = "") -> Claim:
        """A claim decided by ``test``."""
        return cls(statement, test.decision == "passed", evidence, source, test)

    @property
    def decision(self) -> str:
        if self.test is not None:
            return self.test.decision
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "test"}
        out["decision"] = self.decision
        out["test"] = None if self.test is None else self.test.to_dict()
        return out


def corrected(claims: list[Claim]) -> list[Claim]:
    """The claims with their tests Holm-corrected together (untested claims unchanged)."""
    indices = [i for i, c in enumerate(claims) if c.test is not None]
    tests = holm_decisions([claims[i].test for i in indices])
    out = list(claims)
    for i, test in zip(indices, tests, strict=True):
        out[i] = Claim.tested(claims[i].statement, test, claims[i].evidence, claims[i].source)
    return out


@dataclass
class ExperimentResult:
    """What an experiment returns.

    Attributes:
        metrics: JSON-able numbers (nested dicts and lists allowed).
        tables: named tables, each a list of dict rows (the numbers behind the figures).
        figures: named matplotlib figures; saved as PNG artifacts and embedded in the page.
        claims: the paper's findings, checked on this run.
    """

    metrics: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)


class Experiment(Protocol):
    """What :func:`run_experiment` needs of a spec (registered dataclasses satisfy it)."""

    name: str

    def run(self, ctx: Context) -> ExperimentResult: ...


class Context:
    """What an experiment's ``run`` uses: the store, cached parts, cached training, progress.

    Args:
        store: the run store.
        experiment: the experiment's name (parts are stored under it).
        progress: show progress bars on stderr.
        force: recompute parts even if they are stored.
    """

    def __init__(
        self, store: Store, experiment: str, *, progress: bool = False, force: bool = False
    ) -> None:
        self.store = store
        self.experiment = experiment
        self.progress = progress
        self.force = force
        self.parts_computed = 0
        self.parts_reused = 0

    def cached(
        self, part: str, key: Mapping[str, Any], compute: Callable[[Path], Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The result of ``compute(directory)`` for ``(part, key)``, computed once and stored.

        ``key`` must hold everything the part's result depends on (sizes, seeds, recipes): it
        is hashed into the part's run id; spec dataclasses in it (model, data, training
        recipes) are stored with their registry name (:func:`occamlab.specs.spec_to_dict`).
        ``directory`` is the part's own artifact folder. A part that raises is stored as failed
        and recomputed on the next run.
        """
        plain = {k: _spec_or_value(v) for k, v in dict(key).items()}
        spec = {"experiment": self.experiment, "part": part, "key": jsonable(plain)}
        kind = f"experiment-part/{self.experiment}"
        with self.store.run(kind, spec, name=f"{self.experiment} · {part}", force=self.force) as h:
            if h.reused:
                self.parts_reused += 1
            else:
                h.metrics.update(jsonable(dict(compute(h.directory))))
                self.parts_computed += 1
        return dict(h.metrics)

    def train(self, *, model: Any, data: Any, train: Any, seed: int = 0, loss: Any = None):
        """Train a registry model once and reuse it afterwards (:func:`occamlab.runs.train_run`).

        Returns a :class:`occamlab.runs.TrainedSubject` (the trained subject and its record).
        """
        from occamlab.runs import train_run

        trained = train_run(
            self.store, model=model, data=data, train=train, seed=seed, loss=loss, force=self.force
        )
        if trained.reused:
            self.parts_reused += 1
        else:
            self.parts_computed += 1
        return trained

    def train_many(self, jobs: Sequence[Any]) -> list[Any]:
        """Train many registry models once each (:func:`occamlab.runs.train_runs`): jobs that
        share an architecture and recipe train together as one vectorized ensemble where that
        is faster. Returns one :class:`occamlab.runs.TrainedSubject` per job, in order."""
        from occamlab.runs import train_runs

        trained = train_runs(self.store, jobs, force=self.force)
        self.parts_reused += sum(t.reused for t in trained)
        self.parts_computed += sum(not t.reused for t in trained)
        return trained

    def track(
        self, items: Iterable[T], description: str, *, total: int | None = None
    ) -> Iterator[T]:
        """Iterate over ``items`` with a progress bar on stderr (when progress is on)."""
        if not self.progress:
            yield from items
            return
        from rich.console import Console
        from rich.progress import Progress

        if total is None and isinstance(items, Sequence):
            total = len(items)
        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"{self.experiment}: {description}", total=total)
            for item in items:
                yield item
                bar.advance(task)


@dataclass(frozen=True)
class ExperimentRun(HtmlRepr):
    """A finished (or reused) experiment run: its record and the page written for it."""

    record: RunRecord
    reused: bool
    report: Path
    seconds: float

    @property
    def claims(self) -> list[dict[str, Any]]:
        return list(self.record.metrics.get("claims", []))

    def to_dict(self) -> dict[str, Any]:
        m = self.record.metrics
        return {
            "id": self.record.id,
            "name": self.record.name,
            "status": self.record.status,
            "reused": self.reused,
            "report": str(self.report),
            "seconds": self.seconds,
            "spec": self.record.spec,
            "metrics": m.get("metrics", {}),
            "tables": m.get("tables", {}),
            "figures": m.get("figures", {}),
            "claims": m.get("claims", []),
            "parts": m.get("parts", {}),
        }


def run_experiment(
    spec: Any, store: Store, *, progress: bool = False, force: bool = False
) -> ExperimentRun:
    """Run (or reuse) ``spec`` as a stored run of kind ``experiment`` and write its page.

    A finished run of the same spec is reused unless ``force`` (which also recomputes its
    parts). The run's metrics hold ``metrics``, ``tables``, ``claims``, the figure artifact
    paths, and how many parts were computed or reused.
    """
    started = time.perf_counter()
    name = type(spec).name
    ctx = Context(store, name, progress=progress, force=force)
    with store.run("experiment", spec_to_dict(spec), name=name, force=force) as handle:
        if not handle.reused:
            result = spec.run(ctx)
            if not isinstance(result, ExperimentResult):
                raise TypeError(f"{name}.run must return an ExperimentResult")
            figures = save_run_figures(store, handle, result.figures)
            handle.metrics.update(
                {
                    "metrics": jsonable(result.metrics),
                    "tables": jsonable(result.tables),
                    "claims": [c.to_dict() for c in corrected(result.claims)],
                    "figures": figures,
                    "parts": {"computed": ctx.parts_computed, "reused": ctx.parts_reused},
                    "seconds": time.perf_counter() - started,
                }
            )
    report = write_experiment_page(store, handle.record, spec)
    return ExperimentRun(
        record=handle.record,
        reused=handle.reused,
        report=report,
        seconds=time.perf_counter() - started,
    )


def fields_except(spec: Any, *names: str) -> dict[str, Any]:
    """The fields of ``spec`` but ``names``: the key of a part that does not depend on them (one
    seed's part, keyed without ``seeds``, is reused when more seeds are asked for)."""
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name not in names}


def _spec_or_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return spec_to_dict(value)
    return value
