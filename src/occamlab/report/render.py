"""(Re)writing a run's page from its stored record: ``occam report RUN|--all``.

Modules that own a kind of run register a renderer for it (``train``, ``experiment``,
``diagnose``, each ``probe/NAME``). A run of a kind without a renderer keeps the page written when
it ran, or gets a generic page (its spec, numbers and artifacts) if it has none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from occamlab.report.html import esc, key_values
from occamlab.report.pages import figure_sections, reports_dir, write_index, write_run_page
from occamlab.store import RunRecord, Store

Renderer = Callable[[Store, RunRecord], Path]
_RENDERERS: dict[str, Renderer] = {}


def register_renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Decorator: the function that writes the page of runs of ``kind``."""

    def decorate(fn: Renderer) -> Renderer:
        _RENDERERS[kind] = fn
        return fn

    return decorate


Sections = Callable[[dict[str, Any]], list[tuple[str, str]]]


def probe_renderer(kind: str, sections: Sections) -> Renderer:
    """Register (and return) the page writer of ``probe/KIND`` runs.

    ``sections(metrics)`` gives the page's sections, followed by the run's stored figures, so
    ``occam report`` can rewrite the page from the store. Each probe family's ``page`` module
    registers its kinds when imported.
    """

    def render(store: Store, record: RunRecord) -> Path:
        name = record.spec.get("subject", {}).get("name", record.name)
        parts = sections(record.metrics) + figure_sections(store, record.metrics.get("figures", {}))
        return write_run_page(store, record, parts, title=f"{kind}: {name}")

    return register_renderer(f"probe/{kind}")(render)


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}


def generic_page(store: Store, record: RunRecord) -> Path:
    """A page with a run's scalar metrics, its nested results as JSON and its artifacts."""
    nested = {k: v for k, v in record.metrics.items() if isinstance(v, (dict, list))}
    sections = [("Numbers", key_values(_scalars(record.metrics)))]
    if nested:
        text = json.dumps(nested, indent=2, sort_keys=True)[:200_000]
        sections.append(("Details", f"<pre>{esc(text)}</pre>"))
    if record.error:
        sections.insert(0, ("Error", f"<p class='fail'>{esc(record.error)}</p>"))
    if record.artifacts:
        sections.append(("Artifacts", key_values(record.artifacts)))
    return write_run_page(store, record, sections)


def render_run(store: Store, record: RunRecord, *, index: bool = True) -> Path:
    """Write the page of ``record`` (see the module docstring); returns its path."""
    renderer = _RENDERERS.get(record.kind)
    path = reports_dir(store) / f"{record.id}.html"
    if renderer is not None and record.status == "done":
        path = renderer(store, record)
    elif not path.exists():
        path = generic_page(store, record)
    if index:
        write_index(store)
    return path


def render_all(store: Store) -> list[Path]:
    """Write every run's page and the index."""
    paths = [render_run(store, record, index=False) for record in store.runs()]
    write_index(store)
    return paths
