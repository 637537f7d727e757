"""The sweep's per-point rules written again as a plain NumPy loop, one point at a time.

Optimizers follow optax's documented updates (``optax.sgd`` with heavy-ball momentum
``v ← g + μ v, x ← x − η v``; ``optax.adam`` with bias correction and ``eps`` outside the root).
Bookkeeping follows `jl.sweep`'s documented rules: at step t, stop with DIVERGED if the value,
gradient or point is not finite or ‖x‖ > escape radius, with CONVERGED if ‖g‖ <= gtol or x is within xtol of a
minimum; a stopped point keeps x; after T updates the test runs once more.
"""
from __future__ import annotations

import numpy as np

UNFINISHED, CONVERGED, DIVERGED = 0, 1, 2


def sgd(learning_rate, momentum=0.0):
    def init(x):
        return np.zeros_like(x)

    def update(g, velocity):
        velocity = g + momentum * velocity
        return -learning_rate * velocity, velocity

    return init, update


def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8):
    def init(x):
        return (np.zeros_like(x), np.zeros_like(x), 0)

    def update(g, state):
        mu, nu, count = state
        count += 1
        mu = b1 * mu + (1 - b1) * g
        nu = b2 * nu + (1 - b2) * g * g
        mu_hat = mu / (1 - b1**count)
        nu_hat = nu / (1 - b2**count)
        return -learning_rate * mu_hat / (np.sqrt(nu_hat) + eps), (mu, nu, count)

    return init, update


def _judge(x, value_and_grad, gtol, xtol, minima, escape_radius):
    """(status, value, gradient) at x: DIVERGED if anything is non-finite or ‖x‖ > escape radius,
    CONVERGED if ‖g‖ <= gtol or x is within xtol of a minimum, else UNFINISHED (go on)."""
    value, g = value_and_grad(x)
    finite = np.isfinite(value) and np.all(np.isfinite(g)) and np.all(np.isfinite(x))
    if not finite or np.linalg.norm(x) > escape_radius:
        return DIVERGED, value, g
    near = len(minima) and np.min(np.linalg.norm(x - minima, axis=1)) <= xtol
    if np.linalg.norm(g) <= gtol or near:
        return CONVERGED, value, g
    return UNFINISHED, value, g


def run_point(optimizer, value_and_grad, start, num_steps, *, gtol=0.0, xtol=0.0, minima=(),
              escape_radius=np.inf):
    """(params, loss, status, steps) of one start, by the engine's rules."""
    init, update = optimizer
    x = np.array(start, dtype=float)
    state = init(x)
    minima = np.asarray(minima, dtype=float).reshape(-1, x.size)
    with np.errstate(all="ignore"):
        for t in range(num_steps + 1):
            status, value, g = _judge(x, value_and_grad, gtol, xtol, minima, escape_radius)
            if status != UNFINISHED:
                return x, value, status, t
            if t == num_steps:
                return x, value, UNFINISHED, -1
            step, state = update(g, state)
            x = x + step


def first_check(path, value_and_grad, check_every, *, gtol=0.0, xtol=0.0, minima=(),
                escape_radius=np.inf):
    """(status, steps) when ``path`` (num_steps + 1, dim), never stopped, is judged only at the
    check steps 0, K, 2K, ... and num_steps (``check_every = K``), by the rules of `run_point`."""
    num_steps = len(path) - 1
    minima = np.asarray(minima, dtype=float).reshape(-1, path.shape[1])
    with np.errstate(all="ignore"):
        for t in sorted(set(range(0, num_steps + 1, check_every)) | {num_steps}):
            x = np.asarray(path[t], dtype=float)
            status, _, _ = _judge(x, value_and_grad, gtol, xtol, minima, escape_radius)
            if status != UNFINISHED:
                return status, t
    return UNFINISHED, -1
