import json

import numpy as np

from occamlab import make_subject
from occamlab.data import data_spec
from occamlab.models import model_spec
from occamlab.probes.complexity import functional_complexity
from tests.conftest import run

SMALL = [
    "--data",
    "gaussian_mixture",
    "--data-opt",
    "dim=4",
    "--data-opt",
    "num_train=120",
    "--data-opt",
    "num_test=60",
    "--model-opt",
    "width=12",
]


def test_probe_complexity_json_page_and_text(capsys, tmp_path):
    from occamlab import save_weights

    store = str(tmp_path / "runs.sqlite")
    subject = make_subject(
        model=model_spec("mlp", width=12),
        data=data_spec("gaussian_mixture", dim=4, num_train=120, num_test=60),
        seed=0,
    )
    weights = save_weights(subject.model, tmp_path / "net.safetensors")
    args = ["probe", "complexity", *SMALL, "--weights", str(weights), "--bins", "6"]
    args += ["--h-features", "3", "--h-limit", "20"]
    code, out, _ = run(capsys, *args, "--store", store, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["num_features"] == 4 and result["n"] == 60 and result["h_n"] == 20
    assert 1 <= result["features_used"] <= 4 and result["used"] == sorted(result["used"])
    assert 0 <= result["interaction_strength"] <= 1 and result["main_effect_complexity"] >= 0
    assert len(result["h2"]) == 3 and result["h2"][0][0] is None
    # the numbers are the library's on the same subject
    direct = functional_complexity(subject, bins=6, h_features=3, h_limit=20)
    assert direct.features_used == result["features_used"]
    assert np.isclose(direct.interaction_strength, result["interaction_strength"], rtol=1e-9)
    assert np.isclose(direct.main_effect_complexity, result["main_effect_complexity"], rtol=1e-9)
    page = (tmp_path / "reports" / f"{result['id']}.html").read_text()
    assert "Measures" in page and "Friedman" in page and "data:image/png;base64" in page
    assert (tmp_path / result["figures"]["ALE main effects"]).stat().st_size > 1000
    assert (tmp_path / result["figures"]["Friedman's H statistic"]).stat().st_size > 1000
    surface = result["figures"]["Second-order ALE of the strongest pair"]
    assert (tmp_path / surface).stat().st_size > 1000 and len(result["surface"]["features"]) == 2
    code, out, _ = run(capsys, *args, "--store", store)
    text = " ".join(out.split())
    assert code == 0 and f"IAS = {result['interaction_strength']:.4f}" in text
    code, out, err = run(capsys, *args, "--epsilon", "2", "--store", store, "--json")
    assert code == 2 and "epsilon" in (err + out)
