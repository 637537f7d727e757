"""Sohl-Dickstein (2024), "The boundary of neural network trainability is fractal": the network,
its conditions and its training rule, re-exported by :mod:`jaxopt_lab.problems`.

The paper's code (github.com/Sohl-Dickstein/fractal) runs with x64 enabled, so its
``jax.random.normal`` draws are float64. Every random number here is drawn in float64 and then
cast to the problem's dtype, so a float32 network starts from the paper's numbers rounded to
float32, not from other numbers.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import check_choice, check_int, check_positive

ACTIVATIONS = ("tanh", "relu", "identity")


def _hidden(activation: str, inputs: jax.Array, input_weights: jax.Array) -> jax.Array:
    # Mean-field scaling, written in the paper's order of operations (z = x·W₀/√n, then the √2
    # gain of tanh and ReLU) so that both round alike and label the same grid points.
    z = inputs @ input_weights / jnp.sqrt(input_weights.shape[0])
    if activation == "tanh":
        return jnp.tanh(z * jnp.sqrt(2.0))
    if activation == "relu":
        return jax.nn.relu(z) * jnp.sqrt(2.0)
    return z


def _concrete_key(key: jax.Array, name: str) -> np.ndarray:
    try:
        return np.asarray(key)
    except jax.errors.TracerArrayConversionError as error:
        raise ValueError(
            f"{name} must be a concrete PRNG key when x64 is disabled: float64 draws (the "
            f"paper's numbers) are made outside jit/vmap then, so call it eagerly") from error


def float64_normal(key: jax.Array, shape: tuple[int, ...], dtype) -> jax.Array:
    """``jax.random.normal(key, shape)`` drawn in float64, then cast to ``dtype``.

    With x64 disabled the draw is made eagerly in an x64 scope, so ``key`` must be concrete.
    """
    if jax.config.jax_enable_x64:
        return jax.random.normal(key, shape, jnp.float64).astype(dtype)
    key = _concrete_key(key, "key")
    with jax.ensure_compile_time_eval(), jax.enable_x64(True):
        draw = np.asarray(jax.random.normal(jnp.asarray(key), shape, jnp.float64))
    return jnp.asarray(draw.astype(dtype))


def paper_minibatch_indices(key: jax.Array | None, num_steps: int, minibatch_size: int,
                            num_examples: int) -> jax.Array:
    """The paper's minibatches: step ``t`` draws ``randint(split(key, T)[t], (B,), 0, N)``.

    With replacement, the same for every grid point; ``key`` defaults to ``PRNGKey(42)`` as in
    the paper's code, and is drawn with 64-bit integers (x64) as there.
    """
    def draw(key):
        keys = jax.random.split(key, num_steps)
        return jax.vmap(lambda k: jax.random.randint(k, (minibatch_size,), 0, num_examples))(keys)

    if jax.config.jax_enable_x64:
        return draw(jax.random.PRNGKey(42) if key is None else key)
    with jax.ensure_compile_time_eval():
        key = np.asarray(jax.random.PRNGKey(42)) if key is None else _concrete_key(
            key, "minibatch_key")
        with jax.enable_x64(True):
            indices = np.asarray(draw(jnp.asarray(key)))
    return jnp.asarray(indices.astype(np.int32))


def network_loss(params: optax.Params, inputs: jax.Array, targets: jax.Array,
                 activation: str = "tanh") -> jax.Array:
    """``mean((act(x·W₀)·W₁ / n − y)²)`` with the paper's mean-field scaling (n = width)."""
    root_width = jnp.sqrt(params["output"].shape[0])
    hidden = _hidden(activation, inputs, params["input"])
    return jnp.mean((hidden @ params["output"] / root_width / root_width - targets) ** 2)


def default_num_examples(width: int, activation: str) -> int:
    # The paper: as many examples as parameters (n² + n), but n for the linear network, whose
    # loss only sees the n × 1 product W₀·W₁.
    return width if activation == "identity" else width * width + width


def draw_data(key: jax.Array, width: int, num_examples: int, dtype
              ) -> tuple[jax.Array, jax.Array]:
    """The paper's inputs and targets for ``key``, in the order of its splits."""
    key, _ = jax.random.split(key)  # the paper's starting weights: init(split(key)[1])
    key, key_inputs = jax.random.split(key)
    _, key_targets = jax.random.split(key)
    return (float64_normal(key_inputs, (num_examples, width), dtype),
            float64_normal(key_targets, (num_examples, 1), dtype))


def draw_weights(key: jax.Array, width: int, dtype) -> optax.Params:
    key_input, key_output = jax.random.split(key)
    return {"input": float64_normal(key_input, (width, width), dtype),
            "output": float64_normal(key_output, (width, 1), dtype)}
