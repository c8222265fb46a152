"""A user's own network, end to end through the CLI: a CNN of its own (BatchNorm and dropout, not
from the registry), trained with Adam outside occamlab, saved as weights + initial weights +
recipe, then ``occam diagnose``. Every number the sentences state is recomputed here
independently (float64 dense Hessian, exact binomial inversion, a plain evaluation loop)."""

import json
import sys
import textwrap

import pytest
import torch
from scipy.stats import beta
from torch.nn import functional as F

from tests.conftest import run

pytestmark = pytest.mark.slow

MODULE = textwrap.dedent(
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    from occamlab import Subject, data_spec, load_data


    class OwnCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 6, 3, padding=1)
            self.bn = nn.BatchNorm2d(6)
            self.pool = nn.MaxPool2d(2)
            self.drop = nn.Dropout(0.2)
            self.fc = nn.Linear(6 * 4 * 4, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.bn(self.conv(x.view(-1, 1, 8, 8)))))
            return self.fc(self.drop(x.flatten(1)))


    def make():
        return Subject(model=OwnCNN(), data=load_data(data_spec("digits")), name="own cnn")
    """
)
RECIPE = {"optimizer": "adam", "lr": 0.01, "batch_size": 64, "epochs": 4, "seed": 3}
LIMIT = 400


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """The user's side: their module, trained by their own loop, saved as files."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("own")
    (folder / "own_cnn.py").write_text(MODULE)
    sys.path.insert(0, str(folder))
    try:
        import own_cnn

        torch.manual_seed(0)  # the user's script; occamlab itself never seeds globally
        subject = own_cnn.make()
        model = subject.model
        save_file({k: v.clone() for k, v in model.state_dict().items()}, folder / "init.st")
        optimizer = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
        x, y = subject.data.train.x, subject.data.train.y
        model.train()
        for _ in range(RECIPE["epochs"]):
            for index in torch.randperm(len(x)).split(RECIPE["batch_size"]):
                optimizer.zero_grad()
                F.cross_entropy(model(x[index]), y[index]).backward()
                optimizer.step()
        model.eval()
        save_file(model.state_dict(), folder / "weights.safetensors")
        (folder / "init.st").rename(folder / "init.safetensors")
        (folder / "recipe.toml").write_text(
            "\n".join(f"{k} = {json.dumps(v)}" for k, v in RECIPE.items()) + "\n"
        )
        yield folder, own_cnn, model, subject.data
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("own_cnn", None)


def _diagnose(capsys, monkeypatch, folder, *extra):
    monkeypatch.chdir(folder)
    code, out, err = run(
        capsys,
        "diagnose",
        "--subject",
        "own_cnn:make",
        "--weights",
        "weights.safetensors",
        *extra,
        "--limit",
        str(LIMIT),
        "--store",
        str(folder / "runs.sqlite"),
        "--json",
    )
    assert code == 0, err
    return json.loads(out)


def _dense(model, x, y):
    """float64 Hessian of the mean loss (eval mode) and the per-parameter flat order."""
    model = model.double().eval()
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    buffers = dict(model.named_buffers())
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss(vector, xb, yb):
        params = {n: t.view(s) for n, t, s in zip(names, vector.split(sizes), shapes, strict=True)}
        out = torch.func.functional_call(model, (params, buffers), (xb,))
        return F.cross_entropy(out, yb)

    hessian = torch.autograd.functional.hessian(lambda v: loss(v, x.double(), y), flat)
    return hessian, flat, loss


def test_adam_network_with_its_recipe_and_init(own, capsys, monkeypatch):
    folder, _, model, data = own
    result = _diagnose(
        capsys,
        monkeypatch,
        folder,
        "--init-weights",
        "init.safetensors",
        "--recipe",
        "recipe.toml",
    )
    answers = result["answers"]
    assert not result["notes"][:1] or "recipe is unknown" not in result["notes"][0]
    assert not any("initial weights are unknown" in n for n in result["notes"])
    assert result["subject"]["init_known"] and result["subject"]["recipe"]["optimizer"] == "adam"

    # The fit: a plain evaluation loop of the user's module.
    model = model.eval()
    with torch.no_grad():
        wrong = int((model(data.test.x).argmax(1) != data.test.y).sum())
    assert result["test"]["accuracy"] == pytest.approx(1 - wrong / len(data.test))

    # Stability: Adam's preconditioned sharpness against (2+2β₁)/((1−β₁)η) = 38/η = 3800.
    params = answers["parameters"]
    sentence = params["sentence"]
    assert "Adam's preconditioned sharpness λ_max(P⁻¹H)" in sentence
    assert "the edge of stability (2+2β₁)/((1−β₁)η) = 3.8e+03 (β₁ = 0.9, η = 0.01;" in sentence
    assert params["numbers"]["stability threshold"] == pytest.approx(38 / 0.01)
    x, y = data.train.x[:LIMIT], data.train.y[:LIMIT]
    hessian, flat, loss = _dense(model, x, y)
    lam = float(torch.linalg.eigvalsh(hessian)[-1])
    assert params["numbers"]["Hessian λ_max"] == pytest.approx(lam, rel=2e-3)
    # Adam's second moment at these weights: the mean squared gradient of one epoch of the
    # recipe's minibatches (order from its seed), then P = √v + ε.
    order = torch.randperm(LIMIT, generator=torch.Generator().manual_seed(RECIPE["seed"]))
    squares = []
    for index in order.split(RECIPE["batch_size"]):
        if len(index) < RECIPE["batch_size"]:
            break
        g = torch.autograd.grad(loss(flat.requires_grad_(), x[index].double(), y[index]), flat)[0]
        squares.append(g.detach() ** 2)
    scale = (torch.stack(squares).mean(0).sqrt() + 1e-8).rsqrt()
    preconditioned = float(torch.linalg.eigvalsh(scale[:, None] * hessian * scale[None, :])[-1])
    stated = params["numbers"]["preconditioned sharpness λ_max(P⁻¹H)"]
    assert stated == pytest.approx(preconditioned, rel=1e-2)
    assert f"{stated:.3g}" in sentence
    ratio = preconditioned / 3800
    verdict = "flat for its recipe" if ratio <= 0.5 else "edge of stability:"
    assert verdict in sentence

    # Fine-tuning used the given recipe (shortened, at a lower rate), not a default one.
    simpler = answers["simpler"]
    assert simpler["numbers"]["fine-tuned with"] == "adam, lr 0.01"
    recipe = simpler["results"]["simplify"]["recipe"]
    assert {k: recipe[k] for k in RECIPE} == RECIPE
    assert "not fine-tuned" not in simpler["sentence"]
    # Simpler families on the user's own data: the network's kernels need a plain MLP (said),
    # and each paired test counts against what the plain evaluation loop above predicts.
    other = simpler["results"]["baselines"]
    assert "ntk" not in [f["name"] for f in other["fits"]]
    assert any(n.startswith("ntk: the network is not a plain MLP") for n in other["notes"])
    assert other["network"]["test_accuracy"] == pytest.approx(1 - wrong / len(data.test))
    for fit in other["fits"]:
        paired = fit["paired"]
        lead = result["test"]["accuracy"] - fit["test_accuracy"]
        assert paired["a_only"] - paired["b_only"] == round(lead * len(data.test))
    assert simpler["sentence"].endswith("Other model families: " + other["answer"])

    # Bounds: with the initial weights, the prior is trained on part of the data and the
    # BatchNorm statistics are recomputed there; the certified predictor says so.
    bounds = answers["bounds"]
    rows = {r["bound"]: r for r in bounds["results"]["bounds"]["rows"]}
    gibbs = rows["PAC-Bayes-kl (prior: data)"]
    assert "BatchNorm statistics every drawn network uses" in gibbs["certifies"]
    assert "not the trained network itself" in gibbs["certifies"]
    assert "no PAC-Bayes bound was computed" not in bounds["sentence"]
    testset = bounds["numbers"]["bound: test-set (Langford 2005)"]
    exact = beta.ppf(0.95, wrong + 1, len(data.test) - wrong)  # Clopper–Pearson, one-sided
    assert testset == pytest.approx(exact, rel=1e-6)
    assert f"{testset:.1%}" in bounds["sentence"]

    # The user's module cannot be rebuilt at other widths: said, not guessed.
    assert answers["essential"]["sentence"].startswith("Not measured: the subject is the user's")


def test_without_the_recipe_nothing_is_assumed(own, capsys, monkeypatch):
    folder, *_ = own
    result = _diagnose(capsys, monkeypatch, folder)
    answers = result["answers"]
    assert any("training recipe is unknown" in n for n in result["notes"])
    assert any("initial weights are unknown" in n for n in result["notes"])
    parameters = answers["parameters"]["sentence"]
    assert "no edge-of-stability verdict: the training recipe is unknown" in parameters
    assert "flat for its recipe" not in parameters and "edge of stability (" not in parameters
    assert answers["parameters"]["results"]["stability"] is None
    simpler = answers["simpler"]
    assert simpler["numbers"]["fine-tuned with"] is None
    assert "Pruned models were not fine-tuned" in simpler["sentence"]
    # Without the initial weights no prior can be trained, so BatchNorm keeps PAC-Bayes out.
    bounds = answers["bounds"]["sentence"]
    assert "no PAC-Bayes bound was computed: the network has data-dependent buffers" in bounds
    assert "pass --init-weights to train one" in bounds
