"""Decaying learning rates and reduce-on-plateau.

Start with a large learning rate and reduce it as the iterations go on: with gradient noise a
fixed rate stalls at a noise floor, a decaying one keeps improving (Robbins & Monro 1951;
Goodfellow, Bengio & Courville 2016, §8.3.1). Each schedule
is an ``optax.Schedule``: a function of the step count ``k`` (0 on the first update) that any
optimizer here accepts as its ``learning_rate``. Every hyperparameter may be a traced array (so
one can ``jax.vmap`` over initial rates); the step count may be a traced int32, and is converted
to floating point before any arithmetic, so ``(k + 1)**2`` cannot overflow.

``reduce_on_plateau`` is the common practical rule: not a function of ``k`` but of the loss
history, so it is a transformation that reads the loss as the extra arg ``value``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxopt_lab._validation import (check_in_range, check_nonnegative, check_positive, concrete_value,
                              require_extra_arg)


def _float_steps(count: ArrayLike) -> jax.Array:
    return jnp.asarray(count).astype(jnp.result_type(float))


def inverse_time(init_value: ArrayLike, decay_rate: ArrayLike = 1.0) -> optax.Schedule:
    """η_k = η0 / (1 + decay_rate·k); with the default, η0/(k+1).

    With ``decay_rate`` = 1 the rates satisfy Σ η_k = ∞, Σ η_k² < ∞, the conditions of Robbins &
    Monro (1951) for stochastic approximation to converge.

    Args:
      init_value: η0 > 0.
      decay_rate: > 0, how fast the rate falls; 1 gives η0/(k+1).

    Returns:
      An ``optax.Schedule``: a function of the step count k (int, or a traced array) returning
      η0 / (1 + decay_rate·k) as a float ``jax.Array``.

    Raises:
      ValueError: if ``init_value`` or ``decay_rate`` is not > 0.

    >>> schedule = inverse_time(1.0)
    >>> [round(float(schedule(k)), 4) for k in range(4)]
    [1.0, 0.5, 0.3333, 0.25]
    """
    check_positive("init_value", init_value)
    check_positive("decay_rate", decay_rate)
    return lambda count: init_value / (1.0 + decay_rate * _float_steps(count))


def inverse_quadratic(init_value: ArrayLike) -> optax.Schedule:
    """η_k = η0 / (k+1)²: Σ η_k is finite, so it may stop short of a minimum.

    Args:
      init_value: η0 > 0.

    Returns:
      An ``optax.Schedule``: a function of the step count k (int, or a traced array) returning
      η0 / (k+1)² as a float ``jax.Array``.

    Raises:
      ValueError: if ``init_value`` is not > 0.

    >>> schedule = inverse_quadratic(1.0)
    >>> [round(float(schedule(k)), 4) for k in range(4)]
    [1.0, 0.25, 0.1111, 0.0625]
    """
    check_positive("init_value", init_value)
    return lambda count: init_value / jnp.square(_float_steps(count) + 1.0)


def inverse_sqrt(init_value: ArrayLike) -> optax.Schedule:
    """η_k = η0 / √(k+1), a 1/√k decay, shifted so the first step uses η0.

    Args:
      init_value: η0 > 0.

    Returns:
      An ``optax.Schedule``: a function of the step count k (int, or a traced array) returning
      η0 / √(k+1) as a float ``jax.Array``.

    Raises:
      ValueError: if ``init_value`` is not > 0.

    >>> schedule = inverse_sqrt(1.0)
    >>> [round(float(schedule(k)), 4) for k in range(4)]
    [1.0, 0.7071, 0.5774, 0.5]
    """
    check_positive("init_value", init_value)
    return lambda count: init_value / jnp.sqrt(_float_steps(count) + 1.0)


def exponential(init_value: ArrayLike, beta: ArrayLike) -> optax.Schedule:
    """η_k = η0·e^(−β·k), β > 0: exponential decay.

    ε_k = ε0·0.95^k is the same family with β = −ln 0.95, and so is
    ``optax.exponential_decay(init_value, transition_steps=1, decay_rate=exp(-beta))``. The
    argument is β, the exponent's rate, not optax's ``decay_rate`` (the factor e^(−β) per step), so
    that neither reading is silently mistaken for the other.

    Args:
      init_value: η0 > 0.
      beta: β > 0, the decay constant per step.

    Returns:
      An ``optax.Schedule``: a function of the step count k (int, or a traced array) returning
      η0·e^(−β·k) as a float ``jax.Array``.

    Raises:
      ValueError: if ``init_value`` or ``beta`` is not > 0.

    >>> import math
    >>> schedule = exponential(1.0, beta=-math.log(0.95))  # 0.95**k
    >>> [round(float(schedule(k)), 4) for k in range(4)]
    [1.0, 0.95, 0.9025, 0.8574]
    """
    check_positive("init_value", init_value)
    check_positive("beta", beta)
    return lambda count: init_value * jnp.exp(-beta * _float_steps(count))


def step(init_value: ArrayLike, transition_steps: ArrayLike, decay_rate: ArrayLike, *,
         factor: Any = None) -> optax.Schedule:
    """η_k = η0·decay_rate^⌊k / transition_steps⌋: step decay, a discrete staircase.

    The arguments come in optax's order: this is ``optax.exponential_decay(init_value,
    transition_steps, decay_rate, staircase=True)``, which this version extends to traced
    ``transition_steps`` and ``decay_rate``. Halving the rate every few epochs is ``decay_rate=0.5``.

    Args:
      init_value: η0 > 0.
      transition_steps: > 0, the length of one stair.
      decay_rate: in (0, 1), the multiplier applied every ``transition_steps`` steps.
      factor: the former name of ``decay_rate``; refused with a message saying so.

    Returns:
      An ``optax.Schedule``: a function of the step count k (int, or a traced array) returning
      η0·decay_rate^⌊k / transition_steps⌋ as a float ``jax.Array``.

    Raises:
      TypeError: if ``factor`` is given.
      ValueError: if ``init_value`` or ``transition_steps`` is not > 0, ``decay_rate`` is
        outside (0, 1), or the two look swapped (``transition_steps`` in (0, 1) and
        ``decay_rate`` >= 1; the message shows the call to write instead).

    >>> schedule = step(1.0, transition_steps=2, decay_rate=0.5)
    >>> [float(schedule(k)) for k in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    >>> step(0.3, 0.5, 50)
    Traceback (most recent call last):
    ...
    ValueError: step takes optax's order (init_value, transition_steps, decay_rate), got transition_steps=0.5 and decay_rate=50: did you mean step(0.3, transition_steps=50, decay_rate=0.5)?
    """
    if factor is not None:
        raise TypeError("step's factor is now called decay_rate, as in optax.exponential_decay: "
                        "write step(init_value, transition_steps=..., decay_rate=...)")
    _check_step_order(init_value, transition_steps, decay_rate)
    check_positive("init_value", init_value)
    check_positive("transition_steps", transition_steps)
    check_in_range("decay_rate", decay_rate, 0.0, 1.0, low_closed=False, high_closed=False)

    def schedule(count: ArrayLike) -> jax.Array:
        return init_value * jnp.power(decay_rate,
                                      jnp.floor(_float_steps(count) / transition_steps))

    return schedule


def _check_step_order(init_value: ArrayLike, transition_steps: ArrayLike,
                      decay_rate: ArrayLike) -> None:
    """Refuse the swapped order step(η0, decay_rate, transition_steps) with the call to write."""
    stairs = concrete_value(transition_steps, "transition_steps")
    rate = concrete_value(decay_rate, "decay_rate")
    if stairs is None or rate is None or np.ndim(stairs) or np.ndim(rate):
        return
    # A decay rate lies in (0, 1) and a stair is at least one step long: both at once out of
    # place, and each fitting the other's range, is the swapped order.
    if 0.0 < stairs < 1.0 and rate >= 1.0:
        raise ValueError(
            f"step takes optax's order (init_value, transition_steps, decay_rate), got "
            f"transition_steps={transition_steps} and decay_rate={decay_rate}: did you mean "
            f"step({init_value}, transition_steps={decay_rate}, decay_rate={transition_steps})?")


def linear_then_constant(
    init_value: ArrayLike, end_value: ArrayLike, transition_steps: ArrayLike
) -> optax.Schedule:
    """ε_k = (1 − k/τ)·ε0 + (k/τ)·ε_τ for k ≤ τ, then ε_τ, τ = transition_steps.

    Goodfellow, Bengio & Courville (2016, §8.3.1, eq. 8.14) advise ε_τ ≈ 1% of ε0 and τ of a
    few hundred passes over the data. The maths is
    ``optax.linear_schedule(init_value, end_value, transition_steps)``; this version also accepts
    a traced ``transition_steps``. ``end_value > init_value`` (a linear warm-up) is allowed.

    Args:
      init_value: ε0 > 0.
      end_value: ε_τ >= 0.
      transition_steps: τ > 0.

    Returns:
      An ``optax.Schedule``: a function of the step count k (int, or a traced array) returning
      ε_k (ε_τ from k = τ on) as a float ``jax.Array``.

    Raises:
      ValueError: if ``init_value`` or ``transition_steps`` is not > 0, or ``end_value`` is
        negative.

    >>> schedule = linear_then_constant(1.0, end_value=0.01, transition_steps=4)
    >>> [round(float(schedule(k)), 4) for k in range(6)]
    [1.0, 0.7525, 0.505, 0.2575, 0.01, 0.01]
    """
    check_positive("init_value", init_value)
    check_nonnegative("end_value", end_value)
    check_positive("transition_steps", transition_steps)

    def schedule(count: ArrayLike) -> jax.Array:
        fraction = jnp.clip(_float_steps(count) / transition_steps, 0.0, 1.0)
        return (1.0 - fraction) * init_value + fraction * end_value

    return schedule


class ReduceOnPlateauState(NamedTuple):
    """State of ``reduce_on_plateau``; the fields (and their meaning) are optax.contrib's.

    scale: the current multiplier α^j of the learning rate.
    best_value: the best (averaged) loss seen so far.
    plateau_count: int32, consecutive (averaged) losses that did not improve on ``best_value``.
    cooldown_count: int32, steps left during which stagnation is not counted.
    count: int32, losses accumulated into ``avg_value`` since the last decision.
    avg_value: running mean of those losses.
    """

    scale: jax.Array
    best_value: jax.Array
    plateau_count: jax.Array
    cooldown_count: jax.Array
    count: jax.Array
    avg_value: jax.Array


def reduce_on_plateau(
    factor: ArrayLike = 0.1,
    patience: ArrayLike = 10,
    rtol: ArrayLike = 1e-4,
    atol: ArrayLike = 0.0,
    cooldown: ArrayLike = 0,
    accumulation_size: ArrayLike = 1,
    min_scale: ArrayLike = 0.0,
) -> optax.GradientTransformationExtraArgs:
    """Train at a fixed η until the loss stagnates, then η ← α·η.

    Multiplies the incoming updates by ``scale``, which starts at 1. Each call reads the loss as
    the extra arg ``value``; every ``accumulation_size`` calls their mean L is compared with the
    best so far. L improves when L < (1 − rtol)·best − atol; otherwise the plateau count grows,
    and when it reaches ``patience``: scale ← max(factor·scale, min_scale), the count restarts,
    and the next ``cooldown`` decisions are not counted. The scale chosen after reading this
    step's loss already applies to this step's update.

    The maths is ``optax.contrib.reduce_on_plateau`` (a test proves equality, state for state).
    It is written again here so that every hyperparameter is traceable (optax's checks compare
    ``factor``, ``rtol`` and ``atol`` in Python) and a missing ``value`` says how to pass it. Unlike
    optax, ``rtol = atol = 0`` is allowed: then "stagnates" means "does not strictly decrease".

    Use it after an optimizer: ``optax.chain(jl.sgd(learning_rate), jl.reduce_on_plateau())``.

    Args:
      factor: α in (0, 1), typically 0.1.
      patience: >= 1 stagnant decisions before the rate is reduced.
      rtol: in [0, 1], relative improvement that counts as progress.
      atol: >= 0, absolute improvement that counts as progress.
      cooldown: >= 0 decisions after a reduction during which stagnation is not counted.
      accumulation_size: >= 1 losses averaged into one decision (use > 1 for minibatch losses).
      min_scale: >= 0, the scale never falls below it (nor stays below it, as in optax).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (state ``ReduceOnPlateauState``) whose
      ``update`` needs the extra arg ``value`` and returns the updates multiplied by ``scale``
      and the new state.

    Raises:
      ValueError: if an argument is out of the range given above.

    >>> import optax, jax.numpy as jnp
    >>> import jaxopt_lab as jl
    >>> tx = optax.chain(jl.sgd(1.0), jl.reduce_on_plateau(factor=0.5, patience=2))
    >>> params = jnp.array(1.0)               # f(w) = w², so η = 1 just flips the sign of w
    >>> state = tx.init(params)
    >>> for _ in range(5):
    ...     updates, state = tx.update(2 * params, state, params, value=params**2)
    ...     params = optax.apply_updates(params, updates)
    ...     print(float(params), float(state[-1].scale))
    -1.0 1.0
    1.0 1.0
    0.0 0.5
    0.0 0.5
    0.0 0.5
    """
    check_in_range("factor", factor, 0.0, 1.0, low_closed=False, high_closed=False)
    check_in_range("patience", patience, 1.0)
    check_in_range("rtol", rtol, 0.0, 1.0)
    check_nonnegative("atol", atol)
    check_nonnegative("cooldown", cooldown)
    check_in_range("accumulation_size", accumulation_size, 1.0)
    check_nonnegative("min_scale", min_scale)

    def init_fn(params: optax.Params) -> ReduceOnPlateauState:
        # As optax: the scale in the lowest dtype of the params, so it never promotes them.
        lowest_dtype = optax.tree.dtype(params, "lowest")
        highest_dtype = optax.tree.dtype(params, "highest")
        return ReduceOnPlateauState(
            scale=jnp.asarray(1.0, lowest_dtype),
            best_value=jnp.asarray(math.inf, highest_dtype),
            plateau_count=jnp.asarray(0, jnp.int32),
            cooldown_count=jnp.asarray(0, jnp.int32),
            count=jnp.asarray(0, jnp.int32),
            avg_value=jnp.asarray(0.0, highest_dtype),
        )

    def decide(state: ReduceOnPlateauState) -> ReduceOnPlateauState:
        improved = state.avg_value < (1.0 - rtol) * state.best_value - atol
        best_value = jnp.where(improved, state.avg_value, state.best_value)
        plateau_count = jnp.where(improved, 0, state.plateau_count + 1)
        in_cooldown = state.cooldown_count > 0
        reduce = ~in_cooldown & (plateau_count >= patience)
        scale = jnp.maximum(jnp.where(reduce, state.scale * factor, state.scale), min_scale)
        return ReduceOnPlateauState(
            scale=scale.astype(state.scale.dtype),
            best_value=best_value.astype(state.best_value.dtype),
            plateau_count=jnp.where(in_cooldown | reduce, 0, plateau_count).astype(jnp.int32),
            cooldown_count=jnp.where(
                in_cooldown, state.cooldown_count - 1, jnp.where(reduce, cooldown, 0)
            ).astype(jnp.int32),
            count=jnp.zeros_like(state.count),
            avg_value=jnp.zeros_like(state.avg_value),
        )

    def update_fn(
        updates: optax.Updates,
        state: ReduceOnPlateauState,
        params: optax.Params | None = None,
        *,
        value: ArrayLike | None = None,
        **extra_args: Any,
    ) -> tuple[optax.Updates, ReduceOnPlateauState]:
        del params, extra_args
        value = require_extra_arg("value", value, "reduce_on_plateau")
        count = state.count + 1
        avg_value = (state.count * state.avg_value + value) / count
        state = state._replace(count=count, avg_value=avg_value.astype(state.avg_value.dtype))
        decided = decide(state)
        state = jax.tree.map(
            lambda new, old: jnp.where(count >= accumulation_size, new, old), decided, state
        )
        updates = jax.tree.map(lambda u: (state.scale * u).astype(u.dtype), updates)
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
