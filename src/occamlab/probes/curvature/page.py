"""The report page of a Hessian probe run (``occam probe hessian``): summary, eigenvalues,
spectral density and per-layer curvature."""

from typing import Any

from occamlab.report.html import figure, key_values, table
from occamlab.report.render import probe_renderer


def hessian_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        {"i": i + 1, "eigenvalue": v, "relative residual": r}
        for i, (v, r) in enumerate(
            zip(result["eigenvalues"], result["relative_residuals"], strict=True)
        )
    ]
    summary = {
        "λ_max": result["lambda_max"],
        "2/λ_max (largest stable GD step)": result["max_stable_lr"],
        "trace": result["trace"],
        "trace standard error": result["trace_standard_error"],
        "trace method": result["trace_method"],
        "converged": result["converged"],
        "matrix-vector products (eigen / trace)": f"{result['eigen_matvecs']} / "
        f"{result['trace_matvecs']}",
        "evaluated in eval mode": result["operator"]["eval_mode"],
        "examples": result["operator"]["num_examples"],
    }
    sections = [("Summary", key_values(summary)), ("Eigenvalues", table(rows))]
    if result.get("density"):
        sections.append(("Spectral density", _density_figure(result)))
    if result.get("layers"):
        sections.append(("Per layer", table(result["layers"])))
    return sections


def _density_figure(result: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 3.4))
    nodes = np.asarray(result["density"]["nodes"], dtype=float)
    weights = np.asarray(result["density"]["weights"], dtype=float)
    span = max(nodes.max() - nodes.min(), 1e-12)
    grid = np.linspace(nodes.min() - 0.05 * span, nodes.max() + 0.05 * span, 600)
    sigma = span / 200
    dens = (weights[None, :] * np.exp(-0.5 * ((grid[:, None] - nodes[None, :]) / sigma) ** 2)).sum(
        1
    )
    dens /= sigma * np.sqrt(2 * np.pi)
    ax.semilogy(grid, np.maximum(dens, 1e-12))
    for value in result["eigenvalues"]:
        ax.axvline(value, color="tab:red", alpha=0.4, lw=1)
    ax.set(
        xlabel="eigenvalue",
        ylabel="density (log)",
        ylim=(1e-6, None),
        title="SLQ spectral density (red: computed top eigenvalues)",
    )
    return figure(fig, alt="spectral density")


render_hessian = probe_renderer("hessian", hessian_sections)
