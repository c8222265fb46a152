"""The report page of an embedding probe run (``occam probe embedding``): each layer's numbers
and, as stored figures, the maps by layer and along training."""

from typing import Any

from occamlab.report.html import key_values, table
from occamlab.report.render import probe_renderer

_COLUMNS = ["layer", "epoch", "features", "knn_accuracy", "trustworthiness"]


def _rows(maps: list[dict[str, Any]], *, trajectory: bool) -> list[dict[str, Any]]:
    rows = []
    for m in maps:
        row = {k: m[k] for k in _COLUMNS if trajectory or k != "epoch"}
        if m["eigenvalues"] is not None:
            row["eigenvalues"] = ", ".join(f"{v:.4g}" for v in m["eigenvalues"])
        if trajectory:
            row["procrustes_to_previous"] = m["procrustes_to_previous"]
        rows.append(row)
    return rows


def embedding_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    spec = result["spec"]
    summary = {
        "method": spec["method"],
        "examples": result["n"],
        "split": spec["split"],
        "seed": spec["seed"],
        "labels": "classes" if result["classification"] else "regression target",
        "seconds": result["seconds"],
    }
    if spec["method"] == "diffusion":
        summary.update(alpha=spec["alpha"], kernel=spec["kernel"], bandwidth=spec["bandwidth"])
    sections = [
        ("Summary", key_values(summary)),
        ("Maps by layer", table(_rows(result["maps"], trajectory=False))),
    ]
    if result["trajectory"]:
        sections.append(
            ("Maps along training", table(_rows(result["trajectory"], trajectory=True)))
        )
    return sections


render_embedding = probe_renderer("embedding", embedding_sections)
