"""The HTML page of an experiment run: claims first, then figures, tables and numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from occamlab.experiments.registry import EXPERIMENTS
from occamlab.report.html import esc, key_values, table
from occamlab.report.pages import figure_sections, write_run_page
from occamlab.report.render import register_renderer
from occamlab.store import RunRecord, Store


def claims_table(claims: list[dict[str, Any]]) -> str:
    """Claims with a pass/fail verdict, the evidence and the source (all text escaped)."""
    if not claims:
        return "<p><em>this experiment states no claims</em></p>"
    rows = []
    for c in claims:
        verdict = "pass" if c["passed"] else "fail"
        rows.append(
            f"<tr><td>{esc(c['statement'])}</td><td class='{verdict}'>{verdict}</td>"
            f"<td>{esc(c['evidence'])}</td><td>{esc(c.get('source', ''))}</td></tr>"
        )
    head = "<tr><th>claim</th><th>verdict</th><th>evidence</th><th>source</th></tr>"
    return f"<table class='claims'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _scalars(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_scalars(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            out[f"{prefix}{key}"] = value
    return out


def write_experiment_page(store: Store, record: RunRecord, spec: Any) -> Path:
    """Write ``reports/<run id>.html`` for a finished experiment run."""
    m = record.metrics
    cls = type(spec)
    passed = sum(bool(c["passed"]) for c in m.get("claims", []))
    about = (
        f"<p>{esc(cls.summary)}</p><p>Reproduces: {esc(cls.paper)}.</p>"
        f"<p>{passed} of {len(m.get('claims', []))} claims hold in this run.</p>"
    )
    sections = [("About", about), ("Claims", claims_table(m.get("claims", [])))]
    sections += figure_sections(store, m.get("figures", {}))
    for title, rows in m.get("tables", {}).items():
        sections.append((title, table(rows)))
    scalars = _scalars(m.get("metrics", {}))
    if scalars:
        sections.append(("Numbers", key_values(scalars)))
    parts = m.get("parts", {})
    seconds = m.get("seconds")
    if seconds is not None:
        note = f"{seconds:.1f} s; parts computed {parts.get('computed', 0)}, reused "
        sections.append(("Run", f"<p>{esc(note + str(parts.get('reused', 0)))}</p>"))
    return write_run_page(store, record, sections, title=f"{cls.name}: {cls.paper}")


@register_renderer("experiment")
def render_experiment(store: Store, record: RunRecord) -> Path:
    """Rewrite an experiment's page from its stored record."""
    from occamlab.specs import make_spec

    fields = {k: v for k, v in record.spec.items() if k != "name"}
    return write_experiment_page(
        store, record, make_spec(EXPERIMENTS.get(record.spec["name"]), fields)
    )
