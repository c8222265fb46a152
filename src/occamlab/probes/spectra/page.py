"""The report page of a weight-spectra run (``occam probe spectra``): model averages, one row
per layer, the densities with their fits, then the fit details."""

from typing import Any

from occamlab.report.html import figure, key_values, table
from occamlab.report.render import probe_renderer


def spectra_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    from occamlab.probes.spectra.results import layer_row

    return [layer_row(layer) for layer in result["layers"]]


def _esd_figure(result: dict[str, Any]) -> str:
    from occamlab.probes.spectra.plots import plot_layers

    fig = plot_layers(result["layers"])
    return figure(fig, alt="ESD of every layer with its power-law fit")


def spectra_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    averages = {
        f"{k} (mean of {result['averaged_over'][k]} layers)": v
        for k, v in result["averages"].items()
    }
    notes = [
        {"layer": layer["name"], "note": note}
        for layer in result["layers"]
        for note in layer["notes"]
    ]
    details = [
        {
            "layer": layer["name"],
            "method": layer["method"],
            "matrices": layer["num_matrices"],
            "N×M": f"{layer['n']}×{layer['m']}",
            "α interval": layer["alpha_interval"],
            "interval": layer["interval_method"],
            "p (goodness of fit)": layer["p_value"],
            "vs exponential / log-normal": ", ".join(
                f"{c['favours']} (p={c['p_value']:.2g})" for c in layer["comparisons"]
            ),
        }
        for layer in result["layers"]
    ]
    return [
        ("Model averages", key_values(averages)),
        ("Per layer", table(spectra_rows(result))),
        ("Empirical spectral densities", _esd_figure(result)),
        ("Fit details", table(details)),
        ("Notes", table(notes) if notes else "<p>none</p>"),
    ]


render_spectra = probe_renderer("spectra", spectra_sections)
