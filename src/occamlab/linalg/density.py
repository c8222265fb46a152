"""Spectral density by stochastic Lanczos quadrature (SLQ).

The spectral density of a symmetric n × n operator A with eigenpairs (λ_i, u_i) is the uniform
distribution on its eigenvalues, φ(λ) = (1/n) Σ_i δ(λ − λ_i). For a random unit vector v,
the quadratic forms vᵀ f(A) v = Σ_i (u_iᵀ v)² f(λ_i) define a probe measure
μ_v = Σ_i (u_iᵀ v)² δ_{λ_i} with E[μ_v] = φ when E[v vᵀ] = I / n (here v = z / √n with z
Rademacher). m Lanczos steps from v give T_m = S diag(θ) Sᵀ, and Gauss quadrature replaces μ_v by

    μ̂_v = Σ_{j=1}^m τ_j δ(λ − θ_j),    τ_j = (e_1ᵀ s_j)²,    Σ_j τ_j = 1,

which integrates every polynomial of degree ≤ 2m − 1 exactly against μ_v (Golub & Meurant). The
SLQ density is the average of μ̂_v over the probes (Lin, Saad & Yang 2016; Ghorbani, Krishnan &
Xiao 2019; Papyan 2018). Lanczos runs with full reorthogonalization (see
:mod:`occamlab.linalg.lanczos`); a run stops early when its Krylov space becomes invariant
(the quadrature is then exact for that probe).

Deflation (``deflate=True``, optional). Most of the error of plain SLQ on a Hessian-like
spectrum is not quadrature error but the randomness of the weights: an isolated outlier λ_i
gets weight (u_iᵀv)² (mean 1/n, standard deviation √2/n for each probe). Ritz pairs that have
converged — residual |β_m s_{m,j}| ≤ ``lock_tol``·‖T‖ — are exact eigenpairs, so their weight
can be set to its expectation 1/n, and later probes are run on the complement of the converged
eigenvectors (explicit deflation, as in spectrum sweeping, Lin 2017, and Bhattacharjee et al.
2025). A probe's remaining mass (n − ℓ)/n, with ℓ the number of locked eigenvalues, is spread
over its unconverged nodes in proportion to their Gauss weights. A converged Ritz value stands
for an eigenspace of unknown multiplicity: it is locked only if its weight is plausible for a
simple eigenvalue (τ_j · (n − ℓ) ≤ 20, which a simple eigenvalue, whose τ_j · (n − ℓ) is
≈ χ²₁, violates with probability ≈ 8·10⁻⁶); otherwise (e.g. a large null space) it keeps its
Gauss weight. Each probe's weights still sum to 1. A moderate multiplicity (2 to ~20) can slip
through and move (mult − 1)/n of mass to the unconverged nodes; later probes, run on the
complement, find remaining copies. Deflation pays off when a probe runs long enough for the
outliers to converge: on a Hessian-like spectrum (n = 500, 20–45 outliers) one or two probes of
50–100 steps reach W₁/range ≈ 2·10⁻⁴, against ≈ 5·10⁻³ for plain SLQ with the same 100
matvecs; many short probes gain little from it.

References:
    G. H. Golub & G. Meurant (2010), Matrices, Moments and Quadrature with Applications.
    L. Lin, Y. Saad & C. Yang (2016), Approximating spectral densities of large matrices.
    SIAM Review 58.
    L. Lin (2017), Randomized estimation of spectral densities of large matrices made accurate.
    Numer. Math. 136.
    V. Papyan (2018), The full spectrum of deepnet Hessians at scale. arXiv:1811.07062.
    B. Ghorbani, S. Krishnan & Y. Xiao (2019), An investigation into neural net optimization via
    Hessian eigenvalue density. ICML.
    T. Chen, T. Trogdon & S. Ubaru (2021), Analysis of stochastic Lanczos quadrature for
    spectrum approximation. ICML.
    R. Bhattacharjee, R. Jayaram, C. Musco, C. Musco & A. Ray (2025), Improved spectral density
    estimation via explicit and implicit deflation. SODA.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from occamlab.linalg.lanczos import lanczos
from occamlab.linalg.operator import Operator
from occamlab.notebook import HtmlRepr

# A simple eigenvalue's Gauss weight times the dimension is ≈ χ²₁; above this it is not locked.
_MULTIPLICITY_THRESHOLD = 20.0

ArrayLike = float | Sequence[float] | np.ndarray | torch.Tensor


def _as_array(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float64).cpu().numpy()
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SpectralDensity(HtmlRepr):
    """A discrete spectral density Σ_j w_j δ(λ − θ_j) from stochastic Lanczos quadrature.

    Attributes:
        probe_nodes: per probe, its quadrature nodes θ_j (float64, ascending).
        probe_weights: per probe, the weights of those nodes (float64, each summing to 1).
        n: the operator's size.
        num_matvecs: operator applications used.
        lanczos_steps: the requested number of Lanczos steps per probe.
        deflated: whether converged Ritz pairs were locked (see the module docstring).
        locked_eigenvalues: the locked eigenvalues (empty without deflation).
    """

    probe_nodes: tuple[torch.Tensor, ...]
    probe_weights: tuple[torch.Tensor, ...]
    n: int
    num_matvecs: int
    lanczos_steps: int
    deflated: bool = False
    locked_eigenvalues: torch.Tensor | None = None

    @property
    def num_probes(self) -> int:
        return len(self.probe_nodes)

    def _combined(self) -> tuple[np.ndarray, np.ndarray]:
        nodes = np.concatenate([t.numpy() for t in self.probe_nodes])
        weights = np.concatenate([t.numpy() for t in self.probe_weights]) / self.num_probes
        order = np.argsort(nodes, kind="stable")
        return nodes[order], weights[order]

    @property
    def nodes(self) -> torch.Tensor:
        """All nodes (float64, ascending)."""
        return torch.from_numpy(self._combined()[0])

    @property
    def weights(self) -> torch.Tensor:
        """Combined weights of :attr:`nodes`: each probe's weights / num_probes (sum to 1)."""
        return torch.from_numpy(self._combined()[1])

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest node (a Ritz-value estimate of λ_min and λ_max)."""
        nodes = self._combined()[0]
        return float(nodes[0]), float(nodes[-1])

    def moment(self, order: int = 1) -> float:
        """∫ λ^k φ̂(λ) dλ = Σ_j w_j θ_j^k; the k-th moment estimates tr(A^k)/n."""
        nodes, weights = self._combined()
        return float(np.sum(weights * nodes**order))

    def default_sigma(self) -> float:
        """Kernel width used when none is given: 1 % of the node range (1 if it is zero)."""
        lo, hi = self.support
        return 0.01 * (hi - lo) if hi > lo else 1.0

    def smoothed(self, grid: ArrayLike, sigma: float | None = None) -> torch.Tensor:
        """Gaussian-smoothed density Σ_j w_j 𝒩(x; θ_j, σ²) on ``grid``.

        Integrates to 1 over ℝ, hence to ≈ 1 on a grid covering [min θ − 4σ, max θ + 4σ].
        """
        x = _as_array(grid).reshape(-1)
        sigma = self.default_sigma() if sigma is None else float(sigma)
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        nodes, weights = self._combined()
        out = np.zeros_like(x)
        norm = 1.0 / (sigma * math.sqrt(2.0 * math.pi))
        for start in range(0, len(nodes), 512):
            d = (x[:, None] - nodes[None, start : start + 512]) / sigma
            out += np.exp(-0.5 * d * d) @ weights[start : start + 512]
        return torch.from_numpy(out * norm)

    def cdf(self, x: ArrayLike) -> float | torch.Tensor:
        """F(x) = Σ_{θ_j ≤ x} w_j (right-continuous); a float for a scalar ``x``."""
        arr = _as_array(x)
        nodes, weights = self._combined()
        cum = np.concatenate([[0.0], np.cumsum(weights)])
        vals = cum[np.searchsorted(nodes, arr, side="right")]
        if arr.ndim == 0:
            return float(vals)
        return torch.from_numpy(np.asarray(vals, dtype=np.float64))

    def wasserstein1(self, eigenvalues: ArrayLike) -> float:
        """Exact W₁ distance to the uniform distribution on ``eigenvalues``: ∫ |F − G| dλ."""
        eig = _as_array(eigenvalues).reshape(-1)
        if eig.size == 0:
            raise ValueError("eigenvalues must not be empty")
        nodes, weights = self._combined()
        x = np.concatenate([nodes, eig])
        mass = np.concatenate([weights, np.full(eig.size, -1.0 / eig.size)])
        order = np.argsort(x, kind="stable")
        x, mass = x[order], mass[order]
        diff = np.cumsum(mass)[:-1]
        return float(np.sum(np.abs(diff) * np.diff(x)))

    def plot(
        self,
        ax: Any = None,
        *,
        sigma: float | None = None,
        num_points: int = 1000,
        log: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Plot the smoothed density on a log scale (as in Ghorbani et al. 2019).

        Args:
            ax: a matplotlib Axes (default: a new figure's axes via ``pyplot``).
            sigma: kernel width (default :meth:`default_sigma`).
            num_points: grid size.
            log: logarithmic density axis (floored at 1e-8 of the peak).
            **kwargs: passed to ``ax.plot``.

        Returns:
            The Axes.
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        sigma = self.default_sigma() if sigma is None else float(sigma)
        lo, hi = self.support
        grid = np.linspace(lo - 4 * sigma, hi + 4 * sigma, num_points)
        dens = self.smoothed(grid, sigma).numpy()
        ax.plot(grid, dens, **kwargs)
        if log:
            ax.set_yscale("log")
            peak = float(dens.max()) if dens.size and dens.max() > 0 else 1.0
            ax.set_ylim(peak * 1e-8, peak * 2)
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (nodes and weights as lists)."""
        nodes, weights = self._combined()
        locked = self.locked_eigenvalues
        return {
            "n": self.n,
            "num_probes": self.num_probes,
            "lanczos_steps": self.lanczos_steps,
            "num_matvecs": self.num_matvecs,
            "deflated": self.deflated,
            "nodes": nodes.tolist(),
            "weights": weights.tolist(),
            "probe_nodes": [t.tolist() for t in self.probe_nodes],
            "probe_weights": [t.tolist() for t in self.probe_weights],
            "locked_eigenvalues": [] if locked is None else locked.tolist(),
            "mean": self.moment(1),
        }


def slq(
    op: Operator,
    *,
    num_probes: int = 10,
    lanczos_steps: int = 50,
    generator: torch.Generator | None = None,
    deflate: bool = False,
    lock_tol: float | None = None,
) -> SpectralDensity:
    """Spectral density of a symmetric operator by stochastic Lanczos quadrature.

    For each probe v = z/√n (z Rademacher), ``lanczos_steps`` Lanczos steps give nodes θ_j (Ritz
    values) and weights τ_j = (first component of T's j-th eigenvector)²; the density is
    (1/num_probes) Σ_probes Σ_j τ_j δ(λ − θ_j). Cost: at most num_probes · lanczos_steps
    matvecs.

    Args:
        op: a symmetric operator.
        num_probes: number of random probes.
        lanczos_steps: Lanczos steps (matvecs) per probe.
        generator: source of the probes; None means a fresh generator seeded with 0.
        deflate: lock converged Ritz pairs (weight 1/n each) and run later probes on their
            complement (see the module docstring); lowers the error on spectra with outliers.
        lock_tol: relative residual below which a Ritz pair counts as converged when
            ``deflate`` (default max(1e-8, 100·eps) of the operator's dtype).

    Returns:
        A :class:`SpectralDensity`.
    """
    if num_probes < 1:
        raise ValueError(f"num_probes must be positive, got {num_probes}")
    if lanczos_steps < 1:
        raise ValueError(f"lanczos_steps must be positive, got {lanczos_steps}")
    n = op.n
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    eps = float(torch.finfo(op.dtype if op.dtype.is_floating_point else torch.float32).eps)
    tol = max(1e-8, 100 * eps) if lock_tol is None else float(lock_tol)
    nodes_out: list[torch.Tensor] = []
    weights_out: list[torch.Tensor] = []
    locked_vals: list[float] = []
    locked_vecs: torch.Tensor | None = None
    matvecs = 0
    for _ in range(num_probes):
        z = torch.randint(0, 2, (n,), generator=gen, dtype=torch.int64).to(torch.float64)
        z = (2.0 * z - 1.0) / math.sqrt(n)
        ell = len(locked_vals)
        if ell >= n:  # everything is locked: the density is exact
            nodes_out.append(torch.tensor(sorted(locked_vals), dtype=torch.float64))
            weights_out.append(torch.full((ell,), 1.0 / n, dtype=torch.float64))
            continue
        dec = lanczos(op, z, num_steps=lanczos_steps, locked=locked_vecs)
        matvecs += dec.num_matvecs
        theta_t, s_t = dec.ritz()
        theta, s = theta_t.numpy(), s_t.numpy()
        tau = s[0] ** 2
        tau = tau / tau.sum()
        if not deflate:
            nodes_out.append(torch.from_numpy(theta.copy()))
            weights_out.append(torch.from_numpy(tau))
            continue
        res = np.abs(dec.beta_next * s[-1])
        scale = max(float(np.max(np.abs(theta))), max((abs(v) for v in locked_vals), default=0.0))
        dim = n - ell
        lock = (res <= tol * scale) & (tau * dim <= _MULTIPLICITY_THRESHOLD)
        rest = ~lock
        new = int(lock.sum())
        s_rest = float(tau[rest].sum())
        remaining = (dim - new) / n
        if new:
            # If the locked values are simple eigenvalues, the rest carries ≈ (dim − new)/dim
            # of the probe's mass; far from it, locking would misplace mass (multiplicities).
            expected = (dim - new) / dim
            if expected == 0.0:
                consistent = s_rest == 0.0
            else:
                consistent = s_rest > 0.0 and 0.25 <= s_rest / expected <= 4.0
            if not consistent:
                lock[:] = False
                rest = ~lock
                new, s_rest, remaining = 0, 1.0, dim / n
        if new:
            y = dec.basis.to(torch.float64) @ torch.from_numpy(s[:, lock])
            y = y / torch.linalg.vector_norm(y, dim=0, keepdim=True)
            y = y.to(dec.basis.dtype)
            locked_vecs = y if locked_vecs is None else torch.cat([locked_vecs, y], dim=1)
            locked_vals.extend(float(t) for t in theta[lock])
        rest_w = tau[rest] / s_rest * remaining if s_rest > 0 else tau[rest] * 0.0
        nodes = np.concatenate([np.asarray(locked_vals, dtype=np.float64), theta[rest]])
        weights = np.concatenate([np.full(len(locked_vals), 1.0 / n), rest_w])
        order = np.argsort(nodes, kind="stable")
        nodes_out.append(torch.from_numpy(nodes[order]))
        weights_out.append(torch.from_numpy(weights[order]))
    return SpectralDensity(
        probe_nodes=tuple(nodes_out),
        probe_weights=tuple(weights_out),
        n=n,
        num_matvecs=matvecs,
        lanczos_steps=int(lanczos_steps),
        deflated=bool(deflate),
        locked_eigenvalues=torch.tensor(sorted(locked_vals), dtype=torch.float64),
    )
