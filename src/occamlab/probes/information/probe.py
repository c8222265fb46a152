"""``information_probe``: each layer's place in the information plane, now and (optionally)
along a retraining of a copy of the subject."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import torch

from occamlab.jsonable import jsonable
from occamlab.probes.information.estimators import hsic
from occamlab.probes.information.monitor import (
    InformationPlaneMonitor,
    activation_layers,
    representations,
)
from occamlab.specs import make_spec
from occamlab.subject import Subject


@dataclass(frozen=True)
class InformationSpec:
    """Options of :func:`information_probe` (and the flags of ``occam probe information``).

    Attributes:
        estimator: binning, kde_upper or kde_lower (see occamlab.probes.information).
        bins: bins per unit for binning.
        noise_var: noise variance σ² of the kernel-density bounds.
        limit: training inputs used as X (0: all).
        epochs: retrain a copy of the subject for this many epochs, recording the plane (0: only
            the current parameters).
        reinit: start the retraining from a fresh initialization (drawn from seed).
        every: epochs between estimates while retraining.
        lr: Adam learning rate of the retraining.
        batch_size: minibatch size of the retraining.
        seed: seed of the fresh initialization and the data order.
    """

    estimator: Literal["binning", "kde_upper", "kde_lower"] = "binning"
    bins: int = 30
    noise_var: float = 0.1
    limit: int = 2000
    epochs: int = 0
    reinit: bool = True
    every: int = 1
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.bins < 2 or self.noise_var <= 0 or self.limit < 0 or self.epochs < 0:
            raise ValueError("need bins >= 2, noise_var > 0, limit >= 0 and epochs >= 0")
        if self.every < 1 or self.lr <= 0 or self.batch_size < 0:
            raise ValueError("need every >= 1, lr > 0 and batch_size >= 0")


@dataclass(frozen=True)
class InformationReport:
    """Per-layer ``I(X;T)``, ``I(T;Y)`` (bits) and normalized HSIC now, and the trajectory."""

    spec: InformationSpec
    layers: list[dict[str, Any]]
    records: list[dict[str, Any]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "spec": self.spec,
                "layers": self.layers,
                "records": self.records,
                "evaluated_in_eval_mode": True,
                "seconds": self.seconds,
            }
        )

    def plot(self, ax=None):
        """The information plane (trajectory if retrained, else the current points)."""
        from occamlab.probes.information.plot import plot_information_plane

        bins = self.spec.bins if self.spec.estimator == "binning" else None
        return plot_information_plane(self.records, estimator=self.spec.estimator, bins=bins, ax=ax)


def information_probe(
    subject: Subject, *, spec: InformationSpec | None = None, **options: Any
) -> InformationReport:
    """Where each layer of ``subject`` sits in the information plane (options:
    :class:`InformationSpec`); with ``epochs > 0`` also the trajectory of a retrained copy.

    Classification only (``I(T;Y)`` needs discrete labels). The subject is never modified.
    """
    from occamlab.train.replay import retrain_copy

    spec = make_spec(InformationSpec, {**(spec.__dict__ if spec else {}), **options})
    if subject.data.task != "classification":
        raise ValueError("the information plane needs class labels; this subject is regression")
    started = time.perf_counter()
    train = subject.data.train
    n = len(train) if spec.limit == 0 else min(spec.limit, len(train))
    x, y = train.x[:n], train.y[:n]
    monitor = InformationPlaneMonitor(
        x,
        y,
        every=spec.every,
        estimators=(spec.estimator,),
        bins=(spec.bins,),
        noise_var=spec.noise_var,
    )
    monitor.measure(subject.model, 0)
    now = {r["layer"]: r for r in monitor.records}
    reps = representations(subject.model, x, activation_layers(subject.model), softmax=True)
    onehot = torch.nn.functional.one_hot(y, subject.data.num_outputs).double()
    layers = [
        {
            "layer": name,
            "units": int(t.shape[1]),
            "i_xt": now[name]["i_xt"],
            "i_ty": now[name]["i_ty"],
            "nhsic_xt": hsic(x, t, normalized=True),
            "nhsic_yt": hsic(onehot, t, normalized=True),
        }
        for name, t in reps.items()
    ]
    records = list(monitor.records)
    if spec.epochs:
        monitor.records = []
        retrain_copy(
            subject,
            epochs=spec.epochs,
            lr=spec.lr,
            batch_size=spec.batch_size,
            seed=spec.seed,
            reinit=spec.reinit,
            callbacks=[monitor],
        )
        records = monitor.records
    return InformationReport(spec, layers, records, time.perf_counter() - started)
