"""``occam probe spectra`` and ``occam probe similarity``: what the parameters and features say."""

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_probe import probe_renderer, stored_probe
from occamlab.cli_subject import SubjectChoice, resolve_subject, subject_options
from occamlab.probes.representations.similarity import SimilaritySpec
from occamlab.probes.spectra.probe import SpectraSpec
from occamlab.report import figure, key_values, table
from occamlab.store import Store


def _spectra_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
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
        ("Per layer", table(_spectra_rows(result))),
        ("Empirical spectral densities", _esd_figure(result)),
        ("Fit details", table(details)),
        ("Notes", table(notes) if notes else "<p>none</p>"),
    ]


def similarity_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    from occamlab.probes.representations.plots import draw_similarity

    spec = result["spec"]
    fig = draw_similarity(
        layers_a=result["layers_a"],
        layers_b=result["layers_b"],
        cka=result["cka"],
        procrustes=result["procrustes"],
        estimator=spec["estimator"],
        cross_model=result["ranks_b"] is not None,
    )
    ranks = [
        {"model": "a", "layer": n, **r}
        for n, r in zip(result["layers_a"], result["ranks_a"], strict=True)
    ]
    for name, r in zip(result["layers_b"], result["ranks_b"] or [], strict=False):
        ranks.append({"model": "b", "layer": name, **r})
    cka_rows = [
        {"layer": name, **dict(zip(result["layers_b"], row, strict=True))}
        for name, row in zip(result["layers_a"], result["cka"], strict=True)
    ]
    summary = {
        "examples": result["num_examples"],
        "split": spec["split"],
        "CKA estimator": spec["estimator"],
        "compared": "two models" if result["ranks_b"] is not None else "one model with itself",
    }
    return [
        ("Summary", key_values(summary)),
        ("Heatmaps", figure(fig, alt="layer-by-layer CKA and Procrustes heatmaps")),
        ("CKA", table(cka_rows)),
        ("Effective rank of each layer", table(ranks)),
    ]


def _other_choice(
    choice: SubjectChoice,
    *,
    seed: int | None,
    model_opt: list[str] | None,
    weights: Path | None,
    subject: str | None,
) -> SubjectChoice | None:
    """The second subject: the first one's flags with the --other-* overrides (None if none)."""
    if seed is None and not model_opt and weights is None and subject is None:
        return None
    if subject is not None:  # your own function: none of the first subject's registry flags
        return SubjectChoice(subject=subject, weights=weights)
    return dataclasses.replace(
        choice,
        subject=None,
        init_seed=choice.init_seed if seed is None else seed,
        model_opt=choice.model_opt + tuple(model_opt or ()),  # later KEY=VALUE wins
        weights=weights,
        init_weights=None,
        recipe_file=None if weights is not None else choice.recipe_file,
    )


@dataclasses.dataclass(frozen=True)
class _SimilarityRun:
    """What identifies a similarity run: the options and the second subject's flags."""

    options: SimilaritySpec
    other: str


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe spectra`` and ``occam probe similarity`` to the probe group."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store
    probe_renderer("spectra", spectra_sections)
    probe_renderer("similarity", similarity_sections)

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
            for row in _spectra_rows(result):
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

    @command(on=probe_app, name="similarity")
    @spec_options(SimilaritySpec, param="options")
    @subject_options()
    def similarity(
        options: SimilaritySpec,
        choice: SubjectChoice,
        other_init_seed: Annotated[
            int | None, typer.Option(help="Compare with the same model from this init seed.")
        ] = None,
        other_model_opt: Annotated[
            list[str] | None,
            typer.Option(
                help="Compare with the model with these options changed (KEY=VALUE, repeatable)."
            ),
        ] = None,
        other_weights: Annotated[
            Path | None,
            typer.Option(help="Compare with these weights (another seed or training stage)."),
        ] = None,
        other_subject: Annotated[
            str | None, typer.Option(help="Compare with your own subject (module:function).")
        ] = None,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Layer-by-layer CKA and Procrustes heatmaps (one model, or two) and effective ranks."""
        import json

        from occamlab.probes.representations import layer_similarity

        runs = Store(store)
        other_choice = _other_choice(
            choice,
            seed=other_init_seed,
            model_opt=other_model_opt,
            weights=other_weights,
            subject=other_subject,
        )
        # The second subject is resolved first, so the run is keyed by its contents too.
        other = (
            None
            if other_choice is None
            else resolve_subject(other_choice, runs, progress=not as_json)
        )
        described = {} if other is None else other.source

        def compute(subject) -> dict[str, Any]:
            return layer_similarity(
                subject, None if other is None else other.subject, spec=options
            ).to_dict()

        result = stored_probe(
            "similarity",
            choice,
            _SimilarityRun(options, json.dumps(described, sort_keys=True)),
            runs,
            progress=not as_json,
            compute=compute,
            sections=similarity_sections,
        )

        def human() -> None:
            layers_b = result["layers_b"]
            for name, row in zip(result["layers_a"], result["cka"], strict=True):
                values = " ".join("  —  " if v is None else f"{v:5.2f}" for v in row)
                out.print(f"{name:>16}  {values}")
            out.print(f"columns: {', '.join(layers_b)} · CKA ({options.estimator})")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
