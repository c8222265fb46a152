"""``occam probe spectra``: the weight spectra of every Linear/Conv layer."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.spectra.page import spectra_rows, spectra_sections
from occamlab.probes.spectra.probe import SpectraSpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe spectra``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="spectra")
    @spec_options(SpectraSpec, param="options")
    @subject_options()
    def spectra(
        options: SpectraSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Weight spectra of every Linear/Conv layer: α, α̂, norms, stable rank, MP spikes."""
        from occamlab.probes.spectra import weight_spectra

        def compute(subject) -> dict[str, Any]:
            return weight_spectra(subject, spec=options).to_dict(include_eigenvalues=True)

        result = stored_probe(
            "spectra",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=spectra_sections,
        )
        payload = {
            **result,
            "layers": [
                {k: v for k, v in layer.items() if k != "eigenvalues"} for layer in result["layers"]
            ],
        }

        def human() -> None:
            from rich.table import Table

            grid = Table(title="weight spectra")
            columns = ["layer", "shape", "alpha", "alpha_weighted", "stable_rank", "spikes"]
            for column in columns:
                grid.add_column(column)
            for row in spectra_rows(result):
                grid.add_row(
                    *(
                        "—"
                        if row[c] is None
                        else (f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]))
                        for c in columns
                    )
                )
            out.print(grid)
            avg = result["averages"]
            out.print(
                "model averages: "
                + " · ".join(
                    f"{k} {avg[k]:.4g}"
                    for k in ("alpha", "alpha_weighted", "log_spectral_norm", "stable_rank")
                    if avg.get(k) is not None
                )
            )
            out.print(f"report: {result['report']}")

        emit(as_json, payload, human)
