"""The compiled core of `jl.sweep`: ``jit(vmap(scan(optimizer step + bookkeeping)))``.

One step of one point, at ``params_t`` (``t`` optimizer updates applied so far):

1. ``value, grad = value_and_grad(surface.fn)(params_t)``;
2. the point *fails* if ``value``, ``grad`` or ``params_t`` is not finite or
   ``‖params_t‖ > surface.escape_radius``; it *converges* if ``‖grad‖ <= gtol`` or ``params_t``
   is within ``xtol`` of one of ``surface.minima``;
3. a point that fails or converges stops: its status (DIVERGED wins over CONVERGED) and step ``t``
   are recorded, and its params stay frozen from then on, so a diverged point keeps the place
   where it failed and never overflows further (its optimizer state is never read again);
4. otherwise the optimizer update is applied.

After ``num_steps`` updates the same test runs once more at ``params_T`` (``steps`` may equal
``num_steps``). The bookkeeping reuses the gradient the update needs; what it still costs on a
CPU (the masked update of params and state) is recorded in benchmarks/README.md. Kernels are cached per (optimizer, surface, configuration); jax's
own cache then compiles once per shape.
"""
from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jaxopt_lab.surfaces import Surface
from jaxopt_lab.types import STATUS_DTYPE, Status

#: Kernels kept alive by the cache; each holds its compiled executables.
CACHE_SIZE = 32
_CACHE: collections.OrderedDict = collections.OrderedDict()


class KernelConfig(NamedTuple):
    """Everything static about a sweep besides the optimizer, the surface and the shapes."""

    num_steps: int
    gtol: float
    xtol: float
    basin_radius: float
    layout: str  # "array" | "coordinates"
    unroll: int
    record_loss_every: int | None
    record_trajectory: bool
    hyperparam_names: tuple[str, ...]  # empty: ``optimizer`` is a transformation, not a factory


def _sum_squares(tree) -> jax.Array:
    return sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree.leaves(tree))


def _min_distance_squared(params, minima: np.ndarray, layout: str) -> jax.Array:
    """Squared distance from ``params`` to the nearest of ``minima`` (K, dim), K >= 1."""
    if layout == "coordinates":
        distances = [sum(jnp.square(p - m) for p, m in zip(params, minimum)) for minimum in minima]
        return functools.reduce(jnp.minimum, distances)
    return jnp.min(jnp.sum(jnp.square(params[None, :] - minima.astype(params.dtype)), axis=-1))


def _build(optimizer: Any, surface: Surface, config: KernelConfig) -> Callable:
    minima = surface.minima_array
    escape_squared = float(surface.escape_radius) ** 2
    gtol_squared, xtol_squared = config.gtol**2, config.xtol**2
    basin_squared = config.basin_radius**2
    coordinates = config.layout == "coordinates"
    value_fn = (lambda p: surface.fn(jnp.stack(p))) if coordinates else surface.fn
    value_and_grad = jax.value_and_grad(value_fn)

    def make_optimizer(hyperparams):
        if not config.hyperparam_names:
            return optimizer
        tx = optimizer(**hyperparams)
        if not isinstance(tx, optax.GradientTransformation):
            raise TypeError(f"optimizer factory must return an optax transformation, got {tx!r}")
        return tx

    def judge(params, grad, value=None):
        """(ok, converged) at ``params``: finite and inside the escape radius; criterion met."""
        params_squared, grad_squared = _sum_squares(params), _sum_squares(grad)
        ok = jnp.isfinite(grad_squared + params_squared)
        if value is not None:
            ok &= jnp.isfinite(value)
        if np.isfinite(escape_squared):
            ok &= params_squared <= escape_squared
        converged = grad_squared <= gtol_squared
        if len(minima) and xtol_squared > 0:
            converged |= _min_distance_squared(params, minima, config.layout) <= xtol_squared
        return ok, converged

    def run_one(start, hyperparams):
        tx = make_optimizer(hyperparams)
        extra_args = isinstance(tx, optax.GradientTransformationExtraArgs)

        def step(carry, _):
            params, state, steps, t = carry  # steps == -1: still running
            # The value is checked too: log(negative) is NaN with a finite gradient.
            value, grad = value_and_grad(params)
            ok, converged = judge(params, grad, value)
            steps = jnp.where((steps < 0) & (~ok | converged), t, steps)
            if extra_args:
                updates, new_state = tx.update(grad, state, params, value=value, grad=grad,
                                               value_fn=value_fn)
            else:
                updates, new_state = tx.update(grad, state, params)
            new_params = optax.apply_updates(params, updates)
            new_params = jax.tree.map(lambda new, old: jnp.where(steps < 0, new, old), new_params,
                                      params)
            # The state of a frozen point is never read again, so it is left to run: masking it
            # would turn shared scalars (Adam's count) into per-point arrays and cost 20-50 %.
            carry = (new_params, new_state, steps, t + 1)
            if not config.record_trajectory:
                return carry, None  # never a (P, T) array unless asked for
            return carry, (jnp.stack(params) if coordinates else params)

        def run_steps(carry, length):
            if length == 0:
                return carry, None
            return lax.scan(step, carry, None, length=length, unroll=max(min(config.unroll, length), 1))

        carry = (start, tx.init(start), jnp.array(-1, jnp.int32), jnp.array(0, jnp.int32))
        outputs = {}
        every = config.record_loss_every
        if every:
            def block(carry, _):
                loss = value_fn(carry[0])
                carry, _ = run_steps(carry, every)
                return carry, loss

            carry, history = lax.scan(block, carry, None, length=config.num_steps // every)
            carry, _ = run_steps(carry, config.num_steps % every)
            outputs["loss_history"] = history
        else:
            carry, path = run_steps(carry, config.num_steps)
            if config.record_trajectory:
                outputs["trajectory"] = path
        params, _, steps, t = carry
        value, grad = value_and_grad(params)
        ok, converged = judge(params, grad, value)
        steps = jnp.where((steps < 0) & (~ok | converged), t, steps)
        # A stopped point is frozen, so judging it again tells why it stopped: cheaper than
        # carrying a status through every step.
        status = jnp.where(steps < 0, Status.UNFINISHED,
                           jnp.where(ok, Status.CONVERGED, Status.DIVERGED))
        vector = jnp.stack(params) if coordinates else params
        basin = jnp.array(-1, jnp.int32)
        if len(minima):
            distances = jnp.sum(jnp.square(vector[None, :] - minima.astype(vector.dtype)), -1)
            near = (jnp.min(distances) <= basin_squared) & (status != Status.DIVERGED)
            basin = jnp.where(near, jnp.argmin(distances).astype(jnp.int32), basin)
        if config.record_trajectory:
            outputs["trajectory"] = jnp.concatenate([outputs["trajectory"], vector[None]], axis=0)
        if every:
            outputs["loss_history"] = jnp.append(outputs["loss_history"], value)
        outputs.update(params=vector, loss=value, status=status.astype(STATUS_DTYPE), steps=steps,
                       basin=basin)
        return outputs

    def run_points(starts, hyperparams):
        if coordinates:
            starts = tuple(starts[:, i] for i in range(starts.shape[1]))
        return jax.vmap(run_one, in_axes=(0, None))(starts, hyperparams)

    if config.hyperparam_names:
        run_points = jax.vmap(run_points, in_axes=(None, 0))
    return jax.jit(run_points)


def get_kernel(optimizer: Any, surface: Surface, config: KernelConfig) -> Callable:
    """The jitted ``f(starts (N, dim), hyperparams {name: (C,)}) -> dict of outputs``, cached.

    An optimizer or surface that cannot be hashed gets a fresh kernel (and a fresh compile).
    """
    key = (optimizer, surface, config)
    try:
        hash(key)
    except TypeError:
        return _build(optimizer, surface, config)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    kernel = _CACHE[key] = _build(optimizer, surface, config)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return kernel
