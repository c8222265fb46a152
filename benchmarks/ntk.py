"""Empirical NTK: ours (method chosen by the cost model) against the torch.func recipes of the
PyTorch NTK tutorial and, when its environment exists, neural-tangents.

Workload: the full 2,000 × 2,000 kernel (n = 200 MNIST-1D inputs × 10 outputs), float32, one
thread, of the MLP 40-256-256-10 (78,858 parameters) and a 1-D conv net (3 × Conv1d(32, k=5,
stride 1) + linear head, 23,306 parameters). Accuracy: relative Frobenius distance of each float32
kernel to the float64 kernel. Also: trace-over-outputs and diagonal modes against the tutorial's
einsum forms, and the time cost of a small memory budget.

neural-tangents 0.6.5 imports only with jax/jaxlib 0.4.23, numpy 1.26 and TensorFlow 2.15 (about
2.1 GB), so it lives in its own environment::

    python3 -m venv .venv-nt
    .venv-nt/bin/pip install -r benchmarks/requirements-neural-tangents.txt

and is run as a subprocess on the same weights and inputs (``_ntk_neural_tangents.py``). Set
``OCCAM_NT_PYTHON`` to use another interpreter; without one, its rows are skipped (and said so).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call, jacrev, jvp, vjp, vmap

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row, timed  # noqa: E402

from occamlab import make_subject  # noqa: E402
from occamlab.probes.kernels import empirical_ntk, plan_ntk  # noqa: E402

HERE = Path(__file__).resolve().parent
N = 200
# --quick: skip the 2-minute tutorial "pairs" recipe and time every anchor and every forced
# method once (for a busy machine).
QUICK = "--quick" in sys.argv
REPEATS = 1 if QUICK else 2


# -- the anchors: torch.func recipes as the PyTorch NTK tutorial writes them ----------------------
def _single(model, params):
    def f(p, x):
        return functional_call(model, p, (x.unsqueeze(0),)).squeeze(0)

    return f


def recipe_jacobian(model, x1, x2, expr="Naf,Mbf->NMab"):
    """Tutorial: per-parameter Jacobians by vmap(jacrev), one einsum per parameter, summed."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = _single(model, params)
    jac1 = [j.flatten(2) for j in vmap(jacrev(f), (None, 0))(params, x1).values()]
    jac2 = [j.flatten(2) for j in vmap(jacrev(f), (None, 0))(params, x2).values()]
    return torch.stack([torch.einsum(expr, a, b) for a, b in zip(jac1, jac2, strict=True)]).sum(0)


def recipe_pairs(model, x1, x2, chunk=4):
    """Tutorial: NTK-vector products vmapped over every pair of inputs (``chunk`` rows of x1 at a
    time: all 200 × 200 pairs at once would need 100 GB)."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = _single(model, params)

    def get_ntk(a, b):
        out, vjp_fn = vjp(lambda p: f(p, a), params)

        def one(vec):
            return jvp(lambda p: f(p, b), (params,), vjp_fn(vec))[1]

        return vmap(one)(torch.eye(out.numel()))

    pairs = vmap(vmap(get_ntk, (None, 0)), (0, None))
    return torch.cat([pairs(x1[s : s + chunk], x2) for s in range(0, len(x1), chunk)])


def recipe_batched(model, x1, x2, chunk=50):
    """NTK-vector products with the second input batched: for each x1, k VJPs, then each pushed
    forward through the whole x2 batch."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = _single(model, params)

    def rows(a):
        out, vjp_fn = vjp(lambda p: f(p, a), params)

        def one(vec):
            return jvp(lambda p: functional_call(model, p, (x2,)), (params,), vjp_fn(vec))[1]

        return vmap(one)(torch.eye(out.numel()))  # (k, n2, k)

    parts = [vmap(rows)(x1[s : s + chunk]) for s in range(0, len(x1), chunk)]
    return torch.cat(parts).permute(0, 2, 1, 3)


def rel(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


# -- neural-tangents in its own environment ------------------------------------------------------
def nt_python() -> str | None:
    candidate = os.environ.get("OCCAM_NT_PYTHON") or str(
        HERE.parent / ".venv-nt" / "bin" / "python"
    )
    return candidate if Path(candidate).exists() else None


def run_neural_tangents(models, x, refs) -> dict | None:
    python = nt_python()
    if python is None:
        print("neural-tangents: no environment (see the docstring); its rows are skipped")
        return None
    arrays = {"x": x.numpy()}
    for tag, model in models.items():
        params = [p.detach().numpy() for p in model.parameters()]
        for i in range(len(params) // 2):
            arrays[f"{tag}.w{i}"], arrays[f"{tag}.b{i}"] = params[2 * i], params[2 * i + 1]
        arrays[f"ref_{tag}"] = refs[tag].numpy()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.json"
        np.savez(src, **arrays)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.run(
            [python, str(HERE / "_ntk_neural_tangents.py"), str(src), str(dst)],
            env=env,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if proc.returncode != 0 or not dst.exists():
            print(f"neural-tangents: the subprocess failed (exit {proc.returncode}); skipped")
            return None
        return json.loads(dst.read_text())


def main() -> None:
    torch.set_num_threads(1)
    subjects = {
        "mlp": make_subject(model="mlp", data="mnist1d"),
        "cnn": make_subject(model="cnn1d", data="mnist1d", model_options={"stride": 1}),
    }
    models = {tag: s.model.eval() for tag, s in subjects.items()}
    labels = {"mlp": "MLP 40-256-256-10", "cnn": "Conv1d net"}
    x = subjects["mlp"].data.train.x[:N]
    empirical_ntk(models["mlp"], x[:4])  # warm up torch.func and forward-mode AD
    refs = {tag: empirical_ntk(m, x, dtype=torch.float64) for tag, m in models.items()}
    rows, notes = [], {}
    for tag, model in models.items():
        name = labels[tag]
        params = sum(p.numel() for p in model.parameters())
        plan = plan_ntk(model, x)
        ours, kernel = timed(lambda model=model: empirical_ntk(model, x))
        err = rel(kernel, refs[tag])
        notes[tag] = {"parameters": params, "plan": plan.to_dict(), "ours_seconds": ours}
        print(
            f"{name} ({params:,} parameters): ours chose {plan.method!r}, {ours:.3f} s, "
            f"relative error {err:.1e}"
        )
        anchors = {}
        t, k = timed(lambda model=model: recipe_jacobian(model, x, x), repeats=REPEATS)
        anchors["torch.func Jacobian contraction (tutorial)"] = (t, rel(k, refs[tag]))
        t, k = timed(lambda model=model: recipe_batched(model, x, x), repeats=REPEATS)
        anchors["torch.func NTK-vector products, batched x2"] = (t, rel(k, refs[tag]))
        if not QUICK:
            t, k = timed(lambda model=model: recipe_pairs(model, x, x), repeats=1)
            anchors["torch.func NTK-vector products, pairs (tutorial)"] = (t, rel(k, refs[tag]))
        for anchor, (t, e) in anchors.items():
            print(f"  {anchor}: {t:.3f} s, relative error {e:.1e}")
        best = min(anchors, key=lambda a: anchors[a][0])
        rows.append(
            row(f"{name}: full NTK vs best torch.func recipe", ours, best, anchors[best][0], 1.0)
        )
        for anchor, (t, _) in anchors.items():
            rows.append(row(f"{name}: full NTK vs {anchor}", ours, anchor, t, 1.0))
        rows.append(row(f"{name}: float32 relative error (ours)", err, "tolerance", 1e-6, 1.0))
    write(rows, notes)  # each phase is saved as soon as it is measured
    for tag, model in models.items():
        name = labels[tag]
        # Modes, against the tutorial's einsum forms.
        trace_ref = refs[tag].diagonal(dim1=2, dim2=3).sum(-1)
        t_ours, k = timed(lambda model=model: empirical_ntk(model, x, mode="trace"))
        assert rel(k, trace_ref) < 1e-6
        t_anchor, _ = timed(
            lambda model=model: recipe_jacobian(model, x, x, "Naf,Maf->NM"), repeats=REPEATS
        )
        rows.append(
            row(f"{name}: trace over outputs", t_ours, "tutorial einsum Naf,Maf->NM", t_anchor, 1.0)
        )
        diag_ref = torch.stack([refs[tag][i, i] for i in range(N)])
        t_ours, k = timed(lambda model=model: empirical_ntk(model, x, mode="diagonal"))
        assert rel(k, diag_ref) < 1e-6
        t_anchor, _ = timed(lambda model=model: _diag_recipe(model, x), repeats=REPEATS)
        rows.append(
            row(
                f"{name}: diagonal Θ(x_i, x_i)",
                t_ours,
                "vmap(jacrev) + einsum Naf,Nbf->Nab",
                t_anchor,
                1.0,
            )
        )
        # A small memory budget: the same kernel in more blocks, at a modest cost.
        budget = 16.0
        chunked_plan = plan_ntk(model, x, memory_mb=budget)
        t_small, k = timed(
            lambda model=model, budget=budget: empirical_ntk(model, x, memory_mb=budget)
        )
        assert rel(k, refs[tag]) < 1e-6
        notes[tag]["chunk_at_16MB"] = chunked_plan.chunk
        rows.append(
            row(
                f"{name}: 16 MB budget ({chunked_plan.chunk} inputs/block) vs default",
                t_small,
                "ours, 1 GB budget",
                notes[tag]["ours_seconds"],
                1.5,
            )
        )
    write(rows, notes)
    for tag, model in models.items():
        for method in ("jacobian", "vector_products", "structured"):
            t, k = timed(
                lambda model=model, method=method: empirical_ntk(model, x, method=method),
                repeats=REPEATS,
            )
            notes[tag][f"ours_{method}_seconds"] = t
            error = rel(k, refs[tag])
            print(f"  {labels[tag]}, ours, method={method}: {t:.3f} s, relative error {error:.1e}")
    write(rows, notes)
    nt = run_neural_tangents(models, x, refs)
    if nt is not None:
        for tag in models:
            name = labels[tag]
            results = {k.split("/")[1]: v for k, v in nt.items() if k.startswith(tag + "/")}
            best = min(results, key=lambda a: results[a]["seconds"])
            ours = next(r["ours"] for r in rows if r["case"].startswith(f"{name}: full NTK vs b"))
            for impl, v in results.items():
                print(
                    f"  neural-tangents {tag} {impl}: {v['seconds']:.3f} s, "
                    f"relative error {v['relative_error']:.1e}"
                )
                rows.append(
                    row(
                        f"{name}: full NTK vs neural-tangents {impl}",
                        ours,
                        f"neural-tangents {nt['neural_tangents']} {impl}",
                        v["seconds"],
                        1.0,
                    )
                )
            notes[tag]["neural_tangents_best"] = best
    print(f"wrote {write(rows, notes)}")


def write(rows, notes):
    path = report("ntk", rows)
    (HERE / "results" / "ntk_notes.json").write_text(json.dumps(notes, indent=2) + "\n")
    return path


def _diag_recipe(model, x):
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = _single(model, params)
    jac = [j.flatten(2) for j in vmap(jacrev(f), (None, 0))(params, x).values()]
    return torch.stack([torch.einsum("Naf,Nbf->Nab", j, j) for j in jac]).sum(0)


if __name__ == "__main__":
    main()
