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


def _scale(values: list[float], left: float, right: float):
    """A map of ``values``' range (padded by 5%) onto the pixels [left, right]."""
    low, high = min(values), max(values)
    pad = 0.05 * (high - low) or max(abs(high), 1e-12) * 0.05
    low, high = low - pad, high + pad
    return lambda v: left + (right - left) * (v - low) / (high - low)


def claim_svg(test: dict[str, Any]) -> str:
    """A small picture of a claim's test: each seed's value as a dot, one row per condition
    (for a slope test, value against x), and below it the estimate with its interval against
    the margin (dashed) it must clear. Inline SVG, labels escaped."""
    width, left, right, row = 300, 92, 292, 16
    points = {k: [float(v) for v in vs] for k, vs in test["points"].items()}
    xs = points.pop("x", None) if test["method"] == "slope t-test" else None
    rows = [(name, values) for name, values in points.items() if values]
    parts: list[str] = []
    if xs is not None and rows:  # value against x: one scatter panel
        name, ys = rows[0]
        to_x, y_px = _scale(xs, left, right), _scale(ys, 4 + 3 * row, 4)
        parts.append(f"<text x='0' y='{2 * row}'>{esc(name)}</text>")
        parts += [
            f"<circle cx='{to_x(x):.1f}' cy='{y_px(y):.1f}' r='2.5'/>"
            for x, y in zip(xs, ys, strict=True)
        ]
        top = 4 + 4 * row
    elif not rows:  # a test without per-seed values (e.g. a bootstrap over units)
        top = row // 2
    else:
        to_x = _scale([v for _, vs in rows for v in vs], left, right)
        for i, (name, values) in enumerate(rows):
            y = row * (i + 1)
            parts.append(f"<text x='0' y='{y + 4}'>{esc(name[:14])}</text>")
            parts += [f"<circle cx='{to_x(v):.1f}' cy='{y}' r='2.5'/>" for v in values]
        top = row * (len(rows) + 1)
    # a stored interval is unbounded (None or ±inf) when nothing could be tested
    low, high = (
        None if v is None or abs(v) == float("inf") else float(v) for v in test["interval"]
    )
    to_e = _scale(
        [test["estimate"], test["margin"], *(v for v in (low, high) if v is not None)], left, right
    )
    y = top + row // 2
    a = left if low is None else max(to_e(low), left)
    b = right if high is None else min(to_e(high), right)
    parts += [
        f"<text x='0' y='{y + 4}'>effect</text>",
        f"<line x1='{to_e(test['margin']):.1f}' x2='{to_e(test['margin']):.1f}' y1='{top - 4}' "
        f"y2='{top + row + 4}' stroke='#b00' stroke-dasharray='3,2'/>",
        f"<line x1='{a:.1f}' x2='{b:.1f}' y1='{y}' y2='{y}' stroke='#333' stroke-width='2'/>",
        f"<circle cx='{to_e(test['estimate']):.1f}' cy='{y}' r='3.5' fill='#333'/>",
    ]
    height = top + row + 8
    body = "".join(parts).replace("<text ", "<text fill='#555' ")
    return (
        f"<svg class='claim-test' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='per-seed values and the "
        f"estimate against its margin' font-size='10' fill='#2a6fb0'>{body}</svg>"
    )


def _test_cell(test: dict[str, Any] | None) -> str:
    """The hypothesis and its test, the summary, each seed's value and a picture of them."""
    if not test:
        return "<td>—</td>"
    points = "; ".join(
        f"{name}: " + ", ".join(f"{v:.4g}" for v in values)
        for name, values in test["points"].items()
    )
    return (
        f"<td>{esc(test['hypothesis'])} ({esc(test['method'])}): {esc(claim_test_summary(test))}"
        f"<br>{claim_svg(test)}<br><small>{esc(points)}</small></td>"
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
