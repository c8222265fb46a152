import math

import numpy as np
import pytest
import torch

from occamlab.data import data_spec, load_data
from occamlab.data.corruptions import noisy_labels
from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.kernel_interpolation import (
    KernelInterpolation,
    claims,
    classical_errors,
    cover_hart_bound,
    nearest_neighbour_error,
    noisy_label_error,
    with_noisy_errors,
)
from occamlab.probes.kernels.interpolation import nearest_neighbour
from occamlab.store import Store

C = 10


def _noisy(y, p, seed):
    return noisy_labels(y, num_classes=C, p=p, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("p", [0.1, 0.4, 0.8])
def test_the_bayes_error_of_the_registry_noise_is_p_times_c_minus_1_over_c(p):
    # a clean-separable task: the true label is a function of x, so the Bayes classifier of the
    # clean task predicts it; on labels replaced with probability p by a uniform class it errs
    # at p (C − 1)/C, and no classifier does better: the noisy label's mode is the clean one.
    n = 400_000
    y = torch.randint(C, (n,), generator=torch.Generator().manual_seed(1))
    noisy = _noisy(y, p, 2)
    err = float((noisy != y).double().mean())
    q = noisy_label_error(0.0, p, C)
    assert q == pytest.approx(p * (C - 1) / C)
    assert abs(err - q) < 4 * math.sqrt(q * (1 - q) / n)
    counts = torch.zeros(C, C)
    counts.index_put_((y, noisy), torch.ones(n), accumulate=True)
    assert torch.equal(counts.argmax(1), torch.arange(C))  # posterior argmax unchanged


def test_a_classifier_with_clean_error_e_errs_at_the_formula_on_noisy_labels():
    n, p, e = 400_000, 0.3, 0.2
    g = torch.Generator().manual_seed(3)
    y = torch.randint(C, (n,), generator=g)
    wrong = torch.rand(n, generator=g) < e
    guess = torch.where(wrong, (y + 1 + torch.randint(C - 1, (n,), generator=g)) % C, y)
    measured = float((guess != _noisy(y, p, 4)).double().mean())
    expected = noisy_label_error(float((guess != y).double().mean()), p, C)
    assert abs(measured - expected) < 4 * math.sqrt(expected * (1 - expected) / n)


def test_the_nearest_neighbour_error_under_noise_by_simulation():
    # 1-NN on noisy training labels, scored on noisy test labels, averaged over noise draws
    g = torch.Generator().manual_seed(5)
    centers = 3 * torch.randn(C, 2, generator=g)
    y, yt = torch.arange(300) % C, torch.arange(500) % C
    x = centers[y] + torch.randn(300, 2, generator=g)
    xt = centers[yt] + torch.randn(500, 2, generator=g)
    e0 = float((nearest_neighbour(x, y, xt) != yt).double().mean())
    assert 0.02 < e0 < 0.5  # a finite-sample error to carry
    p, draws = 0.35, 400
    errors = [
        float(
            (nearest_neighbour(x, _noisy(y, p, 2 * i), xt) != _noisy(yt, p, 2 * i + 1))
            .double()
            .mean()
        )
        for i in range(draws)
    ]
    expected = nearest_neighbour_error(e0, p, C)
    assert abs(np.mean(errors) - expected) < 4 * np.std(errors) / math.sqrt(draws)


def test_cover_hart_limit_is_the_noise_only_nearest_neighbour_error_and_at_most_twice_bayes():
    for p in np.linspace(0.0, 1.0, 11):
        q = noisy_label_error(0.0, p, C)
        assert cover_hart_bound(q, C) == pytest.approx(nearest_neighbour_error(0.0, p, C))
        assert q <= cover_hart_bound(q, C) + 1e-15 <= 2 * q + 1e-15
    assert cover_hart_bound(0.5, 2) == pytest.approx(0.5)  # chance at chance
    with pytest.raises(ValueError, match="label noise"):
        noisy_label_error(0.1, 1.5, C)


def rows(network, kernel, nn_excess=0.0, fit=1.0, seeds=5):
    """Per-seed runs: clean-label errors of the network and kernel per level p ∈ {0, .25, .5}
    (plus seed jitter); 1-NN at the noise model's prediction plus ``nn_excess``."""
    e0 = 0.011
    out = []
    for seed in range(seeds):
        jitter = 0.004 * (seed - (seeds - 1) / 2)
        for p, n, k in zip((0.0, 0.25, 0.5), network, kernel, strict=True):
            nn_noisy = nearest_neighbour_error(e0, p, C) + nn_excess + jitter
            out.append(
                {
                    "label_noise": p,
                    "seed": seed,
                    "network_train_accuracy": fit,
                    "network_error": n + jitter,
                    "laplacian_error": k + jitter,
                    "laplacian_train_error": 0.0,
                    "ntk_error": k + 0.01,
                    "ntk_train_error": 0.0,
                    # the clean-label error whose noisy-label error is nn_noisy
                    "nearest_neighbour_error": (nn_noisy - p * 0.9) / (1 - p) if p else e0,
                    "nearest_neighbour_train_error": 0.0,
                }
            )
    return with_noisy_errors(out, kernel="laplacian", num_classes=C)


def decisions(r, tolerance=0.05):
    return [c.decision for c in claims(r, num_classes=C, tolerance=tolerance)]


def test_claims_on_the_papers_pattern():
    alike = rows(network=(0.02, 0.05, 0.15), kernel=(0.01, 0.04, 0.13))
    assert decisions(alike) == ["passed"] * 8
    c = claims(alike, num_classes=C, tolerance=0.05)
    assert c[0].test is None and c[1].test.method == "slope t-test" and c[1].test.seeds == 15
    # at p = 0.5 the Bayes error is 0.45 and halfway to chance 0.675
    assert c[3].test.margin == pytest.approx(-0.675)
    assert c[6].test.estimate == pytest.approx(0.9 - nearest_neighbour_error(0.011, 0.5, C))


def test_claims_fail_where_the_pattern_breaks():
    # the network worse than the kernel, near chance at p = 0.5; 1-NN off its prediction
    bad = rows(network=(0.3, 0.6, 0.8), kernel=(0.01, 0.04, 0.13), nn_excess=0.1, fit=0.98)
    assert decisions(bad) == [
        "failed",  # the network does not fit
        "passed",
        "passed",
        "failed",  # 0.5 · 0.8 + 0.45 = 0.85 > 0.675
        "passed",  # the kernel is the better one
        "failed",  # far from alike
        "passed",
        "failed",  # 1-NN 0.1 above the noise model
    ]
    # errors that fall with p (kernel), 1-NN above twice the Bayes error
    falling = rows(network=(0.02, 0.05, 0.15), kernel=(0.2, 0.1, 0.0), nn_excess=0.3)
    d = decisions(falling)
    assert d[1] == "failed" and d[6] == "failed"


def test_tiny_run_end_to_end(tmp_path):
    spec = KernelInterpolation(
        seeds=2, data="mnist1d", num_train=150, num_levels=3, width=32, max_epochs=40, lr=3e-3
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    runs = d["tables"]["runs"]
    assert len(runs) == 6 and len(d["claims"]) == 8
    assert [c["test"] is None for c in d["claims"]] == [True] + [False] * 7
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert "test error vs label noise" in d["figures"] and run.report.is_file()
    # the numbers: the kernels and 1-NN recomputed independently on the same noisy labels
    r = next(x for x in runs if x["label_noise"] == 0.25 and x["seed"] == 1)
    data = load_data(data_spec("mnist1d", num_train=150, label_noise=0.25, corruption_seed=1))
    x, y = data.train.x.double().numpy(), data.train.y.numpy()
    xt, yt = data.test.x.double().numpy(), data.test.y.numpy()
    dist = np.linalg.norm(x[:, None] - x[None], axis=-1)
    sigma = np.median(dist[np.triu_indices(len(x), 1)])
    assert r["bandwidth"] == pytest.approx(sigma, rel=1e-12)
    k = np.exp(-dist / sigma)
    kt = np.exp(-np.linalg.norm(xt[:, None] - x[None], axis=-1) / sigma)
    alpha = np.linalg.solve(k, np.eye(10)[y])
    assert r["laplacian_error"] == pytest.approx(np.mean((kt @ alpha).argmax(1) != yt))
    nn = y[np.linalg.norm(xt[:, None] - x[None], axis=-1).argmin(1)]
    assert r["nearest_neighbour_error"] == pytest.approx(np.mean(nn != yt))
    assert r["kernel_noisy_error"] == pytest.approx(0.75 * r["laplacian_error"] + 0.25 * 0.9)
    assert r["bayes_error"] == pytest.approx(0.225)
    assert r == {
        **r,
        **classical_errors(
            data_spec("mnist1d", num_train=150, label_noise=0.25, corruption_seed=1),
            bandwidth=1.0,
            depth=2,
        ),
    }


def test_the_ntk_setting_puts_the_claims_on_the_ntk():
    spec = spec_at_scale(KernelInterpolation, "quick", {}, "ntk")
    assert spec.kernel == "ntk" and spec.data == "digits"
    r = with_noisy_errors(rows((0.1,) * 3, (0.1,) * 3)[:1], kernel="ntk", num_classes=C)
    assert r[0]["kernel_error"] == r[0]["ntk_error"]
    with pytest.raises(ValueError, match="kernel"):
        KernelInterpolation(kernel="rbf")
