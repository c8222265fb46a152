"""The three problems of the implicit-bias experiment and their independent reference solutions.

(a) separable data, GD on the logistic loss, the hard-margin SVM (scikit-learn); (b) matrix
completion, GD on a full-size factorization UUᵀ, a dual certificate that the ground truth is the
minimum nuclear norm completion; (c) a diagonal linear network u² − v², the minimum-ℓ1 (linear
program) and minimum-ℓ2 (pseudo-inverse) interpolants. The experiment itself is
:mod:`occamlab.experiments.implicit_bias`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

# -- (a) logistic regression on separable data -----------------------------------------------
POINTS = ("gaussian", "uniform")


def separable_data(
    n: int, d: int, *, gap: float, seed: int, points: str = "gaussian", min_margin: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points labelled by a random hyperplane through 0, with a margin gap.

    ``n`` points are drawn (``points``: standard Gaussian, or uniform in the cube [−1, 1]^d),
    those within ``min_margin`` of the hyperplane dropped, and their hard-margin SVM ŵ solved;
    points that are not support vectors but lie within ``gap``× the margin (1 < yᵢŵᵀxᵢ < gap)
    are dropped too. That does not change ŵ (the KKT conditions still hold), and it makes the
    asymptotics w(t) = ŵ ln t + ρ(t) visible within 10⁵–10⁶ steps (Soudry et al.: the remaining
    points' losses decay like t^{1−gap}). Returns x (m, d), labels y (m,) in {−1, +1} with
    m ≤ n, and ŵ.
    """
    if points not in POINTS:
        raise ValueError(f"points must be one of {POINTS}, got {points!r}")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    x = rng.standard_normal((n, d)) if points == "gaussian" else rng.uniform(-1.0, 1.0, (n, d))
    x = x[np.abs(x @ w) >= min_margin]
    y = np.sign(x @ w)
    svm = hard_margin_svm(x, y)
    margins = y * (x @ svm)
    keep = (margins <= 1.0 + 1e-6) | (margins >= gap)
    return x[keep], y[keep], svm


def hard_margin_svm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ŵ = argmin ‖w‖ s.t. yᵢ wᵀxᵢ ≥ 1 (no intercept), by scikit-learn's LinearSVC with the
    hinge loss and a large C (every constraint is met at the solution of separable data).

    liblinear's tolerance 1e-12 is tighter than it reports as converged on some draws (their
    smallest margin is still 1 to 1e-11): its warning is silenced, and the experiment reports
    the smallest margin yᵢŵᵀxᵢ of every draw instead."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    svm = LinearSVC(
        C=1e6, loss="hinge", fit_intercept=False, tol=1e-12, max_iter=1_000_000, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm.fit(x, y)
    return svm.coef_.ravel().astype(np.float64)


def logistic_gd(
    xs: list[np.ndarray], ys: list[np.ndarray], *, steps: int, records: int
) -> list[list[dict[str, float]]]:
    """GD on the mean logistic loss (1/n)Σ log(1 + exp(−yᵢwᵀxᵢ)) from w = 0, for several
    datasets at once, each with η = 1/β (β = σ_max(X)²/(4n), its loss's smoothness); w recorded
    at ``records`` log-spaced steps. Returns one trajectory per dataset.

    The datasets are zero-padded to one size: a zero row has zero gradient, and each mean
    divides by the dataset's own n.
    """
    from scipy.special import expit

    size = max(len(y) for y in ys)
    yx = np.zeros((len(xs), size, xs[0].shape[1]))
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        yx[i, : len(y)] = y[:, None] * x
    yx_t = yx.transpose(0, 2, 1).copy()
    # η/n = (4n/σ_max²)/n per dataset
    step = 4.0 / np.array([np.linalg.norm(x, 2) ** 2 for x in xs])[:, None, None]
    w = np.zeros((len(xs), yx.shape[2], 1))  # a column per dataset: batched matrix products
    at = set(np.unique(np.geomspace(1, steps, records).astype(int)).tolist())
    out: list[list[dict[str, float]]] = [[] for _ in xs]
    for t in range(1, steps + 1):
        w = w + step * (yx_t @ expit(-(yx @ w)))
        if t in at:
            for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
                wi = w[i, :, 0]
                loss = float(np.logaddexp(0.0, -y * (x @ wi)).mean())
                out[i].append({"t": t, "w": wi.tolist(), "loss": loss})
    return out


def angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two vectors in radians (stable for tiny angles)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return float(2.0 * math.atan2(np.linalg.norm(a - b), np.linalg.norm(a + b)))


# -- (b) matrix completion ---------------------------------------------------------------------
def completion_problem(n: int, rank: int, fraction: float, *, seed: int):
    """A PSD rank-``rank`` matrix M = VVᵀ/rank and a symmetric observation mask."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, rank))
    m = v @ v.T / rank
    upper = np.triu(rng.random((n, n)) < fraction)
    mask = upper | upper.T
    return m, mask


def nuclear_norm_certificate(m: np.ndarray, mask: np.ndarray, rank: int) -> dict[str, float]:
    """Check that M is the unique minimum nuclear norm matrix agreeing with M on ``mask``.

    With T the tangent space of rank-r matrices at M = UΣUᵀ, P_T(Z) = PZ + ZP − PZP (P = UUᵀ),
    M is the unique minimizer if P_Ω is injective on T and some Y supported on Ω has
    P_T(Y) = UUᵀ and ‖P_T⊥(Y)‖₂ < 1 (Candès & Recht 2009, Lemma 3.1 with its uniqueness
    condition). Y is the least-norm solution of the linear equations, written in an orthonormal
    basis B of T (P_T is the orthogonal projection onto T, so Bᵀvec(P_T(Y)) = Bᵀvec(Y) = B_Ωᵀc
    for Y's entries c on Ω and the rows B_Ω of B there); the function returns the equation
    residual, ‖P_T⊥(Y)‖₂ and the smallest singular value of P_Ω on T (that of B_Ω).
    """
    n = m.shape[0]
    _, evecs = np.linalg.eigh(m)
    u = evecs[:, -rank:]
    p = u @ u.T
    # T = {U Aᵀ + B Uᵀ}: spanned by u_k e_jᵀ and e_j u_kᵀ (2nr generators, dimension 2nr − r²)
    eye = np.eye(n)
    generators = [np.outer(u[:, k], eye[j]) for k in range(rank) for j in range(n)]
    generators += [g.T for g in generators]
    span = np.stack([g.ravel() for g in generators], axis=1)
    basis, s, _ = np.linalg.svd(span, full_matrices=False)
    basis = basis[:, s > 1e-9 * s[0]]
    restricted = basis[mask.ravel()]
    target = basis.T @ p.ravel()
    coef, *_ = np.linalg.lstsq(restricted.T, target, rcond=None)
    y = np.zeros(n * n)
    y[mask.ravel()] = coef
    y = y.reshape(n, n)
    complement = y - (p @ y + y @ p - p @ y @ p)
    return {
        "certificate_residual": float(
            np.linalg.norm(restricted.T @ coef - target) / np.linalg.norm(target)
        ),
        "certificate_norm": float(np.linalg.norm(complement, 2)),
        # the smallest singular value of P_Ω on T (0 when Ω has fewer entries than dim T)
        "injectivity": float(np.linalg.svd(restricted, compute_uv=False).min())
        if restricted.shape[0] >= restricted.shape[1]
        else 0.0,
    }


def factorized_completion(
    m: np.ndarray, mask: np.ndarray, *, init_scales: list[float], steps: int, seed: int
) -> list[dict[str, float]]:
    """GD on f(U) = ½‖P_Ω(UUᵀ − M)‖²_F from U₀ = α·G/√n (G Gaussian, the same for every α),
    η = 0.2/‖M‖₂, ``steps`` steps, for every init scale α at once."""
    rng = np.random.default_rng(seed)
    n = m.shape[0]
    g = rng.standard_normal((n, n)) / math.sqrt(n)
    u = np.asarray(init_scales)[:, None, None] * g[None]
    lr = 0.2 / np.linalg.norm(m, 2)
    for _ in range(steps):
        r = mask * (u @ u.transpose(0, 2, 1) - m)
        u = u - lr * 2.0 * (r @ u)
    out = []
    best = float(np.linalg.svd(m, compute_uv=False).sum())
    for a, ui in zip(init_scales, u, strict=True):
        x = ui @ ui.T
        out.append(
            {
                "init_scale": a,
                "relative_error": float(np.linalg.norm(x - m) / np.linalg.norm(m)),
                "train_residual": float(np.linalg.norm(mask * (x - m)) / np.linalg.norm(mask * m)),
                "nuclear_norm": float(np.linalg.svd(x, compute_uv=False).sum()),
                "min_nuclear_norm": best,
                "steps": steps,
            }
        )
    return out


# -- (c) diagonal linear network ---------------------------------------------------------------
def sparse_regression(n: int, d: int, k: int, *, seed: int):
    """Gaussian design X (n×d, n < d), a k-sparse w* with ±1 entries, y = Xw*."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[rng.choice(d, k, replace=False)] = rng.choice([-1.0, 1.0], k)
    return x, x @ w, w


def min_l1_interpolant(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ‖w‖₁ s.t. Xw = y as a linear program in (w⁺, w⁻) ≥ 0 (scipy, HiGHS)."""
    from scipy.optimize import linprog

    d = x.shape[1]
    res = linprog(np.ones(2 * d), A_eq=np.hstack([x, -x]), b_eq=y, bounds=(0, None), method="highs")
    if not res.success:
        raise RuntimeError(f"the ℓ1 linear program failed: {res.message}")
    return res.x[:d] - res.x[d:]


def diagonal_network(
    x: np.ndarray, y: np.ndarray, *, init_scales: list[float], max_steps: int
) -> np.ndarray:
    """GD on L(u, v) = (1/2n)‖X(u² − v²) − y‖² from u = v = α·1.

    Runs every dataset (``x`` (S, n, d), ``y`` (S, n)) and every α at once, with step
    η_α = 0.15/(β·max(α², 1)) (β = the largest σ(X)²/n): small enough to follow gradient flow at
    every scale. Stops when every run has L ≤ 1e-14·L(0) or after ``max_steps``; returns
    w = u² − v² of shape (S, len(init_scales), d).
    """
    n = y.shape[1]
    beta = max(np.linalg.norm(xi, 2) ** 2 for xi in x) / n
    a = np.asarray(init_scales, dtype=np.float64)
    lr = (0.15 / (beta * np.maximum(a**2, 1.0)))[None, :, None]
    u = np.broadcast_to(a[None, :, None], (x.shape[0], len(a), x.shape[2])).copy()
    v = u.copy()
    x_t = x.transpose(0, 2, 1).copy()
    l0 = 0.5 * (y * y).sum(axis=1).min() / n
    for _ in range(max_steps):
        r = (u * u - v * v) @ x_t - y[:, None, :]
        if 0.5 * (r * r).sum(axis=2).max() / n <= 1e-14 * l0:
            break
        g = (r @ x) / n
        u, v = u - lr * 2.0 * u * g, v + lr * 2.0 * v * g
    return u * u - v * v
