"""Retraining a copy of a subject, for probes that watch a network learn (the information plane,
maps of representations along training)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from occamlab.subject import Subject
from occamlab.train.loop import Callback, fit
from occamlab.train.spec import TrainSpec


def retrain_copy(
    subject: Subject,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    reinit: bool,
    callbacks: Sequence[Callback] = (),
) -> Subject:
    """A copy of ``subject`` (first re-initialized from ``seed`` when ``reinit``) trained by Adam
    at the constant rate ``lr`` for ``epochs`` epochs with ``callbacks``; ``subject`` itself is
    not touched."""
    from occamlab.models.init import initialize_

    clone = subject.clone()
    if reinit:
        initialize_(clone.model, generator=torch.Generator().manual_seed(seed))
    recipe = TrainSpec(
        optimizer="adam",
        lr=lr,
        batch_size=batch_size,
        epochs=epochs,
        schedule="constant",
        seed=seed,
        eval_every=epochs,
    )
    fit(clone, recipe, callbacks=list(callbacks))
    return clone
