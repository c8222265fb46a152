"""occamlab: a PyTorch toolkit for the empirical science of deep learning."""

from occamlab.data import DATASETS, Data, Split, data_spec, load_data
from occamlab.models import MODELS, build_model, count_parameters, model_spec
from occamlab.recipes import import_subject, make_subject
from occamlab.store import Store
from occamlab.subject import Evaluation, Subject
from occamlab.train import Callback, TrainSpec, fit
from occamlab.version import __version__
from occamlab.weights import load_weights, save_weights

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
