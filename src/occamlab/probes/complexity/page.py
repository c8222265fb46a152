"""The report page of a functional-complexity probe run (``occam probe complexity``)."""

from typing import Any

from occamlab.report.html import key_values, table
from occamlab.report.render import probe_renderer

_KEYS = (
    "features_used",
    "num_features",
    "interaction_strength",
    "main_effect_complexity",
    "output",
    "outputs",
    "n",
    "split",
    "bins",
    "epsilon",
    "max_segments",
    "seconds",
)


def complexity_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    sections = [("Measures", key_values({k: result[k] for k in _KEYS if k in result}))]
    rows = [
        {"feature": c["feature"], "variance V_j": c["variance"], "MEC_j": c["complexity"]}
        for c in result["curves"]
    ]
    if rows:
        sections.append(
            ("Strongest main effects", table(rows, ["feature", "variance V_j", "MEC_j"]))
        )
    names = [f"x{j}" for j in result["h_features"]]
    if names:
        h_rows = [
            {"": name, **{n: v for n, v in zip(names, row, strict=True)}}
            for name, row in zip(names, result["h2"], strict=True)
        ]
        sections.append((f"Friedman's H² (n={result['h_n']})", table(h_rows, ["", *names])))
    return sections


render_complexity = probe_renderer("complexity", complexity_sections)
