"""Adadelta (Zeiler 2012, arXiv:1212.5701), an extension of AdaGrad.

The idea is to restrict AdaGrad's accumulation to a recent window, so the rate stops shrinking
to zero; the formulas are Zeiler's Algorithm 1, with RMS[x] = √(E[x²] + ε):

    E[g²] ← ρ·E[g²] + (1−ρ)·g ⊙ g
    d     = √(E[Δx²] + ε) / √(E[g²] + ε) ⊙ g          (direction, the gradient's sign)
    E[Δx²] ← ρ·E[Δx²] + (1−ρ)·d ⊙ d
    θ     ← θ − η·d                                    (η = 1 is Zeiler's method)

Here ``eps`` is *inside* both square roots, unlike the other adaptive optimizers of this library
(where ``eps`` is outside and ``eps_root`` inside): in Adadelta ε is not only a guard against
division by zero but also what starts the step size, √ε at the first step (1e-3 for the default
1e-6), so moving it outside the root would change the method's scale by orders of magnitude.
Zeiler's placement is the only one in use, so there is no ``eps_root``.

This is the maths of ``optax.adadelta`` (E[Δx²] accumulates the update before η scales it), with
one difference: ``optax.adadelta(learning_rate=None)`` skips ``scale_by_learning_rate`` and so
never flips the sign, stepping *up* the gradient. Here η defaults to 1.0, ``None`` is refused, and
the sign is always flipped.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> tx = jl.adadelta()
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params)
>>> print(jnp.round(updates, 5))      # descent: −√ε·sign(g)/√(1−ρ), up to ε in the denominator
[-0.00316  0.00316]
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import check_decay, check_learning_rate, check_positive, check_shapes_at_init


class ScaleByAdadeltaState(NamedTuple):
    """State of ``scale_by_adadelta``: the EWMAs E[g²] and E[Δx²] (Δx before η scales it)."""

    mean_square_grad: optax.Updates
    mean_square_update: optax.Updates


def scale_by_adadelta(
    rho: jax.typing.ArrayLike = 0.9, eps: jax.typing.ArrayLike = 1e-6
) -> optax.GradientTransformation:
    """The Adadelta direction √(E[Δx²] + ε)/√(E[g²] + ε) ⊙ g.

    Args:
      rho: ρ ∈ (0, 1), the decay of both EWMAs.
      eps: ε > 0, inside both square roots (Zeiler); it also sets the first step, √ε·g/√(ε+…),
        so with ε = 0 Adadelta never moves.

    Returns:
      An ``optax.GradientTransformation`` (state ``ScaleByAdadeltaState``) whose ``update``
      returns the direction d, not yet scaled by −η, and the new state.

    Raises:
      ValueError: if ``rho`` is outside (0, 1) or ``eps`` is not > 0.
    """
    check_decay("rho", rho)
    check_positive("eps", eps)

    def init_fn(params):
        zeros = optax.tree.zeros_like(params)
        return ScaleByAdadeltaState(zeros, zeros)

    def update_fn(updates, state, params=None):
        del params
        mean_square_grad = jax.tree.map(
            lambda r, g: rho * r + (1 - rho) * g * g, state.mean_square_grad, updates
        )
        updates = jax.tree.map(
            lambda g, eg, ex: jnp.sqrt(ex + eps) / jnp.sqrt(eg + eps) * g,
            updates, mean_square_grad, state.mean_square_update,
        )
        mean_square_update = jax.tree.map(
            lambda r, d: rho * r + (1 - rho) * d * d, state.mean_square_update, updates
        )
        return updates, ScaleByAdadeltaState(mean_square_grad, mean_square_update)

    return check_shapes_at_init(
        optax.GradientTransformation(init_fn, update_fn), rho=rho, eps=eps
    )


def adadelta(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
) -> optax.GradientTransformation:
    """Adadelta: θ ← θ − η·√(E[Δx²] + ε)/√(E[g²] + ε) ⊙ g (Zeiler 2012).

    Args:
      learning_rate: η > 0, default 1.0 (Zeiler's method has no η); number, array or schedule.
      rho: ρ ∈ (0, 1), default 0.9 (optax's; Zeiler used 0.95).
      eps: ε > 0 inside both roots, default 1e-6 (Zeiler's and optax's).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the step −η·d and the new
      state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, ``rho`` is outside (0, 1) or
        ``eps`` is not > 0.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.chain(scale_by_adadelta(rho, eps), optax.scale_by_learning_rate(learning_rate)),
        learning_rate=learning_rate,
    )
