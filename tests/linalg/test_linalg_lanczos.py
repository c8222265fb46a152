import json

import numpy as np
import pytest
import torch

from occamlab.linalg.lanczos import EigenResult, eigsh, lanczos, sign_fix
from occamlab.linalg.operator import DenseOperator, Operator

F64 = torch.float64
TOP = [16.661, 16.093, 13.089, 12.242, 9.686]


class DiagonalOperator(Operator):
    """diag(d) without storing an n × n matrix (large Hessian-like spectra)."""

    def __init__(self, d: torch.Tensor):
        super().__init__(d.shape[0], dtype=d.dtype)
        self.d = d

    def _matvec(self, v):
        return self.d * v

    def _matmat(self, m):
        return self.d[:, None] * m


def hessian_like(n: int, seed: int = 0, num_mid: int = 40) -> np.ndarray:
    """Five outliers, num_mid values in (1, 8), a bulk near 0 (a fifth slightly negative)."""
    rng = np.random.default_rng(seed)
    mid = rng.uniform(1.0, 8.0, num_mid)
    nb = n - len(TOP) - num_mid
    pos = int(0.8 * nb)
    bulk = np.concatenate([rng.exponential(0.05, pos), -rng.exponential(0.01, nb - pos)])
    return np.sort(np.concatenate([TOP, mid, bulk]))


def rotated(eigenvalues, seed: int = 0) -> torch.Tensor:
    """Q diag(λ) Qᵀ with a random orthogonal Q (float64, exactly symmetric)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(lam), len(lam))))
    a = (q * lam) @ q.T
    return torch.from_numpy((a + a.T) / 2)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def true_residuals(a: torch.Tensor, r: EigenResult) -> torch.Tensor:
    y = r.eigenvectors.to(F64)
    return torch.linalg.vector_norm(a @ y - y * r.eigenvalues, dim=0)


def expected(eigs: np.ndarray, k: int, which: str) -> np.ndarray:
    s = np.sort(eigs)
    if which == "LA":
        return s[::-1][:k]
    if which == "SA":
        return s[:k]
    if which == "LM":
        return eigs[np.argsort(-np.abs(eigs), kind="stable")][:k]
    high = (k + 1) // 2
    return np.concatenate([s[: k - high], s[len(s) - high :]])


@pytest.mark.parametrize("which", ["LA", "SA", "LM", "BE"])
@pytest.mark.parametrize("k", [1, 4])
def test_eigenpairs_match_numpy(which, k):
    lam = np.concatenate([np.linspace(-6.0, -2.0, 5), np.linspace(-1.0, 1.0, 60), [3, 4.5, 7, 9]])
    a = rotated(lam, seed=1)
    op = DenseOperator(a)
    r = eigsh(op, k=k, which=which, tol=1e-10, generator=gen(0))
    assert r.converged
    want = expected(np.linalg.eigvalsh(a.numpy()), k, which)
    got = r.eigenvalues.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=0)
    # eigenvectors: A y = θ y, unit norm, and the fixed sign convention of numpy's vectors
    assert r.eigenvectors.shape == (a.shape[0], k)
    np.testing.assert_allclose(torch.linalg.vector_norm(r.eigenvectors, dim=0), 1.0, atol=1e-12)
    assert float(true_residuals(a, r).max()) <= 1e-8 * 9
    w, v = np.linalg.eigh(a.numpy())
    for i, theta in enumerate(got):
        u = sign_fix(torch.from_numpy(v[:, np.argmin(np.abs(w - theta))].copy()))
        torch.testing.assert_close(r.eigenvectors[:, i], u, atol=1e-7, rtol=0)
        y = r.eigenvectors[:, i]
        assert y[y.abs().argmax()] > 0


def test_saddle_negative_curvature_with_sa():
    lam = np.concatenate([[-2.5, -0.7, -0.01], np.linspace(0.0, 3.0, 97)])
    a = rotated(lam, seed=2)
    r = eigsh(DenseOperator(a), k=3, which="SA", tol=1e-10, generator=gen(1))
    assert r.converged
    np.testing.assert_allclose(r.eigenvalues.numpy(), [-2.5, -0.7, -0.01], rtol=1e-8)
    assert (r.eigenvalues < 0).all()


def test_repeated_eigenvalues():
    lam = [5.0, 5.0, 5.0, 3.0, 3.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.2, 0.1]
    for a in (rotated(lam, seed=3), torch.diag(torch.tensor(lam, dtype=F64))):
        r = eigsh(DenseOperator(a), k=4, tol=1e-10, generator=gen(0))
        assert r.converged
        np.testing.assert_allclose(r.eigenvalues.numpy(), [5, 5, 5, 3], rtol=1e-10)
        y = r.eigenvectors
        torch.testing.assert_close(y.T @ y, torch.eye(4, dtype=F64), atol=1e-10, rtol=0)
        assert float(true_residuals(a, r).max()) <= 1e-9
        assert r.num_breakdowns >= 2  # the triple eigenvalue needs two restarts


@pytest.mark.parametrize("which", ["LA", "SA", "LM", "BE"])
def test_tiny_operators(which):
    a = torch.tensor([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, -4.0]], dtype=F64)
    for k in (1, 2, 3):
        r = eigsh(DenseOperator(a), k=k, which=which, tol=1e-12)
        assert r.converged and r.num_matvecs <= 6
        np.testing.assert_allclose(
            r.eigenvalues.numpy(), expected(np.array([-4.0, 1, 3]), k, which)
        )
    r = eigsh(DenseOperator(torch.eye(3, dtype=F64)), k=2)
    assert r.converged and r.eigenvalues.tolist() == pytest.approx([1.0, 1.0])
    r = eigsh(DenseOperator(torch.tensor([[-2.0]], dtype=F64)), k=1)
    assert r.converged and r.num_matvecs == 1 and float(r.eigenvalues[0]) == -2.0
    assert float(r.eigenvectors[0, 0]) == 1.0


def test_zero_operator_and_zero_eigenvalues():
    r = eigsh(DenseOperator(torch.zeros(4, 4, dtype=F64)), k=2)
    assert r.converged and r.eigenvalues.tolist() == [0.0, 0.0]
    a = rotated([0.0, 0.0, 1.0, 2.0, 3.0], seed=4)
    r = eigsh(DenseOperator(a), k=2, which="SA", tol=1e-8)
    assert r.converged
    assert float(r.eigenvalues.abs().max()) < 1e-12


def test_reported_residuals_are_true():
    a = rotated(hessian_like(300, seed=1, num_mid=20), seed=5)
    op = DenseOperator(a)
    for k, tol, budget in [(1, 1e-6, None), (5, 1e-8, None), (3, 1e-10, 12)]:
        r = eigsh(op, k=k, tol=tol, max_matvecs=budget, generator=gen(2))
        true = true_residuals(a, r)
        np.testing.assert_allclose(r.residual_norms.numpy(), true.numpy(), rtol=1e-3, atol=1e-12)
        scale = np.maximum(r.eigenvalues.abs().numpy(), 1e-8)
        np.testing.assert_allclose(
            r.residuals.numpy(), r.residual_norms.numpy() / scale, rtol=1e-12
        )
        assert r.converged == bool((r.residuals <= tol).all())


def test_max_matvecs_honoured():
    a = rotated(hessian_like(300, seed=2, num_mid=20), seed=6)
    op = DenseOperator(a)
    before = op.num_matvecs
    r = eigsh(op, k=3, tol=1e-10, max_matvecs=7, generator=gen(3))
    assert r.num_matvecs == 7 == op.num_matvecs - before
    assert not r.converged
    assert (r.residuals > 1e-10).any()
    assert r.eigenvalues.shape == (3,) and r.eigenvectors.shape == (300, 3)
    # the best pairs so far: Ritz values never exceed the true top eigenvalues (interlacing)
    assert (r.eigenvalues.numpy() <= np.sort(np.linalg.eigvalsh(a.numpy()))[::-1][:3] + 1e-12).all()
    with pytest.raises(ValueError):
        eigsh(op, max_matvecs=0)


def test_deterministic_with_a_seed():
    a = rotated(hessian_like(200, seed=3, num_mid=15), seed=7)
    r1 = eigsh(DenseOperator(a), k=2, generator=gen(11))
    r2 = eigsh(DenseOperator(a), k=2, generator=gen(11))
    assert r1.num_matvecs == r2.num_matvecs
    assert torch.equal(r1.eigenvalues, r2.eigenvalues)
    assert torch.equal(r1.eigenvectors, r2.eigenvectors)
    r3 = eigsh(DenseOperator(a), k=2)  # generator=None: seeded with 0, also reproducible
    r4 = eigsh(DenseOperator(a), k=2)
    assert torch.equal(r3.eigenvectors, r4.eigenvectors)


def test_warm_start_reduces_matvecs():
    lam = hessian_like(400, seed=4, num_mid=30)
    a = rotated(lam, seed=8)
    cold = eigsh(DenseOperator(a), k=1, tol=1e-8, generator=gen(0))
    # one "training step" later the Hessian has moved a little
    noise = torch.randn(400, 400, generator=gen(1), dtype=F64) * 1e-3
    b = a + (noise + noise.T) / 2
    cold_b = eigsh(DenseOperator(b), k=1, tol=1e-8, generator=gen(2))
    warm_b = eigsh(DenseOperator(b), k=1, tol=1e-8, v0=cold.eigenvectors[:, 0])
    assert cold_b.converged and warm_b.converged
    assert float(warm_b.eigenvalues[0]) == pytest.approx(float(cold_b.eigenvalues[0]), rel=1e-10)
    assert warm_b.num_matvecs < cold_b.num_matvecs - 3


def test_hessian_like_spectrum_matvec_counts():
    """Recorded counts (seeds 0-2, n = 5000 diagonal): top-1 16-17, top-5 23-25 matvecs at
    tol = 1e-6 (the eigenvalues themselves are then accurate to ~1e-12); rotated n = 500:
    top-1 16, top-5 23-25."""
    for seed in range(3):
        lam = hessian_like(5000, seed=seed)
        op = DiagonalOperator(torch.from_numpy(lam))
        for k, bound in ((1, 18), (5, 27)):
            r = eigsh(op, k=k, tol=1e-6, generator=gen(seed))
            assert r.converged and r.num_matvecs <= bound, (seed, k, r.num_matvecs)
            np.testing.assert_allclose(r.eigenvalues.numpy(), TOP[:k], rtol=1e-9)
            assert (r.residuals <= 1e-6).all()
    lam = hessian_like(500, seed=5)
    a = rotated(lam, seed=9)
    for k, bound in ((1, 18), (5, 27)):
        r = eigsh(DenseOperator(a), k=k, tol=1e-6, generator=gen(5))
        assert r.converged and r.num_matvecs <= bound, (k, r.num_matvecs)
        np.testing.assert_allclose(r.eigenvalues.numpy(), TOP[:k], rtol=1e-9)
        assert float((true_residuals(a, r) / r.eigenvalues).max()) <= 1e-6


def test_thick_restart_with_small_basis():
    lam = np.concatenate([[10.0, 9.0, 8.5], np.linspace(0.0, 5.0, 297)])
    a = rotated(lam, seed=10)
    op = DenseOperator(a)
    r = eigsh(op, k=3, tol=1e-10, max_basis=10, generator=gen(4))
    assert r.converged and r.num_restarts > 0
    np.testing.assert_allclose(r.eigenvalues.numpy(), [10.0, 9.0, 8.5], rtol=1e-9)
    np.testing.assert_allclose(r.residual_norms.numpy(), true_residuals(a, r).numpy(), atol=1e-9)
    b = rotated(np.concatenate([[-3.0, -2.0], np.linspace(0.0, 5.0, 298)]), seed=13)
    r = eigsh(DenseOperator(b), k=2, which="SA", tol=1e-8, max_basis=12, generator=gen(5))
    assert r.converged and r.num_restarts > 0
    np.testing.assert_allclose(r.eigenvalues.numpy(), [-3.0, -2.0], rtol=1e-12)
    np.testing.assert_allclose(r.residual_norms.numpy(), true_residuals(b, r).numpy(), atol=1e-9)
    with pytest.raises(ValueError):
        eigsh(op, k=3, max_basis=4)


def test_float32_operator():
    a = rotated(hessian_like(300, seed=6, num_mid=20), seed=11)
    r = eigsh(DenseOperator(a.float()), k=3, tol=1e-5, generator=gen(0))
    assert r.converged and r.eigenvectors.dtype == torch.float32
    np.testing.assert_allclose(r.eigenvalues.numpy(), TOP[:3], rtol=1e-6)
    rel = true_residuals(a, r) / r.eigenvalues
    assert float(rel.max()) <= 2e-5


def test_result_to_dict_is_json():
    r = eigsh(DenseOperator(rotated([3.0, 2.0, 1.0, 0.5], seed=0)), k=2)
    d = r.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["eigenvalues"] == pytest.approx([3.0, 2.0])
    assert d["num_matvecs"] == r.num_matvecs and "eigenvectors" not in d
    with pytest.raises(AttributeError):
        r.converged = False  # frozen


def test_invalid_arguments():
    op = DenseOperator(torch.eye(4, dtype=F64))
    with pytest.raises(ValueError):
        eigsh(op, k=0)
    with pytest.raises(ValueError):
        eigsh(op, k=5)
    with pytest.raises(ValueError):
        eigsh(op, which="XX")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        eigsh(op, tol=0.0)
    with pytest.raises(ValueError):
        eigsh(op, v0=torch.zeros(4, dtype=F64))
    with pytest.raises(ValueError):
        eigsh(op, v0=torch.ones(3, dtype=F64))


def test_lanczos_decomposition():
    a = rotated(np.linspace(-1.0, 4.0, 50), seed=12)
    op = DenseOperator(a)
    v = torch.randn(50, generator=gen(0), dtype=F64)
    dec = lanczos(op, v, num_steps=20)
    q = dec.basis
    assert dec.num_matvecs == 20 and not dec.invariant
    torch.testing.assert_close(q.T @ q, torch.eye(20, dtype=F64), atol=1e-13, rtol=0)
    t = torch.diag(dec.alphas) + torch.diag(dec.betas, 1) + torch.diag(dec.betas, -1)
    torch.testing.assert_close(q.T @ a @ q, t, atol=1e-12, rtol=0)
    torch.testing.assert_close(q[:, 0], v / v.norm(), atol=1e-15, rtol=0)
    theta, s = dec.ritz()
    torch.testing.assert_close(t @ s, s * theta, atol=1e-12, rtol=0)
    assert json.dumps(dec.to_dict())
    # an invariant Krylov space stops the run early (3 distinct eigenvalues)
    b = torch.diag(torch.tensor([1.0, 1.0, 2.0, 2.0, 3.0], dtype=F64))
    dec = lanczos(DenseOperator(b), torch.ones(5, dtype=F64), num_steps=5)
    assert dec.invariant and dec.num_matvecs == 3 and dec.beta_next == 0.0
    theta, _ = dec.ritz()
    np.testing.assert_allclose(theta.numpy(), [1.0, 2.0, 3.0], atol=1e-14)


def test_a_tolerance_below_the_float32_noise_floor_stops_and_says_so():
    lam = np.concatenate([[16.7, 16.1, 13.1], np.linspace(0.0, 8.0, 297)])
    a = rotated(lam, seed=5).float()
    r = eigsh(DenseOperator(a), k=3, tol=1e-12, generator=gen(0))
    assert not r.converged and r.num_matvecs < 300
    assert float(r.residuals.max()) > 1e-12
    np.testing.assert_allclose(r.eigenvalues.numpy(), [16.7, 16.1, 13.1], rtol=1e-5)
