from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.batch_size_sharpness import BatchSizeSharpness, claims, summarize
from occamlab.experiments.registry import settings_of
from occamlab.store import Store


def _rows(phi=(6.0, 12.0, 14.0), lam=(8.5, 15.0, 17.0), acc=(0.63, 0.58, 0.56), loss=0.098):
    rows = []
    for batch, p, lm, a in zip((32, 400, 4000), phi, lam, acc, strict=True):
        for seed, jitter in enumerate((-0.01, 0.0, 0.01)):
            rows.append(
                {
                    "batch_size": batch,
                    "seed": seed,
                    "steps": 1000,
                    "train_loss": loss,
                    "test_accuracy": a + jitter,
                    "phi_1e-3": p * (1 + jitter),
                    "phi_5e-4": p / 4 * (1 + jitter),
                    "phi_subspace": p / 2 * (1 + jitter),
                    "lambda_max": lm * (1 + jitter),
                }
            )
    return rows


def verdicts(rows):
    return [c.decision for c in claims(rows, summarize(rows), target_loss=0.1)]


def test_claims_pass_on_the_papers_pattern():
    assert verdicts(_rows()) == ["passed"] * 7
    tested = claims(_rows(), summarize(_rows()), target_loss=0.1)
    assert tested[1].test.method == "two one-sided t-tests" and tested[1].test.seeds == 3
    assert tested[2].test.method == "slope t-test" and tested[2].test.seeds == 9
    assert tested[3].test.method == "paired t-test" and tested[3].test.seeds == 3


def test_claims_fail_where_the_pattern_breaks():
    # One run stopped above the target, the small batch far below the large one's loss; the
    # large batch is flatter and generalizes better.
    rows = _rows(phi=(14.0, 12.0, 6.0), lam=(17.0, 15.0, 8.5), acc=(0.56, 0.58, 0.63))
    for r in rows:
        r["train_loss"] = {32: 0.01, 400: 0.098, 4000: 0.098}[r["batch_size"]]
    rows[3]["train_loss"] = 0.2  # batch 400, seed 0
    assert verdicts(rows) == ["failed"] * 7


def test_a_gap_within_the_seed_noise_is_inconclusive():
    # the subspace sharpness of today's quick run: 7.58 / 7.20 / 9.10, seeds spread by ±1
    rows = _rows()
    for r in rows:
        spread = {0: -1.0, 1: 0.2, 2: 0.8}[r["seed"]]
        r["phi_subspace"] = {32: 7.58, 400: 7.20, 4000: 9.10}[r["batch_size"]] + spread * (
            1.5 if r["batch_size"] == 4000 else 0.2
        )
    assert verdicts(rows)[4] == "inconclusive"


def test_tiny_run_end_to_end(tmp_path):
    spec = BatchSizeSharpness(
        seeds=1,
        small_batch=16,
        medium_batch=32,
        width=8,
        num_train=64,
        target_loss=2.0,
        max_steps=5,
        subspace_dim=5,
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    runs = d["tables"]["runs"]
    assert [r["batch_size"] for r in runs] == [16, 32, 64]
    assert all(r["phi_1e-3"] >= 0 and r["lambda_max"] > 0 for r in runs)
    assert len(d["claims"]) == 7
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert "sharpness vs batch size" in d["figures"]


def test_the_alternative_setting_doubles_the_step_size(tmp_path):
    assert settings_of(BatchSizeSharpness) == ["default", "lr-2e-3"]
    tiny = {"seeds": 2, "small_batch": 16, "medium_batch": 32, "width": 8, "num_train": 64}
    spec = spec_at_scale(BatchSizeSharpness, "quick", {**tiny, "max_steps": 5}, "lr-2e-3")
    assert spec.lr == 2e-3 and (spec.data, spec.width) == ("mnist1d", 8)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert d["spec"]["lr"] == 2e-3 and len(d["claims"]) == 7


def test_digits_uses_the_whole_training_split(tmp_path):
    tiny = {"seeds": 2, "small_batch": 64, "medium_batch": 512, "width": 8, "lr": 0.01}
    spec = spec_at_scale(
        BatchSizeSharpness, "quick", {**tiny, "max_steps": 10, "data": "digits", "num_train": 0}
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    # the large batch is the whole digits training split (1,438 of the 1,797 images)
    assert sorted({r["batch_size"] for r in d["tables"]["runs"]}) == [64, 512, 1438]
    tested = [c for c in d["claims"] if c["test"] is not None]
    assert len(tested) == 6 and all(c["test"]["seeds"] in (2, 6) for c in tested)
