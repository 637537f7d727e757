"""User-supplied divergence rules: `DivergenceRule`, and the rule of Sohl-Dickstein (2024).

A sweep judges its points by its own checks (a non-finite value, gradient or position, or one
beyond the escape radius, is DIVERGED). Some studies define divergence by the loss curve
instead: ``jl.sweep(..., divergence=rule)`` feeds ``rule`` the loss *before* every step
``0 … num_steps − 1`` of every running point and, at the end, marks a point that is still
running DIVERGED (``steps = num_steps``) where ``rule.diverged`` says so.

>>> import jax.numpy as jnp
>>> rule = mean_normalized_loss_rule(tail=2)
>>> losses = jnp.array([1.0, 0.5, 3.0, 0.9])  # ratios to the first: 1, .5, 3, .9
>>> state = rule.init(losses[0], 4)
>>> for step, loss in enumerate(losses):
...     state = rule.update(state, loss, step, 4)
>>> float(jnp.mean(state.tail)), bool(rule.diverged(state))  # mean of the last two: 1.95
(1.95, True)
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import check_int, check_positive


class DivergenceRule(NamedTuple):
    """A divergence rule on a point's loss curve, as three pure functions of one point.

    Attributes:
      init: ``init(initial_loss, num_steps) -> state``: the state before step 0, from the loss
        at the start (``num_steps`` is a Python int: the state's shapes may depend on it).
      update: ``update(state, loss, step, num_steps) -> state``, called with the loss before
        every step ``step = 0 … num_steps − 1`` (an int32 array) while the point runs; a point
        the sweep stopped (converged or diverged) no longer updates its state.
      diverged: ``diverged(state) -> bool array``: judged once, after the last step, for the
        points still running.
    """

    init: Callable[[jax.Array, int], Any]
    update: Callable[[Any, jax.Array, jax.Array, int], Any]
    diverged: Callable[[Any], jax.Array]


class MeanNormalizedLossState(NamedTuple):
    """State of `mean_normalized_loss_rule` for one point.

    Attributes:
      initial: the initial loss, non-finite replaced by the cap: the normaliser.
      tail: the last ``min(tail, num_steps)`` normalised losses, oldest first.
      total: ``Σ v`` over the steps seen (v: normalised loss).
      inverse_total: ``Σ 1/v`` over the steps seen.
    """

    initial: jax.Array
    tail: jax.Array
    total: jax.Array
    inverse_total: jax.Array


@functools.lru_cache(maxsize=64)
def mean_normalized_loss_rule(tail: int = 20, cap: float = 1e6) -> DivergenceRule:
    """Sohl-Dickstein (2024)'s rule: diverged iff the mean of the last ``tail`` normalised
    losses is not below 1.

    In the order of the paper's code: a non-finite loss counts as ``cap``, every loss is divided
    by the initial loss (itself made finite so), and a ratio above ``cap`` counts as ``cap``;
    with fewer than ``tail`` steps the mean is over all of them (one step sees only the initial
    loss, ratio 1: diverged). The state also sums the ratios and their inverses, the paper's
    colour value (``−Σ v`` if trained, ``Σ 1/v`` if diverged). The same arguments give the same
    rule object, so sweeps that make it afresh still share their compiled kernels.

    Args:
      tail: >= 1 last losses averaged.
      cap: > 0, what a non-finite loss counts as, and the largest ratio.

    Returns:
      A `DivergenceRule` whose state is a `MeanNormalizedLossState`.

    Raises:
      ValueError: if ``tail`` is not an integer >= 1 or ``cap`` is not a number > 0.
    """
    tail = check_int("tail", tail, 1)
    check_positive("cap", cap)
    cap = float(cap)

    def finite(loss: jax.Array) -> jax.Array:
        return jnp.where(jnp.isfinite(loss), loss, cap)

    def init(initial_loss: jax.Array, num_steps: int) -> MeanNormalizedLossState:
        initial = finite(jnp.asarray(initial_loss))
        zero = jnp.zeros((), initial.dtype)
        # Sized to the losses there will be, so the final mean is over exactly those.
        return MeanNormalizedLossState(initial, jnp.zeros(min(tail, num_steps), initial.dtype),
                                       zero, zero)

    def update(state: MeanNormalizedLossState, loss: jax.Array, step: jax.Array,
               num_steps: int) -> MeanNormalizedLossState:
        del step, num_steps  # the window slides with every loss
        ratio = jnp.minimum(finite(loss) / state.initial, cap).astype(state.tail.dtype)
        return MeanNormalizedLossState(
            state.initial, jnp.concatenate([state.tail[1:], ratio[None]]),
            state.total + ratio, state.inverse_total + 1 / ratio)

    def diverged(state: MeanNormalizedLossState) -> jax.Array:
        return ~(jnp.mean(state.tail) < 1.0)  # a NaN mean (0/0 losses) is not trained

    return DivergenceRule(init, update, diverged)


def state_outputs(state: Any) -> dict[str, jax.Array]:
    """A point's rule state as flat outputs ``divergence_state_K`` (chunks join and save them)."""
    return {f"{PREFIX}{index}": leaf for index, leaf in enumerate(jax.tree.leaves(state))}


#: Output names of the rule state's leaves, followed by their index.
PREFIX = "divergence_state_"


def state_from_outputs(outputs: dict[str, Any], rule: DivergenceRule, dtype: Any,
                       num_steps: int) -> tuple[dict[str, Any], Any]:
    """(``outputs`` without the rule state, the rule state of every point as ``rule`` made it)."""
    structure = jax.tree.structure(jax.eval_shape(
        lambda loss: rule.init(loss, num_steps), jax.ShapeDtypeStruct((), dtype)))
    leaves = [outputs[f"{PREFIX}{index}"] for index in range(structure.num_leaves)]
    rest = {name: value for name, value in outputs.items() if not name.startswith(PREFIX)}
    return rest, jax.tree.unflatten(structure, leaves)


def rule_digest_input(rule: DivergenceRule, dtype: Any, num_steps: int) -> Any:
    """The jaxpr of one init, update and judgement of ``rule`` (what a checkpoint fingerprints)."""
    def one_point(loss):
        state = rule.init(loss, num_steps)
        state = rule.update(state, loss, jnp.zeros((), jnp.int32), num_steps)
        return rule.diverged(state)

    return jax.make_jaxpr(one_point)(jax.ShapeDtypeStruct((), np.dtype(dtype)))


__all__ = ["DivergenceRule", "MeanNormalizedLossState", "mean_normalized_loss_rule"]
