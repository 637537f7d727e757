"""AdaGrad (Duchi, Hazan & Singer 2011): a per-parameter step from all past gradients.

    r ← r + g ⊙ g,        θ ← θ − η · g / (ε + √(r + ε_root))

Duchi, Hazan & Singer (2011) and Goodfellow, Bengio & Courville (2016, Algorithm 8.4) add the
stabiliser outside the square root, η/(δ + √r): that is ``eps`` (default 1e-8), and the default.
Some texts write it inside, η/√(δ + r): that is ``eps_root`` (set ``eps=0.0, eps_root=1e-7``; it is
also the maths of ``optax.adagrad`` whenever r > 0). Steep directions (large accumulated |g|) get
small steps, gentle ones large; the steps shrink monotonically, so AdaGrad can stop learning
before it reaches a minimum (Goodfellow et al. 2016, §8.5.1).

``optax.adagrad`` differs in two ways: its ε is inside the root, and its accumulator starts at
``initial_accumulator_value=0.1``; ours starts at 0.0, as in Duchi et al. (2011): r = 0 before the
first step.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> tx = jl.adagrad(learning_rate=0.1)
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params)
>>> print(jnp.round(optax.apply_updates(params, updates), 6))   # first step: η·sign(g)
[ 0.9 -1.9]
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import check_learning_rate, check_nonnegative, check_shapes_at_init


class ScaleByAdagradState(NamedTuple):
    """State of ``scale_by_adagrad``: r, the sum of squared gradients (plus the initial value)."""

    sum_of_squares: optax.Updates


def scale_by_adagrad(
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    initial_accumulator_value: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """The AdaGrad direction g / (ε + √(r + ε_root)), r ← r + g ⊙ g.

    Args:
      eps: ε >= 0, added outside the square root (Duchi et al. 2011).
      eps_root: ε_root >= 0, added inside the square root.
      initial_accumulator_value: r₀ >= 0 (0 in Duchi et al. 2011).

    Returns:
      An ``optax.GradientTransformation`` (state ``ScaleByAdagradState``) whose ``update``
      returns the direction g / (ε + √(r + ε_root)), not yet scaled by −η, and the new state.

    Raises:
      ValueError: if ``eps``, ``eps_root`` or ``initial_accumulator_value`` is negative.
    """
    check_nonnegative("eps", eps)
    check_nonnegative("eps_root", eps_root)
    check_nonnegative("initial_accumulator_value", initial_accumulator_value)

    def init_fn(params):
        return ScaleByAdagradState(
            jax.tree.map(lambda p: jnp.full_like(p, initial_accumulator_value), params)
        )

    def update_fn(updates, state, params=None):
        del params
        sum_of_squares = jax.tree.map(lambda r, g: r + g * g, state.sum_of_squares, updates)
        updates = jax.tree.map(
            lambda g, r: g / (eps + jnp.sqrt(r + eps_root)), updates, sum_of_squares
        )
        return updates, ScaleByAdagradState(sum_of_squares)

    return check_shapes_at_init(
        optax.GradientTransformation(init_fn, update_fn),
        eps=eps, eps_root=eps_root, initial_accumulator_value=initial_accumulator_value,
    )


def adagrad(
    learning_rate: optax.ScalarOrSchedule,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    initial_accumulator_value: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """AdaGrad: r ← r + g ⊙ g, θ ← θ − η·g/(ε + √(r + ε_root)) (Duchi et al. 2011).

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``.
      eps: ε >= 0 outside the root, default 1e-8 (the paper's placement).
      eps_root: ε_root >= 0 inside the root, default 0.
      initial_accumulator_value: r₀ >= 0, default 0.

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the step
      −η·g/(ε + √(r + ε_root)) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, or ``eps``, ``eps_root`` or
        ``initial_accumulator_value`` is negative.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.chain(
            scale_by_adagrad(eps, eps_root, initial_accumulator_value),
            optax.scale_by_learning_rate(learning_rate),
        ),
        learning_rate=learning_rate,
    )
