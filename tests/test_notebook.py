import torch

from occamlab.linalg.lanczos import eigsh
from occamlab.linalg.operator import DenseOperator
from occamlab.probes.connectivity import interpolate
from occamlab.subject import Evaluation
from occamlab.testing import tiny_subject


def test_results_render_their_numbers_and_plots_in_notebooks():
    html = Evaluation(loss=0.25, accuracy=0.5, n=10)._repr_html_()
    assert "<strong>Evaluation</strong>" in html and "0.25" in html and "<img" not in html
    subject = tiny_subject("relu_mlp")
    p = subject.params()
    path = interpolate(subject, p, {k: v * 0.5 for k, v in p.items()}, num_points=3)
    html = path._repr_html_()
    assert "loss_barrier" in html and "data:image/png;base64," in html
    r = eigsh(DenseOperator(torch.diag(torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64))), k=1)
    assert "num_matvecs" in r._repr_html_()
