from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.double_descent import (
    DoubleDescent,
    claims,
    summarize_mlp,
    summarize_rff,
)
from occamlab.store import Store

N = 100


def noise(seed, i, scale=0.004):
    """Deterministic seed-to-seed noise, different at every (seed, size)."""
    return scale * (((3 * seed + 7 * i) % 5) - 2)


def rff_rows(errors, norms, *, interpolate_at=1.0):
    ratios = [0.5, 0.9, 1.0, 1.5, 4.0]
    rows = []
    for seed in range(3):
        for i, (ratio, err, norm) in enumerate(zip(ratios, errors, norms, strict=True)):
            rows.append(
                {
                    "ratio": ratio,
                    "features": int(ratio * N),
                    "seed": seed,
                    "train_error": 0.0,
                    "test_error": err + noise(seed, i),
                    "train_mse": 0.0 if ratio >= interpolate_at else 0.3,
                    "test_mse": 1.0,
                    "norm": norm * (1 + 10 * noise(seed, i)),
                }
            )
    return rows


def mlp_rows(noisy, clean, train_noisy, scale=0.004, widths=(4, 8, 16, 32, 64)):
    rows = []
    for noise_level, errors, train in (
        (0.15, noisy, train_noisy),
        (0.0, clean, [0.3, 0.1] + [0] * (len(widths) - 2)),
    ):
        for seed in range(3):
            for i, (width, err, tr) in enumerate(zip(widths, errors, train, strict=True)):
                rows.append(
                    {
                        "label_noise": noise_level,
                        "width": width,
                        "seed": seed,
                        "parameters": width * 50,
                        "train_error": tr,
                        "test_error": err + noise(seed, i, scale),
                        "test_loss": 1.0,
                    }
                )
    return rows


def verdicts(rff, mlp):
    return [c.decision for c in claims(rff, mlp, n=N, fit_error=0.01)]


RFF = ([0.66, 0.8, 0.92, 0.75, 0.61], [10, 100, 5000, 200, 80])
MLP = ([0.70, 0.72, 0.76, 0.70, 0.65], [0.5, 0.47, 0.46, 0.45, 0.44], [0.5, 0.2, 0, 0, 0])


def test_claims_pass_on_the_papers_pattern():
    c = claims(rff_rows(*RFF), mlp_rows(*MLP), n=N, fit_error=0.01)
    assert [x.decision for x in c] == ["passed"] * 7
    assert c[0].test is None  # interpolation from N = n: a check of the fit
    assert c[1].test.method == "one-sample t-test" and c[1].test.seeds == 3
    assert c[3].test.method == "paired t-test" and c[3].test.points["N = 50"][0] == 0.66 - 0.008
    assert c[5].test.margin == 0.01 and c[5].test.hypothesis.startswith("test error at width 16")


def test_a_peak_need_not_top_the_narrowest_network():
    # the narrowest MLP (0.80) is worse than the peak at the interpolation width 16 (0.76): the
    # error still falls from it to width 4, rises to the threshold and falls beyond, a peak
    errors = [0.80, 0.72, 0.74, 0.76, 0.70, 0.65]
    clean, train = [0.5, 0.48, 0.47, 0.46, 0.45, 0.44], [0.6, 0.5, 0.2, 0, 0, 0]
    mlp = mlp_rows(errors, clean, train, widths=(2, 4, 8, 16, 32, 64))
    c = claims(rff_rows(*RFF), mlp, n=N, fit_error=0.01)
    assert c[4].decision == "passed"
    # its height is the rise from the best narrower network (0.72) to the peak at the threshold,
    # not to the narrowest network: the clean curve, falling throughout, has none
    assert c[6].decision == "passed" and abs(c[6].test.estimate - 0.04) < 0.01
    assert c[6].test.points["no label noise"] == [0.0, 0.0, 0.0]
    # but a rise that does not fall again beyond the window is no peak
    mlp = mlp_rows([0.70, 0.72, 0.76, 0.74, 0.78], *MLP[1:])
    assert verdicts(rff_rows(*RFF), mlp)[4] == "failed"


def test_claims_fail_where_the_pattern_breaks():
    # No peak at N = n (and no interpolation there), no return below the under-parameterized
    # error, the norm grows with N; the noisy MLP never interpolates (the two claims about its
    # threshold fail untested); the noiseless curve has the bigger bump.
    rff = rff_rows([0.9, 0.7, 0.7, 0.72, 0.75], [1, 2, 3, 4, 5], interpolate_at=4.0)
    mlp = mlp_rows(
        [0.7, 0.7, 0.72, 0.74, 0.75], [0.5, 0.6, 0.7, 0.5, 0.4], [0.5, 0.4, 0.3, 0.2, 0.1]
    )
    c = claims(rff, mlp, n=N, fit_error=0.01)
    assert [x.decision for x in c] == ["failed"] * 7
    assert c[4].test is None and "no width fits the training set" in c[4].evidence


def test_a_fall_within_the_seed_noise_is_inconclusive():
    # from the interpolation width to the widest the error falls by 0.012 (margin 0.01), with
    # seed noise of ±0.02
    mlp = mlp_rows(
        [0.70, 0.72, 0.76, 0.75, 0.748], [0.5, 0.47, 0.46, 0.45, 0.44], MLP[2], scale=0.02
    )
    assert verdicts(rff_rows(*RFF), mlp)[5] == "inconclusive"


def test_summaries_find_threshold_and_peak():
    mlp = summarize_mlp(
        mlp_rows([0.70, 0.72, 0.76, 0.70, 0.65], [0.5] * 5, [0.5, 0.2, 0.005, 0, 0], scale=0),
        fit_error=0.01,
    )["summary"]["noise=0.15"]
    assert mlp["interpolation_width"] == 16 and mlp["peak_width"] == 16
    assert abs(mlp["peak_height"] - (0.76 - 0.70)) < 1e-12
    assert summarize_rff(rff_rows(*RFF), n=N)["summary"]["peak_features"] == N


def test_tiny_run_end_to_end(tmp_path):
    spec = DoubleDescent(
        seeds=1,
        rff_train=40,
        rff_max_ratio=2.0,
        mlp_train=40,
        num_test=40,
        min_width=4,
        max_width=8,
        steps=5,
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["tables"]["random features (mean over seeds)"]) == len(spec.ratios())
    assert len(d["tables"]["MLP width sweep (mean over seeds)"]) == 2 * len(spec.widths())
    assert len(d["claims"]) == 7
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one seed: every tested claim is inconclusive; untested ones are checks or lack a threshold
    tested = [c for c in d["claims"] if c["test"] is not None]
    assert tested and all(c["decision"] == "inconclusive" for c in tested)
    assert all(c["test"]["seeds"] == 1 for c in tested)
    assert "double descent" in d["figures"] and run.report.is_file()


def test_the_high_noise_setting_trains_on_noisier_labels(tmp_path):
    tiny = {"seeds": 2, "rff_train": 40, "rff_max_ratio": 2.0, "mlp_train": 40, "num_test": 40}
    tiny |= {"min_width": 4, "max_width": 8, "steps": 5}
    spec = spec_at_scale(DoubleDescent, "quick", tiny, "high-noise")
    assert (spec.label_noise, spec.data) == (0.3, "mnist1d")
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    curve = d["tables"]["MLP width sweep (mean over seeds)"]
    assert {r["label_noise"] for r in curve} == {0.3, 0.0}
    tested = [c for c in d["claims"] if c["test"] is not None]
    assert tested and all(c["test"]["seeds"] == 2 for c in tested)
