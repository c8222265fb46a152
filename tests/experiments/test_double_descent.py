from occamlab.experiments import run_experiment
from occamlab.experiments.double_descent import (
    DoubleDescent,
    claims,
    summarize_mlp,
    summarize_rff,
)
from occamlab.store import Store

N = 100


def rff_rows(errors, norms, *, interpolate_at=1.0):
    ratios = [0.5, 0.9, 1.0, 1.5, 4.0]
    rows = []
    for seed in range(3):
        for ratio, err, norm in zip(ratios, errors, norms, strict=True):
            rows.append(
                {
                    "ratio": ratio,
                    "features": int(ratio * N),
                    "seed": seed,
                    "train_error": 0.0,
                    "test_error": err + 0.001 * seed,
                    "train_mse": 0.0 if ratio >= interpolate_at else 0.3,
                    "test_mse": 1.0,
                    "norm": norm,
                }
            )
    return rows


def mlp_rows(noisy, clean, train_noisy):
    widths = [4, 8, 16, 32, 64]
    rows = []
    for noise, errors, train in ((0.15, noisy, train_noisy), (0.0, clean, [0.3, 0.1, 0, 0, 0])):
        for seed in range(3):
            for width, err, tr in zip(widths, errors, train, strict=True):
                rows.append(
                    {
                        "label_noise": noise,
                        "width": width,
                        "seed": seed,
                        "parameters": width * 50,
                        "train_error": tr,
                        "test_error": err + 0.002 * seed,
                        "test_loss": 1.0,
                    }
                )
    return rows


def verdicts(rff, mlp):
    return [
        c.passed
        for c in claims(
            summarize_rff(rff, n=N)["summary"],
            summarize_mlp(mlp, fit_error=0.01)["summary"],
            n=N,
        )
    ]


def test_claims_pass_on_the_papers_pattern():
    rff = rff_rows([0.66, 0.8, 0.92, 0.75, 0.61], [10, 100, 5000, 200, 80])
    mlp = mlp_rows(
        [0.70, 0.72, 0.76, 0.70, 0.65], [0.5, 0.47, 0.46, 0.45, 0.44], [0.5, 0.2, 0, 0, 0]
    )
    assert verdicts(rff, mlp) == [True] * 6


def test_claims_fail_where_the_pattern_breaks():
    # No peak at N = n (and no interpolation there), no return below the under-parameterized
    # error, the norm grows with N; the noisy MLP never interpolates and its error only grows
    # with width; the noiseless curve has the bigger bump.
    rff = rff_rows([0.9, 0.7, 0.7, 0.72, 0.75], [1, 2, 3, 4, 5], interpolate_at=4.0)
    mlp = mlp_rows(
        [0.7, 0.7, 0.72, 0.74, 0.75], [0.5, 0.6, 0.7, 0.5, 0.4], [0.5, 0.4, 0.3, 0.2, 0.1]
    )
    assert verdicts(rff, mlp) == [False] * 6


def test_summaries_find_threshold_and_peak():
    mlp = summarize_mlp(
        mlp_rows([0.70, 0.72, 0.76, 0.70, 0.65], [0.5] * 5, [0.5, 0.2, 0.005, 0, 0]),
        fit_error=0.01,
    )["summary"]["noise=0.15"]
    assert mlp["interpolation_width"] == 16 and mlp["peak_width"] == 16
    assert abs(mlp["peak_height"] - (0.76 - 0.70)) < 1e-12


def test_tiny_run_end_to_end(tmp_path):
    spec = DoubleDescent(
        seeds=1, rff_train=40, rff_max_ratio=2.0, mlp_train=40, min_width=4, max_width=8, steps=5
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["tables"]["random features (mean over seeds)"]) == len(spec.ratios())
    assert len(d["tables"]["MLP width sweep (mean over seeds)"]) == 2 * len(spec.widths())
    assert len(d["claims"]) == 6
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert "double descent" in d["figures"] and run.report.is_file()
