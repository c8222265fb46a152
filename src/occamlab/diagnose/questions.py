"""The four questions, each answered by probes and closed by one sentence computed from the
numbers (every clause of a sentence is chosen by a comparison of measured values, none is
canned).

1. :func:`simpler` — can it be simpler? The compression frontier and the smallest model within
   tolerance (:func:`~occamlab.probes.compression.simplify`), and simpler model families fitted
   on the same data (:func:`~occamlab.probes.baselines.baselines`).
2. :func:`essential` — is the over-parameterization essential? The subject's architecture
   retrained at other widths (seeds trained as one ensemble), against pruning the trained net.
3. :func:`bounds` — what error bound can I certify? Test-set, PAC-Bayes and compression bounds
   with the test error beside them (:func:`~occamlab.probes.bounds.error_bounds`).
4. :func:`parameters` — what do the parameters say? Weight spectra, Hessian spectrum and
   sharpness, a filter-normalized landscape plane, layer-wise CKA and effective ranks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from occamlab.jsonable import jsonable
from occamlab.subject import Params, Subject
from occamlab.train import UNKNOWN_RECIPE, TrainSpec

QUESTIONS = {
    "simpler": "Can it be simpler?",
    "essential": "Is the over-parameterization essential?",
    "bounds": "What error bound can I certify?",
    "parameters": "What do the parameters say?",
}

# WeightWatcher's reading of a layer's power-law exponent (Martin & Mahoney 2021, arXiv
# 2002.06716): 2 ≤ α ≤ 6 is the range of well-trained layers; α < 2 very heavy-tailed
# (over-fit or over-correlated); α > 6 close to random (under-trained).
ALPHA_RANGE = (2.0, 6.0)
MIN_EIGENVALUES = 50


@dataclass(frozen=True)
class Answer:
    """One question answered.

    Attributes:
        key: ``simpler``, ``essential``, ``bounds`` or ``parameters``.
        sentence: the plain-language conclusion, computed from ``numbers``.
        numbers: the numbers the sentence is computed from.
        results: the probes' own results (JSON-safe dicts), for the report's figures and tables.
        seconds: wall time of the probes.
    """

    key: str
    sentence: str
    numbers: dict[str, Any]
    results: dict[str, Any]
    seconds: float

    @property
    def question(self) -> str:
        return QUESTIONS[self.key]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "key": self.key,
                "question": self.question,
                "sentence": self.sentence,
                "numbers": self.numbers,
                "results": self.results,
                "seconds": self.seconds,
            }
        )


Log = Callable[[str], None]


def simpler(
    subject: Subject,
    *,
    recipe: TrainSpec | None,
    init: Params | None,
    plan: dict[str, Any],
    tolerance: float,
    seed: int,
    log: Log,
    families: str = "all",
) -> Answer:
    """Compress the trained subject (pruning, neuron pruning, low rank; lottery tickets at the
    deep budget) and name the smallest model within ``tolerance``; then fit simpler model
    ``families`` on its data (``none``: skip) and say whether one matches the network. Narrower
    networks trained from scratch belong to :func:`essential`. Without a ``recipe`` nothing is
    fine-tuned, and the sentence says so."""
    from occamlab.probes.baselines import BaselinesSpec, baselines
    from occamlab.probes.compression import SimplifySpec, simplify

    started = time.perf_counter()
    result = simplify(
        subject,
        spec=SimplifySpec(budget=plan["simplify"], tolerance=tolerance, narrower=False, seed=seed),
        train=recipe,
        init=init,
        log=log,
    ).to_dict()
    best, original = result["smallest"], result["original"]
    sentence = result["answer"]
    if recipe is None:
        sentence += (
            f" Pruned models were not fine-tuned: {UNKNOWN_RECIPE}, and fine-tuning with it "
            "usually keeps more accuracy at higher sparsity."
        )
    numbers = {
        "parameters": original["num_parameters"],
        "smallest model": f"{best['method']}: {best['setting']}",
        "its parameters": best["num_parameters"],
        "its fraction of the parameters": best["fraction"],
        "its test accuracy": best.get("test_accuracy"),
        "original test accuracy": original.get("test_accuracy"),
        "its test loss": best["test_loss"],
        "original test loss": original["test_loss"],
        "tolerance": tolerance,
        "fine-tuned with": None if recipe is None else f"{recipe.optimizer}, lr {recipe.lr:g}",
    }
    results = {"simplify": result}
    other = None
    if families != "none":
        spec = BaselinesSpec(families=families, tolerance=tolerance, seed=seed)
        try:
            other = baselines(subject, spec=spec, log=log).to_dict()
        except ValueError as error:  # e.g. too few examples for every family asked for
            sentence += f" Other model families: {error}."
    if other is not None:
        named = next(f for f in other["fits"] if f["name"] == other["named"])
        sentence += " Other model families: " + other["answer"]
        numbers.update(
            {
                "simpler family named": f"{named['label']} ({named['setting']})",
                "its numbers": named["num_parameters"],
                "its test accuracy (family)": named["test_accuracy"],
                "its test loss (family)": named["test_loss"],
                "within tolerance": other["matched"],
                "paired test p": named["paired"]["p_value"],
                "its fit CPU seconds": named["fit_seconds"],
            }
        )
        results["baselines"] = other
    return Answer("simpler", sentence, numbers, results, time.perf_counter() - started)


def essential(
    subject: Subject,
    *,
    recipe: TrainSpec | None,
    compressed: dict[str, Any],
    plan: dict[str, Any],
    tolerance: float,
    seed: int,
    log: Log,
) -> Answer:
    """Retrain the subject's architecture at widths around its own (the seeds of each width as
    one ensemble) and compare with compressing the trained network (``compressed``: the
    result of :func:`simpler`)."""
    from occamlab.probes.compression.rebuild import registry_spec, size_field
    from occamlab.probes.compression.simplify import (
        essential_answer,
        narrower_points,
        tolerance_text,
    )
    from occamlab.probes.compression.width import width_sweep

    started = time.perf_counter()
    model = registry_spec(subject)
    field = size_field(model, "width") if model is not None else None
    original = compressed["original"]
    if model is None or field is None or recipe is None:
        why = (
            "the subject is the user's own module, so it cannot be rebuilt at other widths "
            "(a registry model spec, e.g. occamlab.make_subject, enables the width sweep)"
            if model is None
            else f"model {type(model).name!r} has no width to vary"
            if field is None
            else f"retraining at other widths needs the recipe, and {UNKNOWN_RECIPE}"
        )
        smallest = compressed["smallest"]
        sentence = f"Not measured: {why}. " + (
            f"Compression alone keeps {smallest['fraction']:.1%} of the parameters within "
            f"tolerance ({tolerance_text(original, tolerance)})."
            if smallest["method"] != "original"
            else "No compressed copy of the network stays within tolerance "
            f"({tolerance_text(original, tolerance)}) either."
        )
        return Answer("essential", sentence, {"skipped": why}, {}, time.perf_counter() - started)
    width = getattr(model, field)
    widths = sorted({max(1, round(width * f)) for f in plan["width_factors"]})
    seeds = tuple(range(seed, seed + plan["seeds"]))
    log(f"width sweep: {field} {', '.join(map(str, widths))} × {len(seeds)} seeds (ensembles)")
    sweep = width_sweep(subject, recipe, widths=widths, seeds=seeds)
    narrow = narrower_points(sweep, original["num_parameters"])
    pruned = [p for p in compressed["points"] if p["method"] != "narrower"]
    sentence = essential_answer([*pruned, *narrow], original, tolerance)
    rows = sweep.mean_rows()
    wider = [r for r in rows if r["width"] > width]
    numbers: dict[str, Any] = {
        f"subject's {field}": width,
        "widths retrained": widths,
        "seeds per width": len(seeds),
        "subject's test accuracy": original.get("test_accuracy"),
    }
    key = "test_accuracy" if original.get("test_accuracy") is not None else "test_loss"
    if wider:
        top = max(wider, key=lambda r: r["width"])
        change = top[key] - original[key]
        spread = top.get("test_accuracy_std") or 0.0
        numbers[f"test {key.split('_')[1]} at {field} {top['width']}"] = top[key]
        better = change > max(spread, 1e-12) if key == "test_accuracy" else change < 0
        sentence += (
            f" Going wider ({field} {top['width']}, mean of {top['seeds']} seeds) "
            + (
                f"{'improves' if better else 'changes'} test {key.split('_')[1]} by "
                f"{change:+.3f} (seed spread ±{spread:.3f})"
                if key == "test_accuracy"
                else f"changes test loss by {change:+.4g}"
            )
            + (": more width would pay." if better else ": more width does not pay at this recipe.")
        )
    return Answer(
        "essential",
        sentence,
        numbers,
        {"width_sweep": sweep.to_dict(), "narrower": narrow},
        time.perf_counter() - started,
    )


def bounds(
    subject: Subject, *, init: Params | None, plan: dict[str, Any], delta: float, seed: int
) -> Answer:
    """Test-set, PAC-Bayes and compression bounds (and the norm measures), each beside the test
    error of the predictor it certifies."""
    from occamlab.probes.bounds import error_bounds

    started = time.perf_counter()
    if subject.data.task != "classification":
        why = "error bounds are stated for classifiers (0-1 error); this subject is a regression"
        return Answer("bounds", f"Not measured: {why}.", {"skipped": why}, {}, 0.0)
    report = error_bounds(subject, init=init, delta=delta, seed=seed, **plan["bounds"]).to_dict()
    certificates = [r for r in report["rows"] if r["kind"] == "certificate"]
    best = min(certificates, key=lambda r: r["value"])
    test_error, guess = report["test_error"], report["guessing_error"]
    confidence = f"{1 - delta:.0%}"
    sentence = (
        f"With probability {confidence}, the {best['bound']} bound certifies a test error of at "
        f"most {best['value']:.1%} for {best['certifies']} (measured test error "
        f"{best['its_test_error']:.1%}; guessing {guess:.0%})"
    )
    training_only = [r for r in certificates if not r["bound"].startswith("test-set")]
    vacuous = [r for r in training_only if not r["non_vacuous"]]
    skipped = report.get("skipped", {})
    pacbayes = report.get("pacbayes") or {}
    n_train = subject.num_examples("train")
    if pacbayes.get("prior") == "data":
        prior_words = (
            f"the bound evaluated on the other {pacbayes['m']:,} of the {n_train:,} training "
            "examples"
        )
    elif pacbayes.get("prior") == "init":
        prior_words = (
            f"with a data-independent prior centred at the initialization, the bound evaluated "
            f"on all {pacbayes['m']:,} training examples"
        )
    else:
        prior_words = (
            f"with a data-independent prior centred at zero (the initialization is unknown), the "
            f"bound evaluated on all {pacbayes.get('m', n_train):,} training examples"
        )
    if "pacbayes" in skipped:
        sentence += f"; no PAC-Bayes bound was computed: {skipped['pacbayes']}"
    if training_only and len(vacuous) == len(training_only):
        values = ", ".join(f"{r['bound']} {r['value']:.2f}" for r in vacuous)
        remedies = [
            "keep a held-out set",
            f"certify with more training examples than {n_train:,}",
        ]
        if init is not None and pacbayes.get("prior") == "init":
            remedies.append("use a data-dependent prior (occam probe bounds --prior data)")
        elif init is None:
            remedies.append("pass the initial weights (--init-weights) to centre a prior there")
        sentence += (
            f"; the bounds from the training data alone are vacuous here ({values}), so "
            f"{', '.join(remedies[:-1])}, or {remedies[-1]}."
        )
    elif training_only:
        tight = min(training_only, key=lambda r: r["value"])
        sentence += (
            f"; from the training data alone, {tight['bound']} certifies {tight['value']:.1%} "
            f"for {tight['certifies']} (its test error {tight['its_test_error']:.1%}; "
            f"{tight['value'] / max(test_error, 1e-12):.1f}× the network's test error)"
        )
        if "PAC-Bayes" in tight["bound"]:
            sentence += f", {prior_words}"
        sentence += "; the trained network itself is certified only by the test-set bound."
    else:
        sentence += "."
    if "data-dependent prior" in skipped:
        sentence += f" No data-dependent prior: {skipped['data-dependent prior']}."
    numbers = {
        "test error": test_error,
        "train error": report["train_error"],
        "guessing error": guess,
        "δ": delta,
        **{f"bound: {r['bound']}": r["value"] for r in report["rows"]},
        **{f"not computed: {k}": why for k, why in skipped.items()},
    }
    return Answer("bounds", sentence, numbers, {"bounds": report}, time.perf_counter() - started)


def parameters(
    subject: Subject, *, recipe: TrainSpec | None, plan: dict[str, Any], seed: int, log: Log
) -> Answer:
    """Weight spectra per layer, Hessian top eigenvalues/trace/density and sharpness, a
    filter-normalized loss-landscape plane, layer-wise CKA and effective ranks."""
    from occamlab.probes.curvature import hessian_spectrum
    from occamlab.probes.landscape.surface import landscape_plane
    from occamlab.probes.representations.similarity import layer_similarity
    from occamlab.probes.sharpness.summary import sharpness_summary
    from occamlab.probes.spectra.probe import weight_spectra
    from occamlab.probes.stability import edge_of_stability

    started = time.perf_counter()
    limit = plan["limit"]
    log("weight spectra")
    spectra = weight_spectra(subject, seed=seed).to_dict(include_eigenvalues=True)
    log("Hessian spectrum")
    curvature = hessian_spectrum(
        subject,
        k=plan["hessian_k"],
        limit=limit,
        seed=seed,
        density=True,
        density_probes=plan["density_probes"],
        density_steps=plan["density_steps"],
    )
    hessian = curvature.to_dict()
    log("sharpness")
    subspace = min(100, subject.num_parameters)  # Keskar's random subspace (default 100)
    sharp = jsonable(
        sharpness_summary(
            subject,
            limit=limit,
            seed=seed,
            subspace_dim=subspace,
            search_depth=plan["sigma_depth"],
            hessian=curvature,
        )
    )
    log("loss-landscape plane")
    surface = landscape_plane(
        subject, steps=plan["landscape_steps"], limit=limit, seed=seed, test=plan["landscape_test"]
    )
    landscape = surface.to_dict()
    log("layer similarity and effective ranks")
    similarity = layer_similarity(subject, limit=limit, procrustes=plan["procrustes"]).to_dict()
    stability = None
    if recipe is not None:
        log("edge of stability of the recipe")
        stability = edge_of_stability(
            subject, recipe, limit=limit or None, lambda_max=hessian["lambda_max"], seed=seed
        ).to_dict()
    numbers, clauses = _parameter_clauses(
        spectra, hessian, sharp, landscape, similarity, stability, subject.num_examples("train")
    )
    sentence = "; ".join(clauses)
    sentence = sentence[0].upper() + sentence[1:] + "."
    return Answer(
        "parameters",
        sentence,
        numbers,
        {
            "spectra": spectra,
            "hessian": hessian,
            "sharpness": sharp,
            "landscape": landscape,
            "similarity": similarity,
            "stability": stability,
        },
        time.perf_counter() - started,
    )


def _parameter_clauses(spectra, hessian, sharp, landscape, similarity, stability, num_train):
    numbers: dict[str, Any] = {}
    clauses: list[str] = []
    fitted = [r for r in spectra["layers"] if r.get("alpha") is not None]
    numbers.update({f"α of {r['name']}": r["alpha"] for r in fitted})
    # Judged only where the tail fit has enough eigenvalues to mean something.
    alphas = {
        r["name"]: r["alpha"] for r in fitted if r.get("num_eigenvalues", 0) >= MIN_EIGENVALUES
    }
    low, high = ALPHA_RANGE
    if alphas:

        def span(values: list[float]) -> str:
            lo, hi = min(values), max(values)
            return f"α {lo:.2f}" if len(values) == 1 else f"α {lo:.2f}–{hi:.2f}"

        outside = {n: a for n, a in alphas.items() if not low <= a <= high}
        inside = [a for n, a in alphas.items() if n not in outside]
        if not outside:
            clauses.append(
                f"the weight spectra look well trained (layer {span(inside)}, inside "
                f"WeightWatcher's {low:g}–{high:g})"
            )
        else:
            verdict = {True: "under-trained, close to random", False: "very heavy-tailed"}
            parts = [f"{n} (α {a:.2f}: {verdict[a > high]})" for n, a in outside.items()]
            clauses.append(
                f"outside WeightWatcher's well-trained {low:g}–{high:g}: {', '.join(parts)}"
                + (f" (the other layers: {span(inside)})" if inside else "")
            )
    else:
        clauses.append(f"no layer has the {MIN_EIGENVALUES} eigenvalues a power-law reading needs")
    lam = hessian["lambda_max"]
    numbers.update(
        {
            "Hessian λ_max": lam,
            "Hessian trace": hessian["trace"],
            "2/λ_max": hessian["max_stable_lr"],
            f"PAC-Bayes σ (train {sharp['pacbayes']['measure']} +0.1)": sharp["pacbayes"]["sigma"],
        }
    )
    used = hessian["operator"]["num_examples"]
    numbers["examples of the curvature probes"] = used
    examples = f"loss on the first {used:,} of {num_train:,} examples" if used < num_train else ""
    clauses.append(_stability_clause(stability, lam, hessian, numbers, examples))
    minima = landscape["local_minima"]
    numbers["local minima on the landscape plane"] = minima
    clauses.append(
        "a random filter-normalized plane through the weights shows "
        + ("a single basin" if minima <= 1 else f"{minima} local minima (a rugged landscape)")
    )
    ranks = similarity["ranks_a"]
    if ranks:
        names = similarity["layers_a"]
        hidden = list(zip(names[:-1], ranks[:-1], strict=True)) or list(
            zip(names, ranks, strict=True)
        )
        name, last = hidden[-1]
        used = last["participation_ratio"]
        numbers[f"effective rank of {name} (participation ratio)"] = used
        numbers[f"units of {name}"] = last["features"]
        cka = similarity["cka"]
        if len(cka) > 1:
            adjacent = [cka[i][i + 1] for i in range(len(cka) - 1)]
            numbers["CKA of adjacent layers"] = [round(float(c), 3) for c in adjacent]
        concentrated = used < last["features"] / 4
        clauses.append(
            f"{name}'s representation has effective rank {used:.1f} (participation ratio) of "
            f"{last['features']} units: "
            + (
                "its activity concentrates in a few directions, a hint that a narrower layer "
                "could carry it"
                if concentrated
                else "its activity is spread over its units"
            )
        )
    return numbers, clauses


def _stability_clause(
    stability: dict[str, Any] | None,
    lam: float,
    hessian: dict[str, Any],
    numbers: dict,
    examples: str,
) -> str:
    """The recipe's edge of stability against the curvature its optimizer equilibrates
    (``examples``: which examples the loss is averaged over, when not all)."""
    if stability is None:
        where = f"; {examples}" if examples else ""
        return (
            f"the top Hessian eigenvalue is {lam:.3g} (trace {hessian['trace']:.3g}{where}); no "
            f"edge-of-stability verdict: {UNKNOWN_RECIPE}"
        )
    t = stability["threshold"]
    value, ratio = stability["sharpness"], stability["ratio"]
    if t["quantity"] == "preconditioned":
        what = f"Adam's preconditioned sharpness λ_max(P⁻¹H) {value:.3g}"
        numbers["preconditioned sharpness λ_max(P⁻¹H)"] = value
    else:
        what = f"λ_max {value:.3g}"
    numbers["stability threshold"] = t["value"]
    numbers["stability threshold formula"] = t["formula"]
    numbers["sharpness / threshold"] = ratio
    edge = (
        f"the edge of stability {t['formula']} = {t['value']:.3g} "
        f"({'; '.join(filter(None, [t['constants'], examples]))})"
    )
    if stability["verdict"] == "flat":
        return f"the minimum is flat for its recipe: {what} is {ratio:.2f}× {edge}"
    if stability["verdict"] == "near":
        return f"the minimum is close to the edge of stability: {what} is {ratio:.2f}× {edge}"
    return f"the minimum sits at the edge of stability: {what} is {ratio:.2f}× {edge}"
