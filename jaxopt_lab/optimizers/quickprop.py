"""QuickProp (Fahlman 1988): a per-weight secant (parabola) step with growth safeguards.

QuickProp takes a Newton step per weight with the second derivative estimated from two
successive slopes; it can be unstable on non-convex losses, and is often among the fastest
methods on small networks (Fahlman 1988). Each weight fits a parabola through its current and
previous slopes S(t) = ∂E/∂w(t), S(t−1), and jumps to the parabola's vertex:

    Δw(t) = S(t) / (S(t−1) − S(t)) · Δw(t−1)

with Fahlman's safeguards, each a ``jnp.where`` (so every branch vmaps):

* Δw(t−1) = 0 (the first step, or a weight that stopped): a plain gradient step Δw = −η·S(t).
* Gradient term: −η·S(t) is added to the jump while the slope still points along the previous
  step, S(t)·Δw(t−1) < 0 (the minimum not yet crossed); once crossed, only the jump.
* Growth cap: if the slope barely shrank, S(t) >= μ/(1+μ)·S(t−1) in magnitude with the same
  sign — i.e. the vertex lies more than μ previous steps ahead, or behind (slope grew) — the
  jump is μ·Δw(t−1) instead (μ = ``max_growth``).
* S(t−1) = S(t) outside the cap (no vertex: after a step uphill, or both slopes 0): a plain
  gradient step −η·S(t) instead of a division by zero.

So on a 1-D quadratic the second step lands on the minimum whenever the first step crossed it
(η·curvature > 1): the parabola through two slopes of a quadratic is the quadratic itself.

**Learning rate and schedules.** ``scale_by_quickprop`` runs the recursion in units of η: its
direction d(t) = −Δw(t)/η, and ``quickprop`` is ``optax.chain(scale_by_quickprop(max_growth),
optax.scale_by_learning_rate(learning_rate))``. For a constant η this is Fahlman's rule exactly.
With a schedule η_t the step is Δw(t) = −η_t·S(t) [gradient term] + (η_t/η_{t−1})·(jump from
Δw(t−1)): the schedule rescales the whole step, the jump included.

Reference: S. E. Fahlman, "An empirical study of learning speed in back-propagation networks",
CMU-CS-88-162, 1988 (μ = 1.75 is the paper's default).

>>> import jax
>>> import jax.numpy as jnp
>>> import jaxopt_lab as jl
>>> loss = lambda w: 2.0 * (w[0] - 1.0) ** 2  # curvature 4; η·4 = 1.2 > 1 crosses the minimum
>>> tx = jl.quickprop(learning_rate=0.3)
>>> params = jnp.array([3.0])
>>> state = tx.init(params)
>>> for _ in range(2):
...     updates, state = tx.update(jax.grad(loss)(params), state, params)
...     params = params + updates
...     print(round(float(params[0]), 6))
0.6
1.0
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import check_in_range, check_learning_rate, check_shapes_at_init


class ScaleByQuickpropState(NamedTuple):
    """State of ``scale_by_quickprop``; ``prev_grad`` and ``prev_direction`` are like params."""

    count: jax.Array  # int32, number of updates taken
    prev_grad: optax.Updates  # S(t−1)
    prev_direction: optax.Updates  # d(t−1) = −Δw(t−1)/η, the previous step in units of η


def scale_by_quickprop(
    max_growth: jax.typing.ArrayLike = 1.75,
) -> optax.GradientTransformation:
    """QuickProp direction d(t) = −Δw(t)/η (the gradient's sign); see the module docstring.

    Args:
      max_growth: μ > 1, no jump is longer than μ times the previous step (Fahlman: 1.75).

    Returns:
      An ``optax.GradientTransformation`` (state ``ScaleByQuickpropState``) whose ``update``
      returns the direction d(t) = −Δw(t)/η (like params) and the new state.

    Raises:
      ValueError: if ``max_growth`` is not > 1.
    """
    check_in_range("max_growth", max_growth, 1.0, low_closed=False)
    shrink_factor = max_growth / (1.0 + max_growth)

    def init_fn(params: optax.Params) -> ScaleByQuickpropState:
        return ScaleByQuickpropState(
            count=jnp.zeros([], jnp.int32),
            prev_grad=optax.tree.zeros_like(params),
            prev_direction=optax.tree.zeros_like(params),
        )

    def leaf_update(grad, prev_grad, prev_direction):
        # Signs in units of d = −Δw/η: S·Δw_prev < 0 ⇔ S·d_prev > 0.
        moved = prev_direction != 0
        with_gradient_term = prev_direction * grad > 0
        # Strict: at equality the secant is exactly μ·d_prev anyway, and a weight whose slopes are
        # both 0 should stay put rather than jump μ·d_prev.
        capped = prev_direction * (grad - shrink_factor * prev_grad) > 0
        denominator = prev_grad - grad
        has_vertex = denominator != 0
        secant = grad / jnp.where(has_vertex, denominator, 1.0) * prev_direction
        jump = jnp.where(capped, max_growth * prev_direction, secant)
        gradient_term = jnp.where(with_gradient_term, grad, jnp.zeros_like(grad))
        quick = gradient_term + jump
        return jnp.where(moved & (capped | has_vertex), quick, grad).astype(grad.dtype)

    def update_fn(
        updates: optax.Updates,
        state: ScaleByQuickpropState,
        params: optax.Params | None = None,
    ) -> tuple[optax.Updates, ScaleByQuickpropState]:
        del params
        direction = jax.tree.map(leaf_update, updates, state.prev_grad, state.prev_direction)
        return direction, ScaleByQuickpropState(
            count=optax.safe_increment(state.count),
            prev_grad=updates,
            prev_direction=direction,
        )

    return check_shapes_at_init(
        optax.GradientTransformation(init_fn, update_fn), max_growth=max_growth
    )


def quickprop(
    learning_rate: optax.ScalarOrSchedule,
    max_growth: jax.typing.ArrayLike = 1.75,
) -> optax.GradientTransformationExtraArgs:
    """QuickProp (Fahlman 1988), updates Δw(t) = −η·d(t); see the module docstring.

    Args:
      learning_rate: η > 0, the step of the plain gradient term, or a schedule (which rescales
        the whole step, see the module docstring).
      max_growth: μ > 1 (default 1.75), the cap on a jump relative to the previous step.

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the parameter changes
      Δw(t) = −η·d(t) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, or ``max_growth`` is not > 1.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.chain(scale_by_quickprop(max_growth), optax.scale_by_learning_rate(learning_rate)),
        learning_rate=learning_rate,
    )
