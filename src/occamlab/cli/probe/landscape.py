"""``occam probe landscape``: a filter-normalized loss-landscape picture of a subject, stored as a
run whose page shows the contour plot, the 3-D surface and the numbers behind them."""

import json
from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.subject import SubjectChoice, resolve_subject, subject_options
from occamlab.probes.landscape.page import render_landscape
from occamlab.probes.landscape.surface import LandscapeSpec
from occamlab.specs import spec_to_dict
from occamlab.store import Store


def _line_from_init(runs: Store, source: dict[str, Any], subject, options: LandscapeSpec):
    """The straight line from the initial weights to the trained ones (Goodfellow et al. 2015),
    when the subject was trained by a stored run that kept its initialization."""
    from occamlab.probes.connectivity import interpolate
    from occamlab.weights import load_weights

    run_id = source.get("train_run")
    if run_id is None:
        return None
    record = runs.get(run_id)
    if "init" not in record.artifacts:
        return None
    init = load_weights(runs.root / record.artifacts["init"])
    final = subject.params()
    start = {k: init[k].to(final[k]) for k in final}
    path = interpolate(
        subject,
        start,
        final,
        num_points=21,
        limit=options.limit or None,
        reestimate_bn=options.reestimate_bn,
    )
    return path.to_dict()


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe landscape`` to the probe group."""
    store_opt, json_opt = kit.store_opt, kit.json_opt  # evaluated now: Typer reads annotations

    @kit.command(on=probe_app, name="landscape")
    @spec_options(LandscapeSpec, param="options")
    @subject_options()
    def landscape(
        options: LandscapeSpec,
        choice: SubjectChoice,
        store: store_opt = kit.default_store,
        as_json: json_opt = False,
    ) -> None:
        """Loss landscape: a filter-normalized plane (or line) through the trained weights."""
        from occamlab.probes.landscape.surface import landscape_plane

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)
        subject = resolved.subject
        run_spec = {
            "source": resolved.source,
            "subject": subject.describe(),
            "options": spec_to_dict(options),
        }
        with runs.run("probe/landscape", run_spec, name=f"landscape · {subject.name}") as run:
            if not run.reused:
                surface = landscape_plane(subject, spec=options, progress=not as_json)
                numbers = surface.to_dict()
                path = run.directory / "surface.json"
                path.write_text(json.dumps(numbers) + "\n", encoding="utf-8")
                run.add_artifact("surface", path.relative_to(runs.root))
                run.metrics.update(numbers)
                line = _line_from_init(runs, resolved.source, subject, options)
                if line is not None:
                    run.metrics["init_line"] = line
        page = render_landscape(runs, run.record)
        result = {"id": run.id, "reused": run.reused, "report": str(page), **run.metrics}

        def human() -> None:
            center = result["at_center"]
            grid = " × ".join(str(len(a)) for a in result["axes"])
            kit.out.print(
                f"{grid} {result['directions']['kind']} grid · train loss at the trained point "
                f"{center['train_loss']:.5g} · {result['local_minima']} local minima on the grid"
            )
            kit.out.print(f"report: {result['report']}")

        kit.emit(as_json, result, human)
