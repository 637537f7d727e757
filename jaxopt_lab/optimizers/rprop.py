"""The Rprop family: resilient propagation, per-coordinate step sizes driven by gradient signs.

Rprop (Riedmiller & Braun 1993) uses the derivative's sign as a trend, not its size. Each
coordinate keeps its own step size Δ (starting at ``learning_rate``) and looks
only at the sign of its derivative g = ∂E/∂w, compared with the stored previous one g_prev:

    g_prev·g > 0:  Δ ← min(Δ·η+, Δmax)     (same sign: grow the step)
    g_prev·g < 0:  Δ ← max(Δ·η−, Δmin)     (sign change, a minimum was overshot: shrink it)
    g_prev·g = 0:  Δ unchanged             (first step, or right after a sign change)

and the variants differ in what happens on a sign change (Δw is the parameter change):

* ``"rprop-"``:  Δw = −sign(g)·Δ always; g_prev ← g.
* ``"irprop-"`` (default; PyTorch's ``Rprop``): on a sign change the coordinate does not move
  (Δw = 0) and g_prev ← 0, so the next step does no adaptation.
* ``"rprop+"`` (Riedmiller & Braun 1993): on a sign change undo the previous step,
  Δw = −Δw_prev ("weight backtracking"), and g_prev ← 0; otherwise Δw = −sign(g)·Δ.
* ``"irprop+"`` (Igel & Hüsken 2000): as ``"rprop+"``, but undo the previous step only if the
  loss went up, E(t) > E(t−1), with E the global loss (one scalar); otherwise Δw = 0. Needs the
  extra arg ``value``.

At the first step g_prev = 0, so every variant steps by −Δ0·sign(g) = −learning_rate·sign(g).

Backtracking is often drawn as one move: "return to the previous location, shrink the step, take
the smaller step forward". ``"rprop+"`` restores *per coordinate*, and spends an extra update
(and gradient evaluation) at the restored value. Exactly how the two relate:

* one weight: ``"rprop+"`` visits the one-move path's points, plus one extra stop at each
  restored location;
* several weights, separable loss (a sum of one-weight terms, e.g. an axis-aligned quadratic):
  each coordinate, its own extra stops removed, walks its term's one-move path; the stops fall at
  different steps for different coordinates, so the points in the plane differ all the same;
* coupled loss: only the coordinates whose sign changed go back; the others keep moving, so the
  restored point is no earlier location and its gradient is not the one stored there, and the
  paths part.

tests/test_rprop.py checks all three.

**Where the learning rate lives.** Rprop's learning rate is the initial step size Δ0, stored per
coordinate in the state and adapted from then on, so it cannot be a schedule (a callable raises
``TypeError``); ``scale_by_rprop`` takes it and returns −Δw (the gradient's sign, as every
``scale_by_*`` here), and ``rprop`` only flips the sign with ``optax.scale_by_learning_rate(1.0)``.
Under ``optax.inject_hyperparams`` a later change of ``learning_rate`` has no effect (Δ is
already in the state); ``eta_*`` and the step-size bounds do act from the next step on.

**Accuracy is bounded by Δmin.** Near a minimum the iterate keeps moving by about Δmin, so with
the default ``min_step_size=1e-6`` it settles within ~1e-6 of the minimum (gradient ~ curvature
× 1e-6) and never meets a sweep's float64 tolerance √eps ≈ 1.5e-8; pass a smaller
``min_step_size`` (e.g. 1e-12) for that.

**optax.rprop (<= 0.2.8) is one step late.** It adapts Δ exactly as ``"irprop-"`` does, but its
update at step t is the step computed at step t−1 (the first update is 0). ``rprop`` here returns
the current step; tests/test_rprop.py shows optax's lag on the same gradient sequence.

References: Riedmiller & Braun, "A direct adaptive method for faster backpropagation learning:
the RPROP algorithm", ICNN 1993. Igel & Hüsken, "Improving the Rprop learning algorithm", NC 2000.

>>> import jax.numpy as jnp
>>> import jaxopt_lab as jl
>>> tx = jl.rprop(learning_rate=0.1)  # "irprop-"
>>> params = jnp.array([0.0])
>>> state = tx.init(params)
>>> for g in [1.0, 1.0, 1.0, -1.0, 1.0]:
...     updates, state = tx.update(jnp.array([g]), state, params)
...     print(round(float(updates[0]), 6))
-0.1
-0.12
-0.144
-0.0
-0.072
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import (
    check_choice,
    check_in_range,
    check_learning_rate,
    check_positive,
    check_shapes_at_init,
    concrete_value,
    require_extra_arg,
)

VARIANTS = ("rprop-", "irprop-", "rprop+", "irprop+")


class ScaleByRpropState(NamedTuple):
    """State of ``scale_by_rprop``; every leaf but ``count`` and ``prev_value`` is like params."""

    count: jax.Array  # int32, number of updates taken
    step_size: optax.Updates  # Δ per coordinate, in [min_step_size, max_step_size] once adapted
    prev_grad: optax.Updates  # g_prev: the last gradient, 0 where its sign changed
    prev_direction: optax.Updates  # the last returned direction −Δw_prev (for backtracking)
    prev_value: jax.Array  # E(t−1) for "irprop+" (+inf before the first step); scalar


def check_rprop_arguments(
    learning_rate: Any,
    eta_minus: Any,
    eta_plus: Any,
    min_step_size: Any,
    max_step_size: Any,
    variant: str,
) -> None:
    """Range checks shared by ``scale_by_rprop`` and ``rprop`` (concrete values only)."""
    if callable(learning_rate):
        raise TypeError(
            "rprop's learning_rate is the initial step size Δ0, kept and adapted in the state; "
            "it cannot be a schedule (chain with optax.scale_by_schedule to rescale the steps)"
        )
    check_choice("variant", variant, VARIANTS)
    check_learning_rate(learning_rate)
    check_in_range("eta_minus", eta_minus, 0.0, 1.0, low_closed=False, high_closed=False)
    check_in_range("eta_plus", eta_plus, 1.0, low_closed=False)
    check_positive("min_step_size", min_step_size)
    check_positive("max_step_size", max_step_size)
    low, high = concrete_value(min_step_size), concrete_value(max_step_size)
    if low is not None and high is not None and np.any(high < low):
        raise ValueError(
            f"max_step_size must be in [min_step_size, inf) = [{np.min(low):g}, inf), "
            f"got {max_step_size!r}"
        )


def scale_by_rprop(
    learning_rate: jax.typing.ArrayLike = 0.1,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
    *,
    variant: str = "irprop-",
) -> optax.GradientTransformationExtraArgs:
    """Rprop direction d = −Δw: sign(g)·Δ, 0, or Δw_prev to undo it; see the module docstring.

    Args:
      learning_rate: Δ0 > 0, the initial step size of every coordinate (not a schedule).
      eta_minus: η− in (0, 1), the factor that shrinks Δ on a sign change.
      eta_plus: η+ > 1, the factor that grows Δ while the sign holds.
      min_step_size: Δmin > 0, the floor of a shrunk step size.
      max_step_size: Δmax >= Δmin, the ceiling of a grown step size.
      variant: ``"rprop-"``, ``"irprop-"``, ``"rprop+"`` or ``"irprop+"`` (needs ``value``).

    Backtracking (the ``+`` variants) returns the negated previous *output* of this
    transformation, which undoes the previous parameter change when nothing rescales it later
    in the chain (as in ``rprop``).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (state ``ScaleByRpropState``) whose
      ``update`` returns the direction d = −Δw (like params) and the new state.

    Raises:
      TypeError: if ``learning_rate`` is a schedule (a callable).
      ValueError: if ``learning_rate``, ``min_step_size`` or ``max_step_size`` is not > 0,
        ``eta_minus`` is outside (0, 1), ``eta_plus`` is not > 1, ``max_step_size`` is below
        ``min_step_size``, or ``variant`` is not one of the four variants.
    """
    check_rprop_arguments(
        learning_rate, eta_minus, eta_plus, min_step_size, max_step_size, variant
    )

    def init_fn(params: optax.Params) -> ScaleByRpropState:
        return ScaleByRpropState(
            count=jnp.zeros([], jnp.int32),
            step_size=jax.tree.map(lambda p: jnp.full_like(p, learning_rate), params),
            prev_grad=optax.tree.zeros_like(params),
            prev_direction=optax.tree.zeros_like(params),
            prev_value=jnp.asarray(jnp.inf),
        )

    def update_fn(
        updates: optax.Updates,
        state: ScaleByRpropState,
        params: optax.Params | None = None,
        *,
        value: jax.Array | None = None,
        **extra_args: Any,
    ) -> tuple[optax.Updates, ScaleByRpropState]:
        del params, extra_args
        loss_rose = jnp.asarray(False)
        prev_value = state.prev_value
        if variant == "irprop+":
            value = require_extra_arg("value", value, "rprop(variant='irprop+')")
            value = jnp.asarray(value, prev_value.dtype)
            loss_rose = value > prev_value
            prev_value = value

        def leaf_update(grad, step_size, prev_grad, prev_direction):
            product = prev_grad * grad
            sign_kept, sign_changed = product > 0, product < 0
            grown = jnp.minimum(step_size * eta_plus, max_step_size)
            shrunk = jnp.maximum(step_size * eta_minus, min_step_size)
            step_size = jnp.where(
                sign_kept, grown, jnp.where(sign_changed, shrunk, step_size)
            ).astype(step_size.dtype)
            forward = jnp.sign(grad) * step_size
            if variant == "rprop-":
                return forward, step_size, grad
            if variant == "irprop-":
                on_change = jnp.zeros_like(forward)
            elif variant == "rprop+":
                on_change = -prev_direction
            else:  # "irprop+": backtrack only when the global loss went up
                on_change = jnp.where(loss_rose, -prev_direction, jnp.zeros_like(forward))
            direction = jnp.where(sign_changed, on_change, forward)
            return direction, step_size, jnp.where(sign_changed, jnp.zeros_like(grad), grad)

        outputs = jax.tree.map(
            leaf_update, updates, state.step_size, state.prev_grad, state.prev_direction
        )
        direction, step_size, prev_grad = jax.tree.transpose(
            jax.tree.structure(updates), jax.tree.structure((0, 0, 0)), outputs
        )
        return direction, ScaleByRpropState(
            count=optax.safe_increment(state.count),
            step_size=step_size,
            prev_grad=prev_grad,
            prev_direction=direction,
            prev_value=prev_value,
        )

    return check_shapes_at_init(
        optax.GradientTransformationExtraArgs(init_fn, update_fn),
        learning_rate=learning_rate, eta_minus=eta_minus, eta_plus=eta_plus,
        min_step_size=min_step_size, max_step_size=max_step_size,
    )


def rprop(
    learning_rate: jax.typing.ArrayLike = 0.1,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
    *,
    variant: str = "irprop-",
) -> optax.GradientTransformationExtraArgs:
    """Rprop (Riedmiller & Braun 1993; Igel & Hüsken 2000): updates are parameter changes Δw.

    See the module docstring.

    Args:
      learning_rate: Δ0 > 0 (default 0.1), the initial per-coordinate step size; a number or
        array, not a schedule (it lives in the state, see the module docstring).
      eta_minus: η− in (0, 1) (default 0.5).
      eta_plus: η+ > 1 (default 1.2).
      min_step_size: Δmin > 0 (default 1e-6).
      max_step_size: Δmax >= Δmin (default 50).
      variant: ``"irprop-"`` (default), ``"rprop-"``, ``"rprop+"`` or ``"irprop+"``; the last
        needs the extra arg ``value`` (the loss at ``params``), e.g.
        ``tx.update(grads, state, params, value=loss)``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose ``update`` returns the parameter
      changes Δw (like params) and the new state.

    Raises:
      TypeError: if ``learning_rate`` is a schedule (a callable).
      ValueError: if ``learning_rate``, ``min_step_size`` or ``max_step_size`` is not > 0,
        ``eta_minus`` is outside (0, 1), ``eta_plus`` is not > 1, ``max_step_size`` is below
        ``min_step_size``, or ``variant`` is not one of the four variants.
    """
    return optax.chain(
        scale_by_rprop(
            learning_rate, eta_minus, eta_plus, min_step_size, max_step_size, variant=variant
        ),
        # Δ already carries the learning rate; this only turns the direction into −direction.
        optax.scale_by_learning_rate(1.0),
    )
