"""The report page of a layer-similarity run (``occam probe similarity``): CKA and Procrustes
heatmaps, the CKA numbers and each layer's effective rank."""

from typing import Any

from occamlab.report.html import figure, key_values, table
from occamlab.report.render import probe_renderer


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


render_similarity = probe_renderer("similarity", similarity_sections)
