import torch

from occamlab.data import data_spec
from occamlab.models import model_spec
from occamlab.runs import TrainJob, train_run, train_runs
from occamlab.store import Store
from occamlab.train import TrainSpec
from occamlab.weights import load_weights


def job(seed=0, noise=0.0, width=8, lr=0.05):
    return TrainJob(
        model=model_spec("mlp", width=width),
        data=data_spec("gaussian_mixture", num_train=80, num_test=20, label_noise=noise),
        train=TrainSpec(epochs=3, batch_size=16, lr=lr),
        seed=seed,
    )


def test_jobs_that_share_a_recipe_train_together_and_are_stored_one_by_one(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    jobs = [job(0), job(1, noise=0.5), job(2, lr=0.02), job(0, width=6)]
    trained = train_runs(store, jobs, method="stacked")
    assert [t.record.metrics["trained_with"] for t in trained] == [3, 3, 3, 1]
    assert len({t.record.id for t in trained}) == 4
    # Each equals the run trained alone (its own store, same spec: same id).
    fields = {k: v for k, v in vars(jobs[1]).items() if k != "data_contents"}  # no file data
    alone = train_run(Store(tmp_path / "alone" / "runs.sqlite"), **fields)
    assert alone.record.id == trained[1].record.id
    for (name, p), q in zip(
        trained[1].subject.params().items(), alone.subject.params().values(), strict=True
    ):
        assert torch.allclose(p, q, atol=1e-5), name
    weights = load_weights(store.root / trained[1].record.artifacts["weights"])
    assert all(torch.equal(weights[k], v) for k, v in trained[1].subject.params().items())
    again = train_runs(store, jobs)
    assert all(t.reused for t in again)
    assert all(
        torch.equal(p, q)
        for a, b in zip(again, trained, strict=True)
        for p, q in zip(a.subject.params().values(), b.subject.params().values(), strict=True)
    )


def test_a_stored_run_checkpoints_at_its_evaluations_and_at_the_end(tmp_path, monkeypatch):
    import occamlab.train.callbacks as callbacks

    saved = []
    real = callbacks.save_weights

    def spy(model, path, metadata=None):
        saved.append((path.name, metadata["epoch"]))
        return real(model, path, metadata=metadata)

    monkeypatch.setattr(callbacks, "save_weights", spy)
    spec = job()
    spec = TrainJob(**{**vars(spec), "train": TrainSpec(epochs=4, batch_size=16, eval_every=2)})
    (trained,) = train_runs(Store(tmp_path / "runs.sqlite"), [spec])
    assert saved == [
        ("init.safetensors", "0"),
        ("last.safetensors", "2"),
        ("last.safetensors", "4"),
        ("last.safetensors", "4"),
    ]
    assert trained.record.artifacts["weights"].endswith("last.safetensors")
