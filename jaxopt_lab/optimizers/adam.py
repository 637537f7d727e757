"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019).

Adam, with t the step number (from 1) and s₀ = r₀ = 0:

    s ← ρ₁·s + (1−ρ₁)·g,          r ← ρ₂·r + (1−ρ₂)·g ⊙ g
    ŝ = s/(1−ρ₁ᵗ),                r̂ = r/(1−ρ₂ᵗ)                 (bias correction)
    θ ← θ − η · ŝ / (ε + √(r̂ + ε_root))

ρ₁ = ``b1``, ρ₂ = ``b2`` ∈ [0, 1) (the paper's defaults 0.9, 0.999; δ = 1e-8). Kingma & Ba (2015)
and Goodfellow, Bengio & Courville (2016, Algorithm 8.7) add δ outside the root, δ + √r̂
(``eps``, the default); some texts write it inside, √(r̂ + δ) (``eps_root``; use ``eps=0.0,
eps_root=1e-8``). The update uses the current step's moments, as the paper does. This is exactly
``optax.scale_by_adam``, reused here.

AdamW: θ ← θ − η·(ŝ/(δ + √r̂) + λ·θ), *decoupled* weight decay: λ·θ is added to Adam's direction
after the moments, never seen by s or r. That is ``optax.adamw`` and what we follow. Loshchilov &
Hutter (2019, Algorithm 2) write θ ← θ − η_t·(α·ŝ/(√r̂ + δ) + λ·θ) with α the learning rate and
η_t a schedule multiplier, so their λ is not scaled by α; here (as in optax) λ is scaled by the
whole learning rate η. Adding λ·θ to the gradient instead (L2 regularisation) would feed the decay
into the moments, which the paper shows is not equivalent for Adam; it is not implemented.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> tx = jl.adam(learning_rate=0.1)
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params)
>>> print(jnp.round(updates, 6))       # first step: −η·sign(g) after bias correction
[-0.1  0.1]
>>> tx = jl.adamw(learning_rate=0.1, weight_decay=0.5)
>>> updates, _ = tx.update(2 * params, tx.init(params), params)
>>> print(jnp.round(updates, 6))       # −η·(sign(g) + λ·θ)
[-0.15  0.2 ]
"""
from __future__ import annotations

import jax
import optax

from jaxopt_lab._validation import (
    check_in_range,
    check_learning_rate,
    check_nonnegative,
    check_shapes_at_init,
)


def scale_by_adam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """Adam's direction ŝ/(ε + √(r̂ + ε_root)); ``optax.scale_by_adam`` after range checks.

    State ``optax.ScaleByAdamState(count, mu, nu)``: the step count (int32), s and r.

    Args:
      b1: ρ₁ ∈ [0, 1).
      b2: ρ₂ ∈ [0, 1).
      eps: ε >= 0, outside the square root (Kingma & Ba 2015).
      eps_root: ε_root >= 0, inside the square root.

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns Adam's direction (not yet
      scaled by −η) and the new state.

    Raises:
      ValueError: if ``b1`` or ``b2`` is outside [0, 1) or ``eps`` or ``eps_root`` is negative.
    """
    check_in_range("b1", b1, 0.0, 1.0, high_closed=False)
    check_in_range("b2", b2, 0.0, 1.0, high_closed=False)
    check_nonnegative("eps", eps)
    check_nonnegative("eps_root", eps_root)
    return check_shapes_at_init(
        optax.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        b1=b1, b2=b2, eps=eps, eps_root=eps_root,
    )


def adam(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """Adam with bias correction: θ ← θ − η·ŝ/(ε + √(r̂ + ε_root)) (Kingma & Ba 2015).

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``.
      b1: ρ₁ ∈ [0, 1), default 0.9.
      b2: ρ₂ ∈ [0, 1), default 0.999 (the paper's defaults).
      eps: ε >= 0 outside the root, default 1e-8 (Kingma & Ba 2015).
      eps_root: ε_root >= 0 inside the root, default 0.

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the step
      −η·ŝ/(ε + √(r̂ + ε_root)) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, ``b1`` or ``b2`` is outside
        [0, 1), or ``eps`` or ``eps_root`` is negative.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.chain(
            scale_by_adam(b1, b2, eps, eps_root), optax.scale_by_learning_rate(learning_rate)
        ),
        learning_rate=learning_rate,
    )


def adamw(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 1e-2,
) -> optax.GradientTransformation:
    """AdamW (Loshchilov & Hutter 2019): θ ← θ − η·(ŝ/(ε + √(r̂ + ε_root)) + λ·θ).

    The same maths as ``optax.adamw``; needs ``params`` in ``update``.

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``.
      b1: ρ₁ ∈ [0, 1), default 0.9, as in ``adam``.
      b2: ρ₂ ∈ [0, 1), default 0.999, as in ``adam``.
      eps: ε >= 0 outside the root, default 1e-8, as in ``adam``.
      eps_root: ε_root >= 0 inside the root, default 0, as in ``adam``.
      weight_decay: λ >= 0, default 1e-2 (PyTorch's; optax's is 1e-4).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` (which needs ``params``) returns the
      step −η·(ŝ/(ε + √(r̂ + ε_root)) + λ·θ) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, ``weight_decay`` is negative, or
        ``b1``, ``b2``, ``eps`` or ``eps_root`` is out of range as in ``adam``.
    """
    check_learning_rate(learning_rate)
    check_nonnegative("weight_decay", weight_decay)
    return check_shapes_at_init(
        optax.chain(
            scale_by_adam(b1, b2, eps, eps_root),
            optax.add_decayed_weights(weight_decay),
            optax.scale_by_learning_rate(learning_rate),
        ),
        learning_rate=learning_rate, weight_decay=weight_decay,
    )
