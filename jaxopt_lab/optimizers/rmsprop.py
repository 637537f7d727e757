"""RMSProp (Tieleman & Hinton 2012): AdaGrad with an EWMA of the squared gradients.

    r ← ρ·r + (1−ρ)·g ⊙ g,        θ ← θ − η · g / (ε + √(r + ε_root))

ρ = ``decay`` ∈ (0, 1), typically 0.9 (Tieleman & Hinton 2012), 0.99 or 0.999; 1/(1−ρ) is
roughly how many past gradients count. The lecture that introduced RMSProp has no stabiliser;
``eps`` adds δ outside the root (default 1e-8, as Adam does), ``eps_root`` inside, √(δ + r), the
form of Goodfellow, Bengio & Courville (2016, Algorithm 8.5; use ``eps=0.0, eps_root=δ``). No bias
correction, r₀ = 0.

The maths is ``optax.rmsprop(η, decay, eps, eps_in_sqrt=False)`` for (ε, 0) and
``optax.rmsprop(η, decay, eps_root)`` for (0, ε_root); optax cannot combine both, so the direction
is written here.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> tx = jl.rmsprop(learning_rate=0.01, decay=0.9)
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params)
>>> print(jnp.round(updates / 0.01, 4))     # first step: sign(g)/√(1−ρ)
[-3.1623  3.1623]
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import (
    check_decay,
    check_learning_rate,
    check_nonnegative,
    check_shapes_at_init,
)


class ScaleByRmspropState(NamedTuple):
    """State of ``scale_by_rmsprop``: r, the EWMA of squared gradients."""

    mean_square: optax.Updates


def scale_by_rmsprop(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """The RMSProp direction g / (ε + √(r + ε_root)), r ← ρ·r + (1−ρ)·g ⊙ g.

    Args:
      decay: ρ ∈ (0, 1).
      eps: ε >= 0, outside the square root.
      eps_root: ε_root >= 0, inside the square root (Goodfellow et al. 2016, Algorithm 8.5).

    Returns:
      An ``optax.GradientTransformation`` (state ``ScaleByRmspropState``) whose ``update``
      returns the direction g / (ε + √(r + ε_root)), not yet scaled by −η, and the new state.

    Raises:
      ValueError: if ``decay`` is outside (0, 1) or ``eps`` or ``eps_root`` is negative.
    """
    check_decay("decay", decay)
    check_nonnegative("eps", eps)
    check_nonnegative("eps_root", eps_root)

    def init_fn(params):
        return ScaleByRmspropState(optax.tree.zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        mean_square = jax.tree.map(
            lambda r, g: decay * r + (1 - decay) * g * g, state.mean_square, updates
        )
        updates = jax.tree.map(
            lambda g, r: g / (eps + jnp.sqrt(r + eps_root)), updates, mean_square
        )
        return updates, ScaleByRmspropState(mean_square)

    return check_shapes_at_init(
        optax.GradientTransformation(init_fn, update_fn), decay=decay, eps=eps, eps_root=eps_root
    )


def rmsprop(
    learning_rate: optax.ScalarOrSchedule,
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """RMSProp: r ← ρ·r + (1−ρ)·g ⊙ g, θ ← θ − η·g/(ε + √(r + ε_root)) (Tieleman & Hinton 2012).

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``.
      decay: ρ ∈ (0, 1), default 0.9.
      eps: ε >= 0 outside the root, default 1e-8.
      eps_root: ε_root >= 0 inside the root, default 0 (Goodfellow et al.'s placement when > 0).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the step
      −η·g/(ε + √(r + ε_root)) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, ``decay`` is outside (0, 1), or
        ``eps`` or ``eps_root`` is negative.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.chain(
            scale_by_rmsprop(decay, eps, eps_root), optax.scale_by_learning_rate(learning_rate)
        ),
        learning_rate=learning_rate,
    )
