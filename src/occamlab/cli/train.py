"""``occam train``: train a registry model on a dataset and record the run."""

from __future__ import annotations

from typing import Annotated

import typer

from occamlab.cli.app import JsonOpt, StoreOpt, command, emit, out, print_metrics
from occamlab.cli.options import spec_options
from occamlab.cli.subject import SubjectChoice, given_flags, subject_options
from occamlab.store import DEFAULT_STORE, Store
from occamlab.train import TrainSpec


@command()
@spec_options(TrainSpec, param="recipe")
@subject_options()
def train(
    recipe: TrainSpec,
    choice: SubjectChoice,
    store: StoreOpt = DEFAULT_STORE,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even if this spec is done.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a registry model on a dataset and record the run (reused if already done)."""
    from occamlab.runs import train_run

    given = given_flags(choice, ("subject", "weights", "init_weights", "recipe_file"))
    if given:
        raise ValueError(
            f"occam train builds and trains registry models; drop {', '.join(given)} (the recipe "
            "is given by the training flags, e.g. --optimizer adam --lr 0.001)"
        )
    model_spec, data_spec = choice.specs()
    trained = train_run(
        Store(store),
        model=model_spec,
        data=data_spec,
        train=recipe,
        seed=choice.seed,
        data_root=choice.data_root,
        progress=not as_json,
        force=force,
    )
    record = trained.record
    payload = {**record.to_dict(), "reused": trained.reused}
    payload["metrics"] = {k: v for k, v in record.metrics.items() if k != "history"}

    def human() -> None:
        note = " (reused: this spec was already trained)" if trained.reused else ""
        out.print(f"run [bold]{record.id}[/] {record.status}{note}")
        print_metrics(payload["metrics"])

    emit(as_json, payload, human)
