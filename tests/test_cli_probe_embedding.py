import json

import numpy as np

from occamlab.data import data_spec, load_data
from occamlab.probes.embedding import diffusion_map
from tests.conftest import run

SMALL = [
    "--data",
    "gaussian_mixture",
    "--data-opt",
    "dim=4",
    "--data-opt",
    "separation=6",
    "--data-opt",
    "num_train=120",
    "--data-opt",
    "num_test=60",
    "--model-opt",
    "width=12",
]


def test_probe_embedding_json_page_trajectory_and_text(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    args = ["probe", "embedding", *SMALL, "--n", "40", "--neighbors", "12"]
    code, out, _ = run(capsys, *args, "--epochs", "2", "--store", store, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["spec"]["method"] == "diffusion" and result["n"] == 40
    assert result["layers"][0] == "input" and len(result["maps"]) == len(result["layers"])
    assert [m["epoch"] for m in result["trajectory"]][:: len(result["layers"]) - 1] == [0, 1, 2]
    first = result["maps"][0]
    coords = np.asarray(first["coordinates"])
    assert coords.shape == (40, 2) and len(first["eigenvalues"]) == 2
    assert all(v < 0 for v in first["eigenvalues"])
    # the numbers are the library's on the same examples: the diffusion map of the raw inputs
    data = load_data(data_spec("gaussian_mixture", dim=4, separation=6, num_train=120, num_test=60))
    x = data.test.x[result["indices"]].double().numpy()
    m = diffusion_map(x, components=2, k=12, bandwidth="variable")
    np.testing.assert_allclose(coords, m.coordinates, atol=1e-8)
    assert result["labels"] == data.test.y[result["indices"]].tolist()
    page = (tmp_path / "reports" / f"{result['id']}.html").read_text()
    assert "Maps by layer" in page and "Maps along training" in page
    assert page.count("data:image/png;base64") >= 2
    for title in ("Maps by layer", "Maps along training"):
        assert (tmp_path / result["figures"][title]).stat().st_size > 1000
    # another method, read back for people
    code, out, _ = run(capsys, *args, "--method", "pca", "--store", store)
    text = " ".join(out.split())
    assert code == 0 and "pca maps of 40 test examples" in text and "5-NN accuracy" in text
    code, out, err = run(capsys, *args, "--method", "lle", "--store", store, "--json")
    assert code == 2 and "method" in (err + out)
