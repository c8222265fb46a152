"""The report page of a generalization-measures run (``occam probe measures``)."""

from typing import Any

from occamlab.report.html import esc, key_values, table
from occamlab.report.render import probe_renderer


def measures_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    catalog = result["catalog"]
    rows = [
        {
            "measure": name,
            "family": catalog[name]["family"],
            "value": value,
            "definition": catalog[name]["definition"],
        }
        for name, value in result["values"].items()
    ]
    summary = {
        "train error": result["train_error"],
        "test error": result["test_error"],
        "generalization gap": result["generalization_gap"],
        "evaluated in eval mode": result["eval_mode"],
    }
    sections = [
        ("Generalization", key_values(summary)),
        ("Measures (Jiang et al. 2019)", table(rows)),
        ("Ingredients", key_values(result["ingredients"])),
        ("Seconds per family", key_values(result["seconds"])),
    ]
    if result.get("notes"):
        sections.append(("Not measured", "".join(f"<p>{esc(n)}</p>" for n in result["notes"])))
    return sections


render_measures = probe_renderer("measures", measures_sections)
