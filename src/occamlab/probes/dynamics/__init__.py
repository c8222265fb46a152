"""Optimization dynamics in closed form and as measurements: stationary distributions of SGD,
convergence of over-parameterized networks, deep linear networks, mean-field and ODE limits.
One module per topic; the experiments of :mod:`occamlab.experiments` compare them with training."""
