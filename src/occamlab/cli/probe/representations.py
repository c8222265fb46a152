"""``occam probe similarity``: layer-by-layer CKA and Procrustes similarity of one model, or of
two (the second given by ``--other-*`` flags), and each layer's effective rank."""

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe
from occamlab.cli.subject import SubjectChoice, resolve_subject, subject_options
from occamlab.probes.representations.page import similarity_sections
from occamlab.probes.representations.similarity import SimilaritySpec
from occamlab.store import Store


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
    """Add ``occam probe similarity``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

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
