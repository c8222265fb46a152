"""Report pages on disk: one per run, plus an index of all runs in a store."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

from occamlab.report.html import esc, key_values, page, table
from occamlab.store import RunRecord, Store


def environment() -> dict[str, str]:
    """Versions and machine facts printed on every page."""
    import numpy
    import torch

    from occamlab import __version__

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
    spec = f"<pre>{esc(json.dumps(record.spec, indent=2, sort_keys=True))}</pre>"
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


def write_index(store: Store) -> Path:
    """Write ``reports/index.html`` listing every run, linking the runs that have pages."""
    out = reports_dir(store)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for record in store.runs():
        has_page = (out / f"{record.id}.html").exists()
        link = (
            f"<a href='{esc(record.id)}.html'>{esc(record.id)}</a>" if has_page else esc(record.id)
        )
        rows.append(
            "<tr>"
            f"<td>{link}</td><td>{esc(record.kind)}</td><td>{esc(record.name)}</td>"
            f"<td>{esc(record.status)}</td>"
            f"<td>{esc(time.strftime('%Y-%m-%d %H:%M', time.localtime(record.updated)))}</td>"
            "</tr>"
        )
    listing = (
        "<table><thead><tr><th>run</th><th>kind</th><th>name</th><th>status</th><th>updated</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else table([])
    )
    path = out / "index.html"
    path.write_text(page("occamlab runs", [("Runs", listing)]), encoding="utf-8")
    return path
