"""Wilson et al.'s separable least-squares problem (arXiv 1705.08292, Section 3.3), in float64.

Labels yᵢ ∈ {±1} are +1 with probability p > 1/2. Example i has the features

    x_i1 = yᵢ,   x_i2 = x_i3 = 1,   x_ij = 1 for j = 4 + 5(i−1), …, 4 + 5(i−1) + 2(1 − yᵢ),

and 0 elsewhere: one feature of its own for a positive example, five for a negative one. The
first feature alone separates the classes; the others carry nothing about new examples (their own
features are never seen in training), so a test example is built the same way with own features
no training example has. Training minimizes the squared loss ‖Xw − y‖² from w₀ = 0 with more
features than examples, so it has many zero-loss solutions and the optimizer picks one:

- GD and SGD stay in the row space of X and reach the minimum-norm interpolant w = Xᵀα,
  α = (XXᵀ)⁻¹y. By symmetry αᵢ = a₊ for positives and a₋ for negatives (see
  :func:`min_norm_coefficients`); its output on a new example is y·Σαᵢyᵢ + 2Σαᵢ, which has the
  sign of y whenever both classes occur: test error 0.
- AdaGrad, RMSProp and Adam (Lemma 3.1): if X sign(Xᵀy) = c·y for a scalar c, every iterate is a
  multiple of sign(Xᵀy), so they converge to w = sign(Xᵀy)/c. Here c = 4 whenever there are
  more positive than negative training examples, and then the solution gives a new example the
  output (y + 2)/4 > 0: every test example is called positive, test error = share of negatives,
  1 − p in expectation, as close to 1/2 as p is.

The training labels are drawn until positives outnumber negatives (the event the paper's
argument assumes; its probability tends to 1 with n for p > 1/2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: own features per example: 1 for a positive one, 5 for a negative one (1 + 2(1 − y))
OWN_FEATURES = 5


@dataclass(frozen=True)
class SeparableProblem:
    """One draw of the problem: training and test features (float64) and labels in {±1}."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_positive(self) -> int:
        return int((self.y_train > 0).sum())

    @property
    def num_negative(self) -> int:
        return int((self.y_train < 0).sum())


def features(y: np.ndarray, *, offset: int, dim: int) -> np.ndarray:
    """The rows of examples with labels ``y`` whose own features start at block ``offset``.

    >>> features(np.array([1.0, -1.0]), offset=0, dim=13)
    array([[ 1.,  1.,  1.,  1.,  0.,  0.,  0.,  0.,  0.,  0.,  0.,  0.,  0.],
           [-1.,  1.,  1.,  0.,  0.,  0.,  0.,  0.,  1.,  1.,  1.,  1.,  1.]])
    """
    x = np.zeros((len(y), dim))
    x[:, 0] = y
    x[:, 1:3] = 1.0
    for i, label in enumerate(y):
        start = 3 + OWN_FEATURES * (offset + i)
        x[i, start : start + 1 + int(round(1 - label)) * 2] = 1.0
    return x


def separable_problem(
    num_train: int, num_test: int, p: float, *, seed: int, max_draws: int = 1000
) -> SeparableProblem:
    """Draw the problem: ``num_train`` training and ``num_test`` test examples, P(y = +1) = p.

    The features are 3 + 5·(num_train + num_test) long: every example, train or test, has its own
    block, so test examples' own features are ones no training example has. Training labels are
    redrawn until positives outnumber negatives.
    """
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must lie strictly between 1/2 and 1, got {p!r}")
    if num_train < 2 or num_test < 1:
        raise ValueError("need at least 2 training examples and 1 test example")
    rng = np.random.default_rng(seed)
    for _ in range(max_draws):
        y = np.where(rng.random(num_train) < p, 1.0, -1.0)
        if (y > 0).sum() > (y < 0).sum() and (y < 0).any():
            break
    else:
        raise ValueError(
            f"no draw of {num_train} labels with p={p} had more positives than negatives and "
            "a negative; use more examples or another p"
        )
    y_test = np.where(rng.random(num_test) < p, 1.0, -1.0)
    dim = 3 + OWN_FEATURES * (num_train + num_test)
    return SeparableProblem(
        x_train=features(y, offset=0, dim=dim),
        y_train=y,
        x_test=features(y_test, offset=num_train, dim=dim),
        y_test=y_test,
    )


def adaptive_solution(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Lemma 3.1's limit of AdaGrad, RMSProp and Adam from 0: w = sign(Xᵀy)/c, and c.

    Raises:
        ValueError: the lemma's premise fails (a zero in Xᵀy, or X sign(Xᵀy) ≠ c·y).
    """
    g = x.T @ y
    s = np.sign(g)
    active = np.abs(x).sum(axis=0) > 0  # features no example has stay 0 (no gradient)
    if (s[active] == 0).any():
        raise ValueError("Xᵀy has a zero component on a used feature: Lemma 3.1 does not apply")
    xs = x @ s
    c = float(xs @ y) / float(y @ y)
    if not np.allclose(xs, c * y, rtol=0, atol=1e-12 * max(1.0, abs(c))):
        raise ValueError("X sign(Xᵀy) is not a multiple of y: Lemma 3.1 does not apply")
    return s / c, c


def min_norm_coefficients(num_positive: int, num_negative: int) -> tuple[float, float]:
    """α = (XXᵀ)⁻¹y of the minimum-norm interpolant, which takes one value a₊ on the positive
    and a₋ on the negative examples.

    XXᵀ = yyᵀ + 2·11ᵀ + D with D = 1 (positive) or 5 (negative) on the diagonal, so the two
    equations for the positive and negative rows are (3n₊ + 1)a₊ + n₋a₋ = 1 and
    n₊a₊ + (3n₋ + 5)a₋ = −1; with Δ = 8n₊n₋ + 15n₊ + 3n₋ + 5,

        a₊ = (4n₋ + 5)/Δ,   a₋ = −(4n₊ + 1)/Δ.

    >>> [round(31 * a, 12) for a in min_norm_coefficients(1, 1)]  # Δ = 31
    [9.0, -5.0]
    """
    n_pos, n_neg = num_positive, num_negative
    det = 8 * n_pos * n_neg + 15 * n_pos + 3 * n_neg + 5
    return (4 * n_neg + 5) / det, -(4 * n_pos + 1) / det


def min_norm_solution(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The minimum-norm interpolant Xᵀα in closed form (:func:`min_norm_coefficients`)."""
    a_pos, a_neg = min_norm_coefficients(int((y > 0).sum()), int((y < 0).sum()))
    return x.T @ np.where(y > 0, a_pos, a_neg)


def min_norm_test_outputs(num_positive: int, num_negative: int) -> tuple[float, float]:
    """The minimum-norm interpolant's output on a new positive and a new negative example:
    y·Σαᵢyᵢ + 2Σαᵢ, i.e. 1 − a₊ and −1 − 5a₋ by the interpolation equations (the first > 0,
    the second < 0 whenever both classes occur in training: test error 0).

    >>> [round(31 * v, 12) for v in min_norm_test_outputs(1, 1)]
    [22.0, -6.0]
    """
    a_pos, a_neg = min_norm_coefficients(num_positive, num_negative)
    return 1.0 - a_pos, -1.0 - OWN_FEATURES * a_neg


def relative_distance(w: np.ndarray, target: np.ndarray) -> float:
    """‖w − target‖ / ‖target‖."""
    return float(np.linalg.norm(w - target) / np.linalg.norm(target))


def direction_error(w: np.ndarray, target: np.ndarray) -> float:
    """‖w/‖w‖ − target/‖target‖‖: how far w points from target's direction (scale-free)."""
    return float(np.linalg.norm(w / np.linalg.norm(w) - target / np.linalg.norm(target)))


def sign_error(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Share of examples whose output sign(xᵀw) differs from the label (0 counts as wrong)."""
    return float(np.mean(np.sign(x @ w) != y))
