"""AdaGrad (Duchi et al. 2011; seeds 002, 003): a per-parameter step from all past gradients.

    r ← r + g ⊙ g,        θ ← θ − η · g / (ε + √(r + ε_root))

Seed 003 writes the stabiliser outside the square root, ε/(δ + √r): that is ``eps`` (default
1e-8, so the defaults follow seed 003). Seed 002 writes it inside, ε/√(δ + r): that is
``eps_root`` (set ``eps=0.0, eps_root=1e-7`` for seed 002, and for the maths of ``optax.adagrad``
whenever r > 0). Steep directions (large accumulated |g|) get small steps, gentle ones large; the
steps shrink monotonically, which is why seed 002 warns that AdaGrad "stops learning too early".

``optax.adagrad`` differs in two ways: its ε is inside the root, and its accumulator starts at
``initial_accumulator_value=0.1``; ours starts at 0.0 as the seeds do (r = 0 before the loop).

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

from jaxopt_lab.checks import check_learning_rate, check_nonnegative, check_shapes_at_init


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
      eps: ε >= 0, added outside the square root (seed 003).
      eps_root: ε_root >= 0, added inside the square root (seed 002).
      initial_accumulator_value: r₀ >= 0 (seeds: 0).
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
    """AdaGrad: r ← r + g ⊙ g, θ ← θ − η·g/(ε + √(r + ε_root)) (seeds 002, 003).

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``.
      eps: ε >= 0 outside the root, default 1e-8 (seed 003's placement).
      eps_root: ε_root >= 0 inside the root, default 0 (seed 002's placement when > 0).
      initial_accumulator_value: r₀ >= 0, default 0 (the seeds).
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.chain(
            scale_by_adagrad(eps, eps_root, initial_accumulator_value),
            optax.scale_by_learning_rate(learning_rate),
        ),
        learning_rate=learning_rate,
    )
