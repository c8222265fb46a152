"""Curvature: our Lanczos / HVP / trace / density against PyHessian, hessian-eigenthings,
curvlinops + scipy eigsh and BackPACK, on one workload, in one process.

Workload: MNIST-1D, MLP 40-256-256-10 (78,858 parameters) trained briefly, 1,000 training
examples as one full batch, float32, one thread. References: float64 eigenvalues (our operator in
float64, Lanczos to 1e-11) and the exact trace (float64 diagonal).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row, timed  # noqa: E402

from occamlab import TrainSpec, fit, make_subject  # noqa: E402
from occamlab.linalg.density import slq  # noqa: E402
from occamlab.linalg.diagonal import ggn_diagonal  # noqa: E402
from occamlab.linalg.hessian import HessianOperator  # noqa: E402
from occamlab.linalg.lanczos import eigsh  # noqa: E402
from occamlab.linalg.operator import DenseOperator  # noqa: E402

N = 1000


def sequential_copy(subject) -> nn.Sequential:
    """The same MLP as a plain nn.Sequential (what the anchor packages expect)."""
    params = list(subject.model.parameters())
    seq = nn.Sequential(
        nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    with torch.no_grad():
        for p, q in zip(seq.parameters(), params, strict=True):
            p.copy_(q)
    return seq.eval()


def ours_topk(subject, k, tol=None):
    # Residual tolerance 1e-6 for the top pair; 1e-5 for five (float32 products bottom out near
    # 1e-6 relative residual; the eigenvalue error is about the residual squared).
    tol = (1e-6 if k == 1 else 1e-5) if tol is None else tol
    op = HessianOperator(subject, limit=N)
    res = eigsh(op, k=k, tol=tol, generator=torch.Generator().manual_seed(0))
    return res.eigenvalues.numpy(), op.num_matvecs


# Residual tolerances tried, loosest first, to match a less accurate anchor's eigenvalue error.
LADDER = (3e-1, 1e-1, 3e-2, 1e-2, 3e-3, 1e-3)


def pyhessian_topk(model, x, y, k):
    import importlib

    ph = importlib.import_module("pyhessian.hessian")
    if not hasattr(ph, "hessian_vector_product"):  # the package re-exports the class
        ph = sys.modules["pyhessian.hessian"]

    calls = [0]
    original = ph.hessian_vector_product

    def counted(*args):
        calls[0] += 1
        return original(*args)

    ph.hessian_vector_product = counted
    try:
        torch.manual_seed(0)  # PyHessian draws its start vectors from the global RNG
        h = ph.hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
        values, _ = h.eigenvalues(top_n=k)
    finally:
        ph.hessian_vector_product = original
    return np.sort(np.array(values))[::-1], calls[0]


def eigenthings_topk(model, x, y, k):
    import hessian_eigenthings as he

    op = he.HessianOperator(model, [(x, y)], he.supervised_loss(F.cross_entropy))
    calls = [0]
    original = op.matvec

    def counted(v):
        calls[0] += 1
        return original(v)

    op.matvec = counted
    res = he.lanczos(op, k=k, which="LA", seed=0)
    return np.sort(np.asarray(res.eigenvalues, dtype=float))[::-1], calls[0]


def curvlinops_topk(model, x, y, k):
    from curvlinops import HessianLinearOperator
    from scipy.sparse.linalg import LinearOperator
    from scipy.sparse.linalg import eigsh as scipy_eigsh

    params = [p for p in model.parameters() if p.requires_grad]
    op = HessianLinearOperator(model, nn.CrossEntropyLoss(), params, [(x, y)]).to_scipy()
    calls = [0]

    def mv(v):
        calls[0] += 1
        return op @ v

    counted = LinearOperator(op.shape, matvec=mv, dtype=op.dtype)
    values = scipy_eigsh(
        counted, k=k, which="LA", return_eigenvectors=False, v0=np.ones(op.shape[0], dtype=op.dtype)
    )
    return np.sort(values)[::-1], calls[0]


def hvp_formulations(subject, seq, x, y):
    """Seconds per HVP: ours, and the alternatives measured in the same run."""
    v = torch.randn(subject.num_parameters, generator=torch.Generator().manual_seed(1))
    op = HessianOperator(subject, limit=N)
    op.matvec(v)
    ours, _ = timed(lambda: [op.matvec(v) for _ in range(10)])
    params = [p for p in seq.parameters()]
    chunks = list(torch.split(v, [p.numel() for p in params]))
    vs = [c.view_as(p) for c, p in zip(chunks, params, strict=True)]
    loss = F.cross_entropy(seq(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    cached, _ = timed(
        lambda: [torch.autograd.grad(grads, params, vs, retain_graph=True) for _ in range(10)]
    )

    def rebuilt():
        for _ in range(10):
            g = torch.autograd.grad(F.cross_entropy(seq(x), y), params, create_graph=True)
            torch.autograd.grad(g, params, vs)

    rebuilt_t, _ = timed(rebuilt)
    names = [n for n, _ in seq.named_parameters()]

    def loss_of(*ps):
        return F.cross_entropy(
            torch.func.functional_call(seq, dict(zip(names, ps, strict=True)), (x,)), y
        )

    def fwd_rev():
        for _ in range(10):
            torch.func.jvp(
                torch.func.grad(loss_of, argnums=tuple(range(len(params)))),
                tuple(p.detach() for p in params),
                tuple(vs),
            )

    fwd_rev_t, _ = timed(fwd_rev)
    return ours / 10, {
        "cached double backward": cached / 10,
        "double backward, graph rebuilt": rebuilt_t / 10,
        "forward-over-reverse": fwd_rev_t / 10,
    }


def backpack_trace(seq, x, y):
    from backpack import backpack, extend
    from backpack.extensions import DiagGGNExact

    model = extend(sequential_copy_of(seq))
    lossf = extend(nn.CrossEntropyLoss())
    loss = lossf(model(x), y)
    with backpack(DiagGGNExact()):
        loss.backward()
    return float(sum(p.diag_ggn_exact.sum() for p in model.parameters()))


def sequential_copy_of(seq):
    out = nn.Sequential(
        *[
            type(m)(m.in_features, m.out_features) if isinstance(m, nn.Linear) else type(m)()
            for m in seq
        ]
    )
    out.load_state_dict(seq.state_dict())
    return out


def density_small_net():
    """SLQ (2 probes x 50 steps, deflation) against the exact spectrum of a small net's Hessian:
    MLP 40-24-24-10 (1,834 parameters) on the same 1,000 examples, dense float64 eigvalsh."""
    subject = make_subject(model="mlp", data="mnist1d", model_options={"width": 24}, seed=0)
    fit(subject, TrainSpec(epochs=5))
    dense = HessianOperator(subject, limit=N, dtype=torch.float64)
    h = dense.matmat(torch.eye(dense.n, dtype=torch.float64))
    exact = torch.linalg.eigvalsh((h + h.T) / 2).numpy()
    op = HessianOperator(subject, limit=N)
    dens = slq(
        op, num_probes=2, lanczos_steps=50, deflate=True, generator=torch.Generator().manual_seed(0)
    )
    return dens.wasserstein1(exact) / float(exact.max() - exact.min()), op.num_matvecs


def density_synthetic():
    """SLQ (1 probe x 100 steps, deflation) on a harder known spectrum (n = 500): five outliers,
    40 eigenvalues in (1, 8) and a bulk near 0; the outliers must be locked to place their mass."""
    g = torch.Generator().manual_seed(0)
    n = 500
    spectrum = torch.cat(
        [
            torch.tensor([16.661, 16.093, 13.089, 12.242, 9.686]),
            1 + 7 * torch.rand(40, generator=g, dtype=torch.float64).float(),
            0.05 * torch.randn(n - 45, generator=g).abs() - 0.005,
        ]
    ).double()
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    op = DenseOperator(q @ torch.diag(spectrum) @ q.T)
    dens = slq(
        op,
        num_probes=1,
        lanczos_steps=100,
        deflate=True,
        generator=torch.Generator().manual_seed(0),
    )
    span = float(spectrum.max() - spectrum.min())
    return dens.wasserstein1(spectrum.numpy()) / span, op.num_matvecs


def main() -> None:
    torch.set_num_threads(1)
    subject = make_subject(model="mlp", data="mnist1d", seed=0)
    fit(subject, TrainSpec(epochs=5))
    x, y = subject.data.train.x[:N], subject.data.train.y[:N]
    seq = sequential_copy(subject)
    ref_op = HessianOperator(subject, limit=N, dtype=torch.float64)
    ref = eigsh(ref_op, k=5, tol=1e-11, generator=torch.Generator().manual_seed(9))
    ref_values = ref.eigenvalues.numpy()
    exact_trace = float(ggn_diagonal(subject, limit=N, dtype=torch.float64).sum())
    print(f"float64 reference: λ1..5 = {np.round(ref_values, 4).tolist()}, trace {exact_trace:.4f}")

    def err(values, k):
        return float(np.max(np.abs(values[:k] - ref_values[:k]) / np.abs(ref_values[:k])))

    rows, details = [], []
    for k in (1, 5):
        t_ours, (v_ours, n_ours) = timed(lambda k=k: ours_topk(subject, k))
        details.append((f"ours top-{k}", t_ours, n_ours, err(v_ours, k)))
        anchors = {
            "PyHessian defaults": lambda k=k: pyhessian_topk(seq, x, y, k),
            "hessian-eigenthings defaults": lambda k=k: eigenthings_topk(seq, x, y, k),
            "curvlinops + scipy eigsh": lambda k=k: curvlinops_topk(seq, x, y, k),
        }
        for name, fn in anchors.items():
            t, (values, calls) = timed(fn, repeats=1 if name.startswith("PyHessian") else 3)
            e_anchor = err(values, k)
            details.append((f"{name} top-{k}", t, calls, e_anchor))
            if e_anchor <= 10 * err(v_ours, k):  # as accurate as ours: compare as they are
                target = 1 / 3 if k == 5 else 1.0
                rows.append(row(f"top-{k} vs {name}", t_ours, name, t, target))
                continue
            if k == 5 and name.startswith("PyHessian"):  # the "1000x more accurate"
                assert err(v_ours, k) * 1000 <= e_anchor, "not 1000x more accurate"
                rows.append(row(f"top-5, 1000x more accurate, vs {name}", t_ours, name, t, 1.0))
            # Equal accuracy: ours at the loosest tolerance that is at least as accurate.
            for tol in LADDER:
                t_eq, (v_eq, n_eq) = timed(lambda k=k, tol=tol: ours_topk(subject, k, tol))
                if err(v_eq, k) <= e_anchor:
                    break
            details.append((f"ours top-{k}, tol {tol:g}", t_eq, n_eq, err(v_eq, k)))
            rows.append(row(f"top-{k} at equal accuracy vs {name}", t_eq, name, t, 1.0))
        budget = 15 if k == 1 else 20
        rows.append(
            row(
                f"top-{k} HVPs to eigenvalue error 1e-6 (budget {budget})",
                n_ours,
                "HVP budget",
                budget,
                1.0,
            )
        )
        rows.append(
            row(f"top-{k} relative error (<= 1e-6)", err(v_ours, k), "tolerance", 1e-6, 1.0)
        )
    per_hvp, others = hvp_formulations(subject, seq, x, y)
    fastest = min(others, key=others.get)
    for name, t in others.items():
        details.append((f"one HVP: {name}", t, 1, float("nan")))
    details.append(("one HVP: ours", per_hvp, 1, float("nan")))
    rows.append(
        row(f"one HVP vs fastest formulation ({fastest})", per_hvp, fastest, others[fastest], 1.1)
    )
    t_trace, trace = timed(lambda: float(ggn_diagonal(subject, limit=N).sum()))
    t_bp, bp = timed(lambda: backpack_trace(seq, x, y))
    details.append(
        ("trace: ours exact diagonal", t_trace, 0, abs(trace - exact_trace) / exact_trace)
    )
    details.append(("trace: BackPACK DiagGGNExact", t_bp, 0, abs(bp - exact_trace) / exact_trace))
    rows.append(
        row("trace (exact diagonal) vs BackPACK", t_trace, "BackPACK DiagGGNExact", t_bp, 1.0)
    )
    for name, case in [("small net", density_small_net), ("synthetic", density_synthetic)]:
        w1, matvecs = case()
        details.append((f"density: SLQ W1/range, {name}", float("nan"), matvecs, w1))
        rows.append(
            row(f"density W1/range, {name}, {matvecs} HVPs (<= 1e-3)", w1, "tolerance", 1e-3, 1.0)
        )
    print(f"{'method':<48} {'seconds':>9} {'HVPs':>6} {'rel. error':>11}")
    for name, t, calls, e in details:
        print(f"{name:<48} {t:>9.4f} {calls:>6} {e:>11.2e}")
    report("curvature", rows)


if __name__ == "__main__":
    main()
