"""Heavy-ball momentum (two forms) and Nesterov's accelerated gradient (two forms).

**Velocity form** (Polyak 1964; Goodfellow, Bengio & Courville 2016, Algorithm 8.2; default,
``form="velocity"``), β ∈ [0, 1), typically 0.9:

    ΔW ← β·ΔW − η·g,        W ← W + ΔW.

η lives *inside* the state: with a schedule, ΔW_t = β·ΔW_{t−1} − η_t·g_t keeps the earlier steps
at the rates they were taken with. ``optax.sgd(η, momentum=β)`` computes −η_t·(g_t + β·v_{t−1})
with v ← β·v + g: the same points for a constant η, different ones under a schedule. So
``momentum(form="velocity")`` is one transformation, not ``scale_by_momentum`` chained with
``optax.scale_by_learning_rate``; that chain is optax's form, kept for composition.

**EWMA form** (``form="ewma"``): m ← β·m + (1−β)·g, θ ← θ − η·m, an exponentially weighted
average of the gradients (Adam's first moment without its bias correction, Kingma & Ba 2015);
here η is outside the state, so it *is* the chain.

How the three forms in use relate, for a constant η:

    (1) v ← β·v − η·g,       θ ← θ + v          velocity form, v = ΔW
    (2) v ← β·v + g,         θ ← θ − η·v        optax/PyTorch: θ ← θ − η·(g + β·v_old)
    (3) v ← β·v + (1−β)·g,   θ ← θ − η̃·v        EWMA form; the points of (1), (2) when η = η̃·(1−β)

so ``momentum(η̃, β, form="ewma")`` visits the points of ``momentum(η̃·(1−β), β)``: the EWMA form's
effective step is (1−β) times smaller.

**Nesterov** (Nesterov 1983), ``lookahead=True`` is the form of Sutskever et al. (2013) and
Goodfellow et al. (2016, Algorithm 8.3):

    ΔW ← β·ΔW − η·∇L(W + β·ΔW),        W ← W + ΔW,

the gradient taken at the look-ahead point from the ``value_fn`` extra arg (the gradient passed to
``update`` is ignored). ``lookahead=False`` (default) needs only the gradient at the current point:
it tracks φ = W + β·ΔW instead of W, which obeys

    ΔW ← β·ΔW − η·∇L(φ),        φ ← φ + β·ΔW − η·∇L(φ),

(the form of optax and PyTorch). Both visit the same points under φ = W + β·ΔW, also with a
schedule, since η sits inside the state in both.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> loss = lambda w: jnp.sum(w ** 2)
>>> params = jnp.array([1.0, -2.0])
>>> tx = jl.momentum(learning_rate=0.1, momentum=0.9)
>>> state = tx.init(params)
>>> for _ in range(2):
...     updates, state = tx.update(2 * params, state, params)
...     params = optax.apply_updates(params, updates)
>>> print(jnp.round(params, 6))        # ΔW = −0.2·W₀, then 0.9·ΔW − 0.2·W₁
[ 0.46 -0.92]
>>> tx = jl.nesterov(learning_rate=0.1, momentum=0.9, lookahead=True)
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params, value_fn=loss)
>>> print(jnp.round(optax.apply_updates(params, updates), 6))
[ 0.8 -1.6]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import (
    check_bool,
    check_choice,
    check_in_range,
    check_learning_rate,
    check_shapes_at_init,
    require_extra_arg,
)

FORMS = ("velocity", "ewma")


class VelocityState(NamedTuple):
    """State of ``momentum(form="velocity")`` and ``nesterov``: the last step ΔW (η included)."""

    velocity: optax.Updates  # ΔW, same pytree and dtypes as the parameters
    count: jax.Array  # int32, number of updates taken (indexes a schedule)


def check_momentum(momentum: jax.typing.ArrayLike) -> None:
    """β must be in [0, 1): at β >= 1 the velocity never forgets a gradient."""
    check_in_range("momentum", momentum, 0.0, 1.0, high_closed=False)


def scale_by_momentum(
    momentum: jax.typing.ArrayLike = 0.9, *, form: str = "velocity"
) -> optax.GradientTransformation:
    """The momentum direction, with the gradient's sign, to chain with a learning rate.

    ``form="velocity"``: v ← β·v + g (``optax.trace``, state ``optax.TraceState``); chained with a
    constant η it gives the velocity form's points (form (2) above), with a schedule optax's.
    ``form="ewma"``: m ← β·m + (1−β)·g (``optax.ema`` without debiasing, state ``optax.EmaState``).

    Args:
      momentum: β ∈ [0, 1), default 0.9.
      form: ``"velocity"`` (v ← β·v + g) or ``"ewma"`` (m ← β·m + (1−β)·g).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the direction v or m, not yet
      scaled by −η, and the new state.

    Raises:
      ValueError: if ``momentum`` is outside [0, 1) or ``form`` is not one of the two forms.
    """
    check_momentum(momentum)
    check_choice("form", form, FORMS)
    if form == "velocity":
        return check_shapes_at_init(optax.trace(decay=momentum, nesterov=False), momentum=momentum)
    return check_shapes_at_init(optax.ema(decay=momentum, debias=False), momentum=momentum)


def scale_by_nesterov(momentum: jax.typing.ArrayLike = 0.9) -> optax.GradientTransformation:
    """Nesterov's direction g + β·v with v ← β·v + g (``optax.trace(nesterov=True)``).

    Chained with a constant η this is ``nesterov(η, β)``; with a schedule it is optax's form.

    Args:
      momentum: β ∈ [0, 1).

    Returns:
      An ``optax.GradientTransformation`` (state ``optax.TraceState``) whose ``update`` returns
      the direction g + β·v, not yet scaled by −η, and the new state.

    Raises:
      ValueError: if ``momentum`` is outside [0, 1).
    """
    check_momentum(momentum)
    return check_shapes_at_init(optax.trace(decay=momentum, nesterov=True), momentum=momentum)


def learning_rate_at(learning_rate: optax.ScalarOrSchedule, count: jax.Array) -> jax.Array:
    """η at step ``count``: the schedule's value, or the constant itself (η inside the state)."""
    if callable(learning_rate):
        return jnp.asarray(learning_rate(count))
    return jnp.asarray(learning_rate)


def _velocity_init(params: optax.Params) -> VelocityState:
    return VelocityState(velocity=optax.tree.zeros_like(params), count=jnp.zeros([], jnp.int32))


def _next_velocity(velocity, grads, momentum, step_size):
    # Cast back so a float64 learning rate cannot change the state's dtype (lax.scan carries).
    return jax.tree.map(
        lambda v, g: (momentum * v - step_size * g).astype(v.dtype), velocity, grads
    )


def _velocity_momentum(learning_rate, momentum, *, nesterov: bool) -> optax.GradientTransformation:
    def update_fn(updates, state, params=None):
        del params
        step_size = learning_rate_at(learning_rate, state.count)
        velocity = _next_velocity(state.velocity, updates, momentum, step_size)
        # Nesterov: φ ← φ + β·ΔW − η·g, the same rule applied once more to the new ΔW.
        step = _next_velocity(velocity, updates, momentum, step_size) if nesterov else velocity
        return step, VelocityState(velocity, optax.safe_increment(state.count))

    return optax.GradientTransformation(_velocity_init, update_fn)


def momentum(
    learning_rate: optax.ScalarOrSchedule,
    momentum: jax.typing.ArrayLike = 0.9,
    *,
    form: str = "velocity",
) -> optax.GradientTransformation:
    """Heavy-ball momentum: ΔW ← β·ΔW − η·g, W ← W + ΔW (Polyak 1964), or with
    ``form="ewma"`` m ← β·m + (1−β)·g, θ ← θ − η·m.

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``. In the velocity
        form η_t multiplies only the gradient of step t (it is inside the state).
      momentum: β ∈ [0, 1), default 0.9 (the usual choice).
      form: ``"velocity"`` (state ``VelocityState``) or ``"ewma"`` (state of
        ``optax.chain(optax.ema, optax.scale_by_learning_rate)``).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the step (ΔW, or −η·m) and
      the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, ``momentum`` is outside [0, 1) or
        ``form`` is not ``"velocity"`` or ``"ewma"``.
    """
    check_learning_rate(learning_rate)
    check_momentum(momentum)
    check_choice("form", form, FORMS)
    if form == "ewma":
        tx = optax.chain(
            scale_by_momentum(momentum, form="ewma"), optax.scale_by_learning_rate(learning_rate)
        )
    else:
        tx = _velocity_momentum(learning_rate, momentum, nesterov=False)
    return check_shapes_at_init(tx, learning_rate=learning_rate, momentum=momentum)


def _lookahead_nesterov(learning_rate, momentum) -> optax.GradientTransformationExtraArgs:
    def update_fn(updates, state, params=None, *, value_fn: Callable[..., Any] | None = None,
                  **extra_args):
        del updates, extra_args  # the gradient at W is not used: only the look-ahead one
        value_fn = require_extra_arg("value_fn", value_fn, "nesterov(lookahead=True)")
        if params is None:
            raise TypeError("nesterov(lookahead=True) needs `params`: call "
                            "`tx.update(grads, state, params, value_fn=loss_fn)`")
        ahead = jax.tree.map(lambda w, v: w + momentum * v, params, state.velocity)
        grads = jax.grad(value_fn)(ahead)
        step_size = learning_rate_at(learning_rate, state.count)
        velocity = _next_velocity(state.velocity, grads, momentum, step_size)
        return velocity, VelocityState(velocity, optax.safe_increment(state.count))

    return optax.GradientTransformationExtraArgs(_velocity_init, update_fn)


def nesterov(
    learning_rate: optax.ScalarOrSchedule,
    momentum: jax.typing.ArrayLike = 0.9,
    *,
    lookahead: bool = False,
) -> optax.GradientTransformation:
    """Nesterov's accelerated gradient (Nesterov 1983); state ``VelocityState``.

    ``lookahead=True``: ΔW ← β·ΔW − η·∇L(W + β·ΔW), W ← W + ΔW, with ∇L from the ``value_fn``
    extra arg (a ``GradientTransformationExtraArgs``; ``params`` required). ``lookahead=False``:
    the parameters are φ = W + β·ΔW, updated by β·ΔW − η·g with g the gradient passed in.

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule`` (inside the state).
      momentum: β ∈ [0, 1), default 0.9.
      lookahead: use the look-ahead form of Sutskever et al. (2013) (needs ``value_fn``).

    Returns:
      An ``optax.GradientTransformation`` (an ``optax.GradientTransformationExtraArgs`` with
      ``lookahead=True``) whose ``update`` returns the step and the new ``VelocityState``.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, or ``momentum`` is outside
        [0, 1).
      TypeError: if ``lookahead`` is not a bool.
    """
    check_learning_rate(learning_rate)
    check_momentum(momentum)
    if check_bool("lookahead", lookahead):
        tx = _lookahead_nesterov(learning_rate, momentum)
    else:
        tx = _velocity_momentum(learning_rate, momentum, nesterov=True)
    return check_shapes_at_init(tx, learning_rate=learning_rate, momentum=momentum)
