"""Report pages on disk: one per run, plus an index of all runs in a store."""

from __future__ import annotations

import json
import platform
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from occamlab.report.html import COLLAPSE_ROWS, details, esc, key_values, page, png, table
from occamlab.store import RunHandle, RunRecord, Store


def environment() -> dict[str, str]:
    """Versions and machine facts printed on every page."""
    import numpy
    import torch

    from occamlab.version import __version__

    return {
        "occamlab": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": "cpu",
        "torch threads": str(torch.get_num_threads()),
    }


def reports_dir(store: Store) -> Path:
    return store.root / "reports"


def save_run_figures(store: Store, run: RunHandle, figures: Mapping[str, Any]) -> dict[str, str]:
    """Save each figure (a matplotlib figure, or PNG bytes) as a PNG artifact of ``run``.

    Returns ``{title: path relative to the store}``, what ``figure_sections`` reads back; the
    artifacts are keyed ``figure: <title>``. Each file is written whole or not at all.
    """
    saved: dict[str, str] = {}
    for title, fig in figures.items():
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "figure"
        path = run.directory / f"figure-{slug}.png"
        if str(path.relative_to(store.root)) in saved.values():  # titles alike up to case
            path = run.directory / f"figure-{slug}-{len(saved)}.png"
        tmp = path.with_suffix(".tmp.png")
        if isinstance(fig, bytes):
            tmp.write_bytes(fig)
        else:
            import matplotlib.pyplot as plt

            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
            plt.close(fig)
        tmp.replace(path)
        saved[title] = str(path.relative_to(store.root))
        run.add_artifact(f"figure: {title}", saved[title])
    return saved


def figure_sections(store: Store, figures: Mapping[str, str]) -> list[tuple[str, str]]:
    """Page sections embedding the PNGs that ``save_run_figures`` stored (missing ones skipped)."""
    sections = []
    for title, rel in figures.items():
        path = store.root / rel
        if path.exists():
            sections.append((title, png(path.read_bytes(), alt=title)))
    return sections


def write_run_page(
    store: Store,
    record: RunRecord,
    sections: Sequence[tuple[str, str]],
    *,
    title: str | None = None,
) -> Path:
    """Write ``reports/<run id>.html`` with ``sections``, the spec and the environment."""
    out = reports_dir(store)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record.spec, indent=2, sort_keys=True)
    spec = f"<pre>{esc(text)}</pre>"
    if text.count("\n") > COLLAPSE_ROWS:
        spec = details("the run's spec (JSON)", spec)
    body = [
        *sections,
        ("Spec", spec),
        ("Environment", key_values(environment())),
    ]
    subtitle = f"run {record.id} · {record.kind} · {record.status} · " + time.strftime(
        "%Y-%m-%d %H:%M", time.localtime(record.updated)
    )
    path = out / f"{record.id}.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page(title or record.name, body, subtitle=subtitle), encoding="utf-8")
    tmp.replace(path)
    write_index(store)
    return path


_FILTER_JS = """
<script>
function occamFilter() {
  const text = document.getElementById('q').value.toLowerCase();
  const kind = document.getElementById('kind').value;
  const status = document.getElementById('status').value;
  let shown = 0;
  for (const row of document.querySelectorAll('#runs tbody tr')) {
    const ok = (!kind || row.dataset.kind === kind) && (!status || row.dataset.status === status)
      && (!text || row.textContent.toLowerCase().includes(text));
    row.style.display = ok ? '' : 'none';
    shown += ok ? 1 : 0;
  }
  document.getElementById('shown').textContent = shown;
}
</script>
"""


def _headline(record: RunRecord) -> str:
    """One number worth seeing in the index: claims passed, test accuracy or λ_max."""
    m = record.metrics
    if "claims" in m:
        claims = m["claims"]
        return f"{sum(bool(c['passed']) for c in claims)}/{len(claims)} claims"
    for key, label in (("test_accuracy", "test acc"), ("lambda_max", "λ_max")):
        value = m.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{label} {value:.4g}"
    test = m.get("test")
    if isinstance(test, dict) and isinstance(test.get("accuracy"), float):
        return f"test acc {test['accuracy']:.4g}"
    return ""


def write_index(store: Store) -> Path:
    """Write ``reports/index.html``: every run (linked where it has a page), with filters by
    kind, status and text that work offline (inline script, no network)."""
    out = reports_dir(store)
    out.mkdir(parents=True, exist_ok=True)
    records = store.runs()
    rows = []
    for record in records:
        has_page = (out / f"{record.id}.html").exists()
        link = (
            f"<a href='{esc(record.id)}.html'>{esc(record.id)}</a>" if has_page else esc(record.id)
        )
        rows.append(
            f"<tr data-kind='{esc(record.kind)}' data-status='{esc(record.status)}'>"
            f"<td>{link}</td><td>{esc(record.kind)}</td><td>{esc(record.name)}</td>"
            f"<td>{esc(record.status)}</td><td>{esc(_headline(record))}</td>"
            f"<td>{esc(time.strftime('%Y-%m-%d %H:%M', time.localtime(record.updated)))}</td>"
            "</tr>"
        )

    def options(values: list[str]) -> str:
        return "".join(f"<option value='{esc(v)}'>{esc(v)}</option>" for v in sorted(set(values)))

    controls = (
        "<p><input id='q' type='search' placeholder='filter text' oninput='occamFilter()'> "
        "<select id='kind' onchange='occamFilter()'><option value=''>all kinds</option>"
        f"{options([r.kind for r in records])}</select> "
        "<select id='status' onchange='occamFilter()'><option value=''>any status</option>"
        f"{options([r.status for r in records])}</select> "
        f"<span id='shown'>{len(records)}</span> of {len(records)} runs</p>"
    )
    listing = (
        controls + "<table id='runs'><thead><tr><th>run</th><th>kind</th><th>name</th>"
        "<th>status</th><th>result</th><th>updated</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>" + _FILTER_JS
        if rows
        else table([])
    )
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page("occamlab runs", [("Runs", listing)]), encoding="utf-8")
    tmp.replace(path)
    return path
