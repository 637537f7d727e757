"""Quasi-Newton methods: BFGS with a dense inverse-Hessian estimate, and L-BFGS (optax's).

BFGS (Nocedal & Wright 2006, §6.1): instead of inverting the Hessian (O(n³)), keep an estimate
M ≈ H⁻¹ refined by low-rank updates from what the steps reveal,

    s = w_k − w_{k−1},    y = g_k − g_{k−1},    ρ = 1 / (yᵀs),
    M₊ = (I − ρ·s·yᵀ)·M·(I − ρ·y·sᵀ) + ρ·s·sᵀ,          w ← w − η·M₊·g_k.

This is Nocedal & Wright's eq. (6.17), with M for their H; it satisfies the secant condition
M₊·y = s. (Some lecture notes print the two outer factors with s and y swapped, which breaks the
secant condition; this library follows eq. 6.17.) L-BFGS (Liu & Nocedal 1989) keeps only the last
``memory_size`` pairs (s, y) and applies M by the two-loop recursion, never forming it.

Line search: with ``linesearch=True`` (the default) the step size along −M·g is chosen by
``optax.scale_by_zoom_linesearch`` (strong Wolfe conditions, c1 = 1e-4, c2 = 0.9, at most
``MAX_LINESEARCH_STEPS`` evaluations, first trial step η). The search needs the extra args
``value`` (loss at params), ``grad`` and ``value_fn`` (params -> scalar); other extra args are
ignored. Without it the step is η·M·g with η the learning rate. Both run under ``jax.jit`` and
``jax.vmap`` (the search is a ``lax.while_loop``).

>>> import jax, jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> loss = lambda w: (w[0] - 1.0) ** 2 + 10.0 * (w[1] + 2.0) ** 2
>>> tx = jl.bfgs()
>>> params = jnp.array([0.0, 0.0])
>>> state = tx.init(params)
>>> @jax.jit
... def step(params, state):
...     value, grads = jax.value_and_grad(loss)(params)
...     updates, state = tx.update(grads, state, params, value=value, grad=grads, value_fn=loss)
...     return optax.apply_updates(params, updates), state
>>> for _ in range(10):
...     params, state = step(params, state)
>>> print(jnp.round(params, 6))
[ 1. -2.]
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import (
    check_bool,
    check_int,
    check_learning_rate,
    check_shapes_at_init,
    require_extra_arg,
)

#: Cap on line-search evaluations per step, as in ``optax.lbfgs``.
MAX_LINESEARCH_STEPS = 20
#: Strong Wolfe constants: sufficient decrease (c1) and curvature (c2) (Nocedal & Wright §3.1).
WOLFE_C1 = 1e-4
WOLFE_C2 = 0.9


class ScaleByBFGSState(NamedTuple):
    """State of ``scale_by_bfgs`` (parameters flattened with ``ravel_pytree``).

    Attributes:
      count: int32 number of updates.
      params: the flattened parameters of the previous update (for s).
      grad: the flattened gradient of the previous update (for y).
      inverse_hessian: M, the (n, n) estimate of H⁻¹.
    """

    count: jax.Array
    params: jax.Array
    grad: jax.Array
    inverse_hessian: jax.Array


def bfgs_inverse_hessian_update(
    inverse_hessian: jax.Array, s: jax.Array, y: jax.Array
) -> jax.Array:
    """M₊ = (I − ρ·s·yᵀ)·M·(I − ρ·y·sᵀ) + ρ·s·sᵀ, expanded to O(n²) operations."""
    rho = 1.0 / jnp.dot(y, s)
    m_y = inverse_hessian @ y
    return (
        inverse_hessian
        - rho * (jnp.outer(s, m_y) + jnp.outer(m_y, s))
        + (rho * rho * jnp.dot(y, m_y) + rho) * jnp.outer(s, s)
    )


def scale_by_bfgs() -> optax.GradientTransformationExtraArgs:
    """BFGS direction M·g (the gradient's sign), updating M first from the last step.

    * M₀ = I, and the very first direction is scaled by min(1, 1/‖g‖), so it has length at most
      1 (the guess of ``scipy.optimize.minimize(method="BFGS")`` and of ``optax.scale_by_lbfgs``).
    * Before the first BFGS update, M is reset to (yᵀs / yᵀy)·I (Nocedal & Wright eq. 6.20), which
      puts the estimate on the scale of the problem.
    * A pair with yᵀs <= 0 is skipped (M is kept), since the update would make M indefinite;
      so is one whose update is non-finite (ρ = 1/(yᵀs) overflows once a run has converged to
      denormal steps). A line search satisfying the strong Wolfe conditions
      guarantees yᵀs > 0; without one, negative curvature along the step triggers the skip.

    ``updates`` must be the gradient at ``params``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (state ``ScaleByBFGSState``) whose ``update``
      (which needs ``params``) returns the direction M·g (like params, not yet scaled by −η) and
      the new state.
    """

    def init_fn(params: optax.Params) -> ScaleByBFGSState:
        flat_params, _ = jax.flatten_util.ravel_pytree(params)
        return ScaleByBFGSState(
            count=jnp.zeros([], jnp.int32),
            params=jnp.zeros_like(flat_params),
            grad=jnp.zeros_like(flat_params),
            inverse_hessian=jnp.eye(flat_params.size, dtype=flat_params.dtype),
        )

    def update_fn(
        updates: optax.Updates,
        state: ScaleByBFGSState,
        params: optax.Params | None = None,
        **extra_args: Any,
    ) -> tuple[optax.Updates, ScaleByBFGSState]:
        del extra_args
        if params is None:
            raise TypeError("bfgs needs `params` (to measure the step s)")
        flat_params, _ = jax.flatten_util.ravel_pytree(params)
        flat_grad, unravel = jax.flatten_util.ravel_pytree(updates)
        s = flat_params - state.params
        y = flat_grad - state.grad
        curvature = jnp.dot(y, s)
        has_pair = state.count > 0
        usable = has_pair & (curvature > 0) & jnp.isfinite(curvature)

        first_scale = curvature / jnp.dot(y, y)
        identity = jnp.eye(flat_params.size, dtype=flat_params.dtype)
        start = jnp.where(
            usable & (state.count == 1), first_scale * identity, state.inverse_hessian
        )
        # Where the pair is unusable, feed the update a harmless pair and discard the result.
        safe_s = jnp.where(usable, s, 1.0)
        safe_y = jnp.where(usable, y, 1.0)
        updated = bfgs_inverse_hessian_update(start, safe_s, safe_y)
        # Converged runs reach denormal steps, where ρ = 1/(yᵀs) overflows: skip those too.
        usable &= jnp.all(jnp.isfinite(updated))
        inverse_hessian = jnp.where(usable, updated, state.inverse_hessian)

        direction = inverse_hessian @ flat_grad
        first_step_scale = jnp.minimum(1.0, 1.0 / jnp.linalg.norm(flat_grad))
        direction = jnp.where(has_pair, direction, first_step_scale * direction)
        new_state = ScaleByBFGSState(
            count=optax.safe_increment(state.count),
            params=flat_params,
            grad=flat_grad,
            inverse_hessian=inverse_hessian,
        )
        return unravel(direction), new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def zoom_linesearch() -> optax.GradientTransformationExtraArgs:
    """optax's zoom line search with the strong Wolfe constants above and first trial step η."""
    return optax.scale_by_zoom_linesearch(
        max_linesearch_steps=MAX_LINESEARCH_STEPS,
        slope_rtol=WOLFE_C1,
        curv_rtol=WOLFE_C2,
        initial_guess_strategy="one",
    )


def with_linesearch_args(
    inner: optax.GradientTransformationExtraArgs, optimizer: str
) -> optax.GradientTransformationExtraArgs:
    """``inner`` whose update demands ``value``, ``grad``, ``value_fn`` and drops other extras.

    optax's line search raises on extra args that ``value_fn`` does not accept; the library's
    ``value_fn`` takes params only, so anything else is dropped rather than forwarded.
    """

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None, **_):
        value = require_extra_arg("value", value, optimizer)
        grad = require_extra_arg("grad", grad, optimizer)
        value_fn = require_extra_arg("value_fn", value_fn, optimizer)
        return inner.update(updates, state, params, value=value, grad=grad, value_fn=value_fn)

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)


def bfgs(
    learning_rate: optax.ScalarOrSchedule = 1.0, *, linesearch: bool = True
) -> optax.GradientTransformationExtraArgs:
    """BFGS: w ← w − α·η·M·g with the dense estimate M ≈ H⁻¹ of ``scale_by_bfgs``.

    Args:
      learning_rate: η > 0 or a schedule. With the line search, η·M·g is the first trial step
        and α is chosen by the search (η = 1 is the natural quasi-Newton trial); without it,
        α = 1.
      linesearch: choose α by optax's zoom line search (strong Wolfe, c1 = 1e-4, c2 = 0.9);
        then ``update`` needs the extra args ``value``, ``grad`` and ``value_fn``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose ``update`` (which needs ``params``)
      returns the step −α·η·M·g (like params) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0.
      TypeError: if ``linesearch`` is not a bool.
    """
    check_learning_rate(learning_rate)
    check_bool("linesearch", linesearch)
    tx = optax.chain(scale_by_bfgs(), optax.scale_by_learning_rate(learning_rate))
    if linesearch:
        tx = with_linesearch_args(optax.chain(tx, zoom_linesearch()), "bfgs")
    return check_shapes_at_init(tx, elementwise=False, learning_rate=learning_rate)


def lbfgs(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    memory_size: int = 10,
    *,
    linesearch: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """L-BFGS (Liu & Nocedal 1989): ``optax.lbfgs``, two-loop recursion over ``memory_size`` pairs.

    What optax does, and so this does:

    * Initial scaling: the recursion starts from γ·I with γ = sᵀy / yᵀy of the newest pair
      (1 when yᵀy = 0); the very first step uses γ = min(1, 1/‖g‖), a step of length at most 1.
    * yᵀs <= 0: a pair with yᵀs = 0 gets ρ = 0 and drops out of the recursion; a pair with
      yᵀs < 0 is kept with ρ < 0, which can turn the direction uphill. The strong Wolfe line
      search guarantees yᵀs > 0 whenever it succeeds, so this arises only with
      ``linesearch=False`` (or a failed search) on non-convex losses; the sweep then records
      the result, it never raises.

    Args:
      learning_rate: η > 0 or a schedule (first trial step with the line search, as in ``bfgs``).
      memory_size: number of (s, y) pairs kept, >= 1.
      linesearch: optax's zoom line search (strong Wolfe, c1 = 1e-4, c2 = 0.9); then ``update``
        needs ``value``, ``grad`` and ``value_fn``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose ``update`` returns the L-BFGS step of
      ``optax.lbfgs`` (like params) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, or ``memory_size`` is not an
        integer >= 1.
      TypeError: if ``linesearch`` is not a bool.
    """
    check_learning_rate(learning_rate)
    memory_size = check_int("memory_size", memory_size, 1)
    check_bool("linesearch", linesearch)
    tx = optax.lbfgs(
        learning_rate,
        memory_size=memory_size,
        linesearch=zoom_linesearch() if linesearch else None,
    )
    if linesearch:
        tx = with_linesearch_args(tx, "lbfgs")
    return check_shapes_at_init(tx, elementwise=False, learning_rate=learning_rate)
