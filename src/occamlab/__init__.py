"""occamlab: a PyTorch toolkit for the empirical science of deep learning."""

__version__ = "0.1.0"

from occamlab.data import DATASETS, Data, Split, data_spec, load_data  # noqa: E402
from occamlab.models import MODELS, build_model, count_parameters, model_spec  # noqa: E402
from occamlab.recipes import import_subject, make_subject  # noqa: E402
from occamlab.store import Store  # noqa: E402
from occamlab.subject import Evaluation, Subject  # noqa: E402
from occamlab.train import Callback, TrainSpec, fit  # noqa: E402
from occamlab.weights import load_weights, save_weights  # noqa: E402

__all__ = [
    "DATASETS",
    "MODELS",
    "Callback",
    "Data",
    "Evaluation",
    "Split",
    "Store",
    "Subject",
    "TrainSpec",
    "__version__",
    "build_model",
    "count_parameters",
    "data_spec",
    "fit",
    "import_subject",
    "load_data",
    "load_weights",
    "make_subject",
    "model_spec",
    "save_weights",
]
