"""A trainability picture of Sohl-Dickstein (2024) as one `jl.sweep`.

The network's parameters, ravelled, are the points of a `Surface` whose function is the
full-batch loss; each grid cell is one point: the learning-rate plane repeats the start and
gives each point its pair of per-layer rates (``hyperparams_per_point``, `layerwise_sgd`), the
offset plane shifts each start's input weights and gives it its rate. The paper's rule
(`mean_normalized_loss_rule`) sees the loss before every step; nothing stops a run early but a
non-finite value (``gtol = xtol = 0``, no minima, no escape radius).

A run the sweep stopped is finished here as gradient descent would have gone on, so the rule
judges every run on all its ``num_steps`` losses: a point that DIVERGED (its parameters, loss or
gradient no longer finite) would have seen non-finite losses from there on, which the rule
counts as its cap; one that CONVERGED (gradient exactly 0) stays where it is, its loss constant.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from jaxopt_lab.engine import Engine, Status, mean_normalized_loss_rule, sweep
from jaxopt_lab.engine._divergence import MeanNormalizedLossState
from jaxopt_lab.optimizers.layerwise import layerwise_sgd
from jaxopt_lab.surfaces import Surface

#: The paper's rule, one object: every map of a process shares its compiled sweeps.
PAPER_RULE = mean_normalized_loss_rule()


@functools.lru_cache(maxsize=32)
def _surface_and_factories(loss: Callable, structure: Any, shapes: tuple, dtype: str
                           ) -> tuple[Surface, Callable, Callable]:
    """(surface over the ravelled parameters, learning-rate-pair factory, one-rate factory),
    made once per loss and parameter layout, so that repeated maps reuse their compiled sweep."""
    template = jax.tree.unflatten(structure, [jnp.zeros(shape, dtype) for shape in shapes])
    _, unravel = ravel_pytree(template)
    sizes = tuple(int(np.prod(shape)) for shape in shapes)
    dim = sum(sizes)
    names = [jax.tree_util.keystr(path) for path, _ in
             jax.tree_util.tree_flatten_with_path(template)[0]]
    first_layer = [index for index, name in enumerate(names) if "input" in name]
    if len(first_layer) != 1 or len(sizes) != 2:
        raise ValueError("trainability_map needs the trainability_network's parameters "
                         f"{{'input', 'output'}}, got leaves {names}")

    def surface_fn(point: jax.Array) -> jax.Array:
        return loss(unravel(point))

    surface = Surface("trainability_network", surface_fn, dim, ((-1.0, 1.0),) * dim)

    def two_rates(input_learning_rate, output_learning_rate):
        rates = ((input_learning_rate, output_learning_rate) if first_layer == [0]
                 else (output_learning_rate, input_learning_rate))
        return layerwise_sgd(rates, sizes)

    def one_rate(learning_rate):
        return layerwise_sgd((learning_rate, learning_rate), sizes)

    return surface, two_rates, one_rate


@functools.partial(jax.jit, static_argnums=(4,))
def _labels(state: MeanNormalizedLossState, status: jax.Array, steps: jax.Array,
            loss: jax.Array, num_steps: int) -> tuple[jax.Array, jax.Array]:
    """(diverged, measure) of every run, the stopped ones finished as the module says.

    A stopped run's later losses are one value (non-finite, or its constant loss), so showing
    the rule the ``n`` of them is a shift of its tail by ``n`` filled with that ratio, and ``n``
    times the ratio (and its inverse) added to the sums.
    """
    after = jnp.where(status == Status.DIVERGED, jnp.nan, loss)
    ratio = jax.vmap(lambda state, loss: PAPER_RULE.update(state, loss, 0, num_steps).tail[-1])(
        state, after)
    remaining = jnp.where(status == Status.UNFINISHED, 0, num_steps - steps)
    size = state.tail.shape[-1]
    moved = jnp.arange(size) + remaining[:, None]
    tail = jnp.where(moved < size,
                     jnp.take_along_axis(state.tail, jnp.minimum(moved, size - 1), axis=1),
                     ratio[:, None])
    count = remaining.astype(ratio.dtype)
    finished = MeanNormalizedLossState(state.initial, tail, state.total + count * ratio,
                                       state.inverse_total + count / ratio)
    diverged = (status == Status.DIVERGED) | jax.vmap(PAPER_RULE.diverged)(finished)
    return diverged, jnp.where(diverged, finished.inverse_total, -finished.total)


def sweep_map(problem_loss: Callable, params: optax.Params, x_values: np.ndarray,
              y_values: np.ndarray, *, plane: str, num_steps: int, chunk_size: int | None,
              dtype: Any, check_every: int | None = None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(final loss, diverged, measure) of every grid cell ``(x_values[i], y_values[i])``."""
    leaves, structure = jax.tree.flatten(params)
    surface, two_rates, one_rate = _surface_and_factories(
        problem_loss, structure, tuple(np.shape(leaf) for leaf in leaves), np.dtype(dtype).name)
    start, _ = ravel_pytree(params)
    start = start.astype(dtype)
    count = x_values.size
    x_values, y_values = np.asarray(x_values, dtype), np.asarray(y_values, dtype)
    if plane == "learning_rates":
        starts = jnp.broadcast_to(start, (count, start.shape[0]))
        factory = two_rates
        hyperparams = {"input_learning_rate": x_values, "output_learning_rate": y_values}
    else:  # the input weights shifted by the offset (the first layer's entries, ravel order)
        mask = ravel_pytree({name: jnp.full(jnp.shape(leaf), name == "input")
                             for name, leaf in params.items()})[0]
        starts = jnp.where(mask, start + jnp.asarray(x_values)[:, None], start)
        factory = one_rate
        hyperparams = {"learning_rate": y_values}
    result = sweep(factory, surface, starts, num_steps, hyperparams=hyperparams,
                   hyperparams_per_point=True, divergence=PAPER_RULE, gtol=0.0, xtol=0.0,
                   basin_radius=0.0,
                   engine=Engine(chunk_size=chunk_size, backend="scan", check_every=check_every))
    diverged, measure = _labels(result.divergence_state, result.status, result.steps,
                                result.loss, num_steps)
    return result.loss, diverged, measure
