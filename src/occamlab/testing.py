"""Dense float64 oracles and exactly solvable subjects, for tests of curvature code.

The oracles build whole matrices with :mod:`torch.func` on all (or the first ``limit``)
examples at once, in float64 and in eval mode, as functions of the flat parameter vector. They
share no code path with the streaming operators of :mod:`occamlab.linalg` beyond the forward
pass, so agreement is a meaningful check. Sizes are ``P × P``: keep models small (a few hundred
parameters).

Examples:
    >>> import torch
    >>> s = least_squares_subject(n=30, d=4, seed=0)
    >>> X = s.data.train.x.double()
    >>> bool(torch.allclose(dense_hessian(s), 2 * X.T @ X / 30))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call

from occamlab.data.base import Data, Split
from occamlab.linalg.hessian import Block, prepare_forward_ad, resolve_block
from occamlab.linalg.params import flatten, unflatten
from occamlab.subject import Subject, loss_value

__all__ = [
    "dense_fisher",
    "dense_ggn",
    "dense_hessian",
    "least_squares_subject",
    "output_hessians",
    "tiny_subject",
]

TINY_KINDS: tuple[str, ...] = ("tanh_mlp", "relu_mlp", "bn_cnn")


def _setup(
    subject: Subject,
    split: str,
    limit: int | None,
    block: Block,
    params: Mapping[str, torch.Tensor] | None,
) -> tuple[
    Callable[[torch.Tensor, torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor
]:
    """``(outputs(w, x), w0, x, y)``: network outputs as a function of the flat block vector."""
    prepare_forward_ad()
    dt = torch.float64
    trainable = subject.params() if params is None else dict(params)
    values = {k: v.detach().to(dt, copy=True) for k, v in trainable.items()}
    frozen = {
        k: p.detach().to(dt, copy=True)
        for k, p in subject.model.named_parameters()
        if k not in values
    }
    buffers = {
        k: (b.detach().to(dt, copy=True) if b.is_floating_point() else b.detach().clone())
        for k, b in subject.model.named_buffers()
    }
    names = resolve_block(list(values), block)
    like = {k: values[k] for k in names}
    data = subject.split(split)
    n = len(data) if limit is None else min(limit, len(data))
    x, y = data.x[:n], data.y[:n]
    if x.is_floating_point():
        x = x.to(dt)

    def outputs(w: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        full = {**values, **frozen, **unflatten(w, like)}
        return functional_call(subject.model, (full, buffers), (inputs,))

    return outputs, flatten(like), x, y


def dense_hessian(
    subject: Subject,
    *,
    split: str = "train",
    limit: int | None = None,
    block: Block = None,
    params: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The ``P × P`` float64 Hessian of the full-data mean loss (eval mode), by
    :func:`torch.func.hessian` of the loss as a function of the flat parameter vector."""
    outputs, w0, x, y = _setup(subject, split, limit, block, params)

    def loss(w: torch.Tensor) -> torch.Tensor:
        return loss_value(outputs(w, x), y, subject.loss)

    with subject.eval_mode():
        return torch.func.hessian(loss)(w0).detach()


def output_hessians(outputs: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-example Hessians ``(n, k, k)`` of the loss with respect to the network outputs.

    Cross-entropy: ``diag(p) − p pᵀ`` with ``p = softmax(f)``; mse (mean over the ``k`` outputs
    of the squared error): ``(2/k) I``.
    """
    n, k = outputs.shape
    if loss == "cross_entropy":
        p = outputs.softmax(dim=-1)
        return torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    if loss == "mse":
        eye = torch.eye(k, dtype=outputs.dtype)
        return (2.0 / k) * eye.expand(n, k, k).clone()
    raise ValueError(f"unknown loss {loss!r}")


def dense_ggn(
    subject: Subject,
    *,
    split: str = "train",
    limit: int | None = None,
    block: Block = None,
    params: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The float64 generalized Gauss-Newton ``(1/n) Σ_i J_iᵀ H_i J_i`` from the full Jacobian
    ``J`` of the outputs (:func:`torch.func.jacrev`) and :func:`output_hessians`."""
    outputs, w0, x, y = _setup(subject, split, limit, block, params)
    with subject.eval_mode():
        out = outputs(w0, x).detach()
        jac = torch.func.jacrev(lambda w: outputs(w, x))(w0).detach()  # (n, k, P)
    h = output_hessians(out, subject.loss)
    return torch.einsum("nkp,nkl,nlq->pq", jac, h, jac) / out.shape[0]


def dense_fisher(
    subject: Subject,
    *,
    split: str = "train",
    limit: int | None = None,
    block: Block = None,
    params: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The float64 empirical Fisher ``(1/n) Σ_i g_i g_iᵀ`` from the Jacobian of the vector of
    per-example losses (rows ``g_i``, by :func:`torch.func.jacrev`)."""
    outputs, w0, x, y = _setup(subject, split, limit, block, params)

    def losses(w: torch.Tensor) -> torch.Tensor:
        return loss_value(outputs(w, x), y, subject.loss, reduction="none")

    with subject.eval_mode():
        g = torch.func.jacrev(losses)(w0).detach()  # (n, P)
    return g.T @ g / g.shape[0]


def least_squares_subject(
    n: int = 50, d: int = 5, *, seed: int = 0, noise: float = 0.1, n_test: int = 10
) -> Subject:
    """Linear regression with a bias-free ``nn.Linear(d, 1)`` and mse loss: exactly solvable.

    Inputs are standard Gaussian, targets ``X w* + noise``. The loss is
    ``(1/n) ‖X w − y‖²`` so the Hessian (and the GGN) is exactly ``2 XᵀX / n`` everywhere, with
    ``X = subject.data.train.x`` (``(n, d)``, float32) and the minimizer the least-squares
    solution.
    """
    if n < 1 or d < 1:
        raise ValueError(f"need n >= 1 and d >= 1, got n={n}, d={d}")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + n_test, d, generator=g)
    w_star = torch.randn(d, 1, generator=g)
    y = x @ w_star + noise * torch.randn(n + n_test, 1, generator=g)
    model = nn.Linear(d, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, d, generator=g))
    test = Split(x[n:], y[n:]) if n_test > 0 else Split(x[:0], y[:0])
    data = Data(
        name="least_squares",
        train=Split(x[:n], y[:n]),
        test=test,
        task="regression",
        num_outputs=1,
    )
    return Subject(
        model=model,
        data=data,
        loss="mse",
        name="least squares",
        meta={"n": n, "d": d, "seed": seed, "noise": noise},
    )


def tiny_subject(
    kind: str = "tanh_mlp",
    *,
    n: int = 48,
    loss: str | None = None,
    seed: int = 0,
    n_test: int = 16,
) -> Subject:
    """A subject small enough for dense oracles (a few hundred parameters), 3 classes.

    Kinds: ``"tanh_mlp"`` (5-8-3, tanh, weights ~ N(0, 0.25); 75 parameters), ``"relu_mlp"``
    (occamlab ``mlp`` width 6, depth 2 on 5 features; 99 parameters) and ``"bn_cnn"`` (occamlab
    ``cnn2d`` with 4 channels, one block with BatchNorm, on 1×8×8 images; 239 parameters; the
    BatchNorm running statistics and affine parameters are set to non-trivial values so eval
    mode differs from train mode). Labels come from a random linear teacher; ``loss="mse"``
    regresses onto one-hot vectors. The model is left in train mode, as after training.
    """
    from occamlab.models import build_model, model_spec

    if kind not in TINY_KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(TINY_KINDS)}")
    g = torch.Generator().manual_seed(seed)
    shape = (1, 8, 8) if kind == "bn_cnn" else (5,)
    total = n + n_test
    x = torch.randn(total, *shape, generator=g)
    teacher = torch.randn(x[0].numel(), 3, generator=g)
    y = (x.reshape(total, -1) @ teacher).argmax(dim=1)
    if kind == "tanh_mlp":
        model: nn.Module = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
    elif kind == "relu_mlp":
        model = build_model(
            model_spec("mlp", width=6, depth=2), input_shape=shape, num_outputs=3, seed=seed
        )
    else:
        model = build_model(
            model_spec("cnn2d", channels=4, layers=1, batchnorm=True),
            input_shape=shape,
            num_outputs=3,
            seed=seed,
        )
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.copy_(0.3 * torch.randn(m.num_features, generator=g))
                    m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
                    m.weight.copy_(1 + 0.3 * torch.randn(m.num_features, generator=g))
                    m.bias.copy_(0.3 * torch.randn(m.num_features, generator=g))
    model.train()
    data = Data(
        name=f"tiny_{kind}",
        train=Split(x[:n], y[:n]),
        test=Split(x[n:], y[n:]),
        task="classification",
        num_outputs=3,
    )
    return Subject(model=model, data=data, loss=loss, name=f"tiny {kind}")  # type: ignore[arg-type]
