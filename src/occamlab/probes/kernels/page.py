"""The report page of an NTK probe run (``occam probe ntk``); its picture follows, stored."""

from typing import Any

from occamlab.report.html import key_values
from occamlab.report.render import probe_renderer


def ntk_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    summary = {
        "method (cost model)": result["plan"]["method"],
        "estimated seconds per method": result["plan"]["estimated_seconds"],
        "inputs": result["num_inputs"],
        "λ_max": result["lambda_max"],
        "condition number": result["condition_number"],
        "effective rank (trace/λ_max)": result["effective_rank"],
        "label alignment (centered)": result["label_alignment"],
        "evaluated in eval mode": True,
        "seconds": result["seconds"],
    }
    parts = [("Summary", key_values(summary))]
    if result["regression"]:
        parts.append(("Kernel regression vs the network", key_values(result["regression"])))
    return parts


render_ntk = probe_renderer("ntk", ntk_sections)
