"""The report page of a bounds probe run (``occam probe bounds``): every bound next to the
test error, then each certificate's numbers."""

from typing import Any

from occamlab.report.html import figure, key_values, table
from occamlab.report.render import probe_renderer


def _bounds_figure(result: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.4))
    names = [r["bound"] for r in rows]
    values = [min(r["value"], 1.0) if r["value"] is not None else 1.0 for r in rows]
    colors = ["tab:blue" if r["kind"] == "certificate" else "tab:gray" for r in rows]
    ax.barh(names, values, color=colors)
    for i, r in enumerate(rows):
        v = r["value"]
        label = "> 1 (vacuous)" if v is None or v > 1 else f"{v:.3f}"
        ax.text(min(values[i], 1.0) + 0.01, i, label, va="center", fontsize=8)
    ax.axvline(result["test_error"], color="black", ls="--", label="network test error")
    ax.axvline(result["guessing_error"], color="tab:red", ls=":", label="guessing")
    ax.set(xlim=(0, 1.22), xlabel="error", title="Bounds next to the test error")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8)
    return figure(fig, alt="bounds next to the test error")


def bounds_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    columns = [
        "bound",
        "value",
        "kind",
        "certifies",
        "its_test_error",
        "network_test_error",
        "ratio_to_test_error",
        "non_vacuous",
        "seconds",
    ]
    sections = [
        ("Bounds next to the test error", table(result["rows"], columns)),
        ("Picture", _bounds_figure(result)),
    ]
    pb = result.get("pacbayes")
    if pb:
        keep = {k: v for k, v in pb.items() if k not in ("optimization", "prior_stds")}
        sections.append(("PAC-Bayes certificate", key_values(keep)))
        sections.append(
            (
                "PAC-Bayes prior scales",
                table([{"tensor": k, "prior std": v} for k, v in pb["prior_stds"].items()]),
            )
        )
    comp = result.get("compression")
    if comp:
        keep = {k: v for k, v in comp.items() if k not in ("settings", "bits_parts")}
        sections.append(("Compression bound", key_values(keep)))
        sections.append(("Description length (bits)", key_values(comp["bits_parts"])))
        sections.append(("Compression settings searched", table(comp["settings"])))
    sub = result.get("subspace")
    if sub:
        best = sub["compression"]
        keep = {
            "bound": sub["bound"],
            "certifies": sub["predictor"],
            "parameters": sub["num_parameters"],
            "origin": sub["origin"],
            "dimensions tried": sub["dims"],
            "coordinates coded": best["num_parameters"],
            "levels": best["num_levels"],
            "bits": best["bits"],
            "train error": best["train_error"],
            "test error": best["compressed_test_error"],
        }
        sections.append(("Subspace compression bound", key_values(keep)))
        sections.append(("Subspace dimensions tried", table(sub["rows"])))
    if result.get("norms"):
        sections.append(("Norm bounds (shapes, usually vacuous)", key_values(result["norms"])))
    sections.append(("Test-set bound", key_values(result["testset"])))
    if result.get("skipped"):
        sections.append(("Not computed", key_values(result["skipped"])))
    return sections


render_bounds = probe_renderer("bounds", bounds_sections)
