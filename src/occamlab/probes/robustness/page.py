"""The report page of a robustness probe run (``occam probe robustness``)."""

from typing import Any

from occamlab.report.html import key_values, table
from occamlab.report.render import probe_renderer

_KEYS = ("norm", "steps", "random_start", "split", "n", "seconds")


def robustness_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        {"eps": e, "accuracy": a} for e, a in zip(result["eps"], result["accuracy"], strict=True)
    ]
    return [
        ("Accuracy under PGD", table(rows, ["eps", "accuracy"])),
        ("Attack", key_values({k: result[k] for k in _KEYS})),
    ]


render_robustness = probe_renderer("robustness", robustness_sections)
