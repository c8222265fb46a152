"""The HTML page of an experiment run: claims first, then figures, tables and numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from occamlab.experiments.registry import EXPERIMENTS
from occamlab.report.html import esc, key_values, table
from occamlab.report.pages import figure_sections, write_run_page
from occamlab.report.render import register_renderer
from occamlab.store import RunRecord, Store


def _number(value: float | None) -> str:
    if value is None or abs(value) == float("inf"):  # one seed: the interval is unbounded
        return "∞" if value is not None and value > 0 else "?"
    return f"{value:.4g}"


def claim_test_summary(test: dict[str, Any]) -> str:
    """ "estimate [low, high], p (Holm), seeds" of a stored claim test, in plain text."""
    low, high = test["interval"]
    p = test["p_adjusted"] if test.get("p_adjusted") is not None else test["p_value"]
    q = test.get("p_against_adjusted")
    q = test["p_against"] if q is None else q
    text = (
        f"{_number(test['estimate'])} [{_number(low)}, {_number(high)}], p {p:.3g} "
        f"(against: {q:.3g}; Holm), {test['seeds']} "
        + ("runs" if test["method"] == "slope t-test" else "seeds")
    )
    needed = test.get("seeds_needed")
    if needed and test["decision"] == "inconclusive":
        text += f", about {needed} would decide"
    return text


def _test_cell(test: dict[str, Any] | None) -> str:
    """The hypothesis and its test, the summary, and each seed's value."""
    if not test:
        return "<td>—</td>"
    points = "; ".join(
        f"{name}: " + ", ".join(f"{v:.4g}" for v in values)
        for name, values in test["points"].items()
    )
    return (
        f"<td>{esc(test['hypothesis'])} ({esc(test['method'])}): {esc(claim_test_summary(test))}"
        f"<br><small>{esc(points)}</small></td>"
    )


def claim_decision(claim: dict[str, Any]) -> str:
    """A stored claim's decision (runs stored before claims had tests carry only ``passed``)."""
    return claim.get("decision") or ("passed" if claim["passed"] else "failed")


def claims_table(claims: list[dict[str, Any]]) -> str:
    """Claims with their decision, the test behind it, the evidence and the source (all text
    escaped)."""
    if not claims:
        return "<p><em>this experiment states no claims</em></p>"
    rows = []
    for c in claims:
        decision = claim_decision(c)
        verdict = {"passed": "pass", "failed": "fail"}.get(decision, "inconclusive")
        rows.append(
            f"<tr><td>{esc(c['statement'])}</td><td class='{verdict}'>{verdict}</td>"
            f"{_test_cell(c.get('test'))}"
            f"<td>{esc(c['evidence'])}</td><td>{esc(c.get('source', ''))}</td></tr>"
        )
    head = (
        "<tr><th>claim</th><th>verdict</th><th>test: estimate [interval]</th><th>evidence</th>"
        "<th>source</th></tr>"
    )
    return f"<table class='claims'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def claim_counts(claims: list[dict[str, Any]]) -> str:
    """ "k of n claims hold" (with the inconclusive ones counted apart)."""
    passed = sum(bool(c["passed"]) for c in claims)
    open_ = sum(c.get("decision") == "inconclusive" for c in claims)
    text = f"{passed} of {len(claims)} claims hold in this run"
    return text + (f" ({open_} inconclusive: more seeds needed)" if open_ else "")


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
    about = (
        f"<p>{esc(cls.summary)}</p><p>Reproduces: {esc(cls.paper)}.</p>"
        f"<p>{esc(claim_counts(m.get('claims', [])))}.</p>"
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
