"""``occam probe embedding``: 2-D maps of each layer's representations (diffusion maps, PCA,
Isomap, t-SNE or UMAP), coloured by label, and with ``--epochs`` the same maps along a
retraining. The pictures are stored as PNG artifacts of the run."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.embedding.page import embedding_sections
from occamlab.probes.embedding.probe import EmbeddingSpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe embedding``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="embedding")
    @spec_options(EmbeddingSpec, param="options")
    @subject_options()
    def embedding(
        options: EmbeddingSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Maps of each layer's representations (diffusion maps, PCA, Isomap, t-SNE, UMAP)."""
        from occamlab.probes.embedding.probe import embedding_probe

        def compute(subject) -> dict[str, Any]:
            report = embedding_probe(subject, spec=options)
            figures = {"Maps by layer": report.plot()}
            if report.trajectory:
                figures["Maps along training"] = report.plot_trajectory()
            return {**report.to_dict(), "figures": figures}

        result = stored_probe(
            "embedding",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=embedding_sections,
        )

        def human() -> None:
            spec = result["spec"]
            out.print(f"{spec['method']} maps of {result['n']} {spec['split']} examples")
            for m in result["maps"] + result["trajectory"]:
                when = "" if m["epoch"] is None else f" (epoch {m['epoch']})"
                acc = (
                    "" if m["knn_accuracy"] is None else f"5-NN accuracy {m['knn_accuracy']:.3f}, "
                )
                out.print(f"{m['layer']}{when}: {acc}trustworthiness {m['trustworthiness']:.3f}")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
