"""How a probe command runs: resolve the subject, run (or reuse) the probe as a stored run of
kind ``probe/NAME``, and write its page with the family's renderer."""

from typing import Any

from occamlab.cli.subject import ResolvedSubject, SubjectChoice, resolve_subject
from occamlab.report import probe_renderer, save_run_figures
from occamlab.specs import spec_to_dict
from occamlab.store import Store


def stored_probe(
    kind: str, choice: SubjectChoice, spec: Any, store: Store, *, progress: bool, compute, sections
) -> dict[str, Any]:
    """Resolve the subject, run (or reuse) the probe as a stored run, write its page."""
    resolved = resolve_subject(choice, store, progress=progress)
    return stored_run(
        kind, resolved, spec, store, compute=lambda r: compute(r.subject), sections=sections
    )


def stored_run(
    kind: str, resolved: ResolvedSubject, spec: Any, store: Store, *, compute, sections
) -> dict[str, Any]:
    """Run (or reuse) ``compute(resolved)`` as a stored probe run and write its page.

    ``compute`` returns the run's metrics; matplotlib figures under its ``figures`` key
    (``{title: figure}``) are stored as PNG artifacts, and ``figures`` then maps each title to
    its file (relative to the store).
    """
    subject = resolved.subject
    run_spec = {
        "source": resolved.source,
        "subject": subject.describe(),
        "options": spec_to_dict(spec),
    }
    with store.run(f"probe/{kind}", run_spec, name=f"{kind} · {subject.name}") as run:
        if not run.reused:
            metrics = dict(compute(resolved))
            figures = metrics.pop("figures", None)
            if figures:
                metrics["figures"] = save_run_figures(store, run, figures)
            run.metrics.update(metrics)
    page = probe_renderer(kind, sections)(store, run.record)
    return {"id": run.id, "reused": run.reused, "report": str(page), **run.metrics}


def with_figure(report: Any, title: str) -> dict[str, Any]:
    """The report's numbers, with its picture under ``figures`` (stored as a run artifact)."""
    import matplotlib

    matplotlib.use("Agg")
    axes = report.plot()
    first = axes[0] if hasattr(axes, "__len__") else axes
    return {**report.to_dict(), "figures": {title: first.figure}}
