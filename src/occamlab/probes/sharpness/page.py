"""The report page of a sharpness probe run (``occam probe sharpness``): one row per measure."""

from typing import Any

from occamlab.report.html import table
from occamlab.report.render import probe_renderer


def sharpness_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        {"measure": "λ_max", "value": result["lambda_max"], "note": "top Hessian eigenvalue"},
        {"measure": "2/λ_max", "value": result["max_stable_lr"], "note": "largest stable GD step"},
        {
            "measure": "trace",
            "value": result["hessian_trace"],
            "note": result["hessian_trace_method"],
        },
    ]
    for key in (
        "keskar",
        "keskar_half_epsilon",
        "keskar_subspace",
        "adaptive",
        "filter_normalized",
    ):
        if key in result:
            r = result[key]
            rows.append({"measure": key, "value": r["sharpness"], "note": r.get("optimizer", "")})
    pb = result["pacbayes"]
    rows.append({"measure": "PAC-Bayes σ", "value": pb["sigma"], "note": "Jiang et al. 2019"})
    return [("Sharpness", table(rows, ["measure", "value", "note"]))]


render_sharpness = probe_renderer("sharpness", sharpness_sections)
