"""neural-tangents timings for benchmarks/ntk.py, run in its own environment (jax 0.4.23).

Usage: python _ntk_neural_tangents.py IN.npz OUT.json [REPEATS]. IN holds the inputs ``x`` and
the parameters of the MLP (``mlp.*``) and the conv net (``cnn.*``) exactly as benchmarks/ntk.py
built them in PyTorch; OUT receives the best-of-N seconds of each implementation (after
compilation) and the kernels' relative distance to the float64 reference in IN.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import neural_tangents as nt  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_platform_name", "cpu")


def mlp_apply(params, x):
    h = x
    for i in range(2):
        h = jax.nn.relu(h @ params[f"w{i}"].T + params[f"b{i}"])
    return h @ params["w2"].T + params["b2"]


def cnn_apply(params, x):
    h = x[:, None, :]
    for i in range(3):
        w = params[f"w{i}"]
        pad = w.shape[-1] // 2
        h = jax.lax.conv_general_dilated(
            h, w, window_strides=(1,), padding=[(pad, pad)], dimension_numbers=("NCH", "OIH", "NCH")
        )
        h = jax.nn.relu(h + params[f"b{i}"][None, :, None])
    h = h.reshape(h.shape[0], -1)
    return h @ params["w3"].T + params["b3"]


def main() -> None:
    data = np.load(sys.argv[1])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    x = jnp.asarray(data["x"])
    out = {"jax": jax.__version__, "neural_tangents": nt.__version__}
    impls = {
        "NTK_VECTOR_PRODUCTS": nt.NtkImplementation.NTK_VECTOR_PRODUCTS,
        "JACOBIAN_CONTRACTION": nt.NtkImplementation.JACOBIAN_CONTRACTION,
        "STRUCTURED_DERIVATIVES": nt.NtkImplementation.STRUCTURED_DERIVATIVES,
    }
    for model, apply in (("mlp", mlp_apply), ("cnn", cnn_apply)):
        params = {
            k.split(".", 1)[1]: jnp.asarray(v) for k, v in data.items() if k.startswith(model + ".")
        }
        ref = data[f"ref_{model}"]
        for name, impl in impls.items():
            fn = jax.jit(
                nt.empirical_ntk_fn(apply, trace_axes=(), vmap_axes=0, implementation=impl)
            )
            kernel = np.asarray(fn(x, None, params).block_until_ready())
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                fn(x, None, params).block_until_ready()
                best = min(best, time.perf_counter() - start)
            error = float(np.linalg.norm(kernel - ref) / np.linalg.norm(ref))
            out[f"{model}/{name}"] = {"seconds": best, "relative_error": error}
            print(f"  neural-tangents {model} {name}: {best:.3f} s, error {error:.1e}", flush=True)
    with open(sys.argv[2], "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
