"""Surfaces beyond the classic table: saddles, the two-Gaussian bowl and the cliff."""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab.surfaces._quadratics import _deep_learning_spectrum, quadratic, quadratic_1d
from jaxopt_lab.surfaces._surface import Surface, make_surface

# --- surfaces beyond the classic table ----------------------------------------------------------


def monkey_saddle(w: jax.Array) -> jax.Array:
    """x³ − 3xy²: a degenerate saddle (zero Hessian) with three descending valleys.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    return w[0] ** 3 - 3.0 * w[0] * w[1] ** 2


def two_gaussian_bowl(w: jax.Array) -> jax.Array:
    """x² + y² − 2·exp(−((x−1)² + y²)/0.2) − 3·exp(−((x+1)² + y²)/0.2): two wells.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    return (x**2 + y**2 - 2.0 * jnp.exp(-((x - 1.0) ** 2 + y**2) / 0.2)
            - 3.0 * jnp.exp(-((x + 1.0) ** 2 + y**2) / 0.2))


#: Height and steepness of the cliff; its slope peaks at CLIFF_HEIGHT·CLIFF_STEEPNESS/4 = 625, so a
#: gradient step of learning rate 0.1 taken on the cliff flies ~60 units.
CLIFF_HEIGHT = 50.0
CLIFF_STEEPNESS = 50.0


def cliff(w: jax.Array) -> jax.Array:
    """½(x² + y²) + 50·σ(50(x − 1)): a bowl with a sheer wall at x = 1 (Goodfellow et al., §8.2.4).

    A start on the high plateau x > 1 slides down to the wall, where the gradient explodes to
    ~625 and a plain gradient step is thrown far past the minimum at the origin. The wall's
    tail leaves f(0) = 50·σ(−50) ≈ 1e-20 and a gradient ≈ 5e-19 there: zero to float64 precision.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    return 0.5 * jnp.sum(w**2) + CLIFF_HEIGHT * jax.nn.sigmoid(CLIFF_STEEPNESS * (w[0] - 1.0))


# Critical points of the two-Gaussian bowl (on the x axis by symmetry), found by float64 Newton
# iterations from (±1, 0) and (0, 0); each has |∇f| < 2e-15 (checked in tests/test_surfaces.py).
_BOWL_GLOBAL = (-0.9363006340109187, 0.0)
_BOWL_LOCAL = (0.905317899160115, 0.0)
_BOWL_SADDLE = (0.0686024367080965, 0.0)

_SQUARE = ((-2.0, 2.0), (-2.0, 2.0))


def _local_surfaces() -> dict[str, Callable[[], Surface]]:
    return {
        "quadratic_1d": lambda: quadratic_1d(1.0, name="quadratic_1d", bounds=((-2.0, 2.0),)),
        "axis_aligned_quadratic": lambda: quadratic(np.diag([1.0, 10.0]),
                                                    name="axis_aligned_quadratic"),
        # Goodfellow et al. (2016, fig. 4.6): condition number 5, most curvature along [1, 1],
        # least along [1, −1].
        # rotated_quadratic((5, 1), π/4) has exactly this A, up to rounding.
        "long_canyon": lambda: quadratic([[3.0, 2.0], [2.0, 3.0]], name="long_canyon"),
        "deep_learning_spectrum": _deep_learning_spectrum,
        # The saddle x₁² − x₂² = ½ wᵀ diag(2, −2) w (Goodfellow et al. 2016, fig. 4.5); 5x² − y².
        "saddle": lambda: quadratic(np.diag([2.0, -2.0]), name="saddle"),
        "anisotropic_saddle": lambda: quadratic(np.diag([10.0, -2.0]), name="anisotropic_saddle"),
        "monkey_saddle": lambda: make_surface("monkey_saddle", monkey_saddle, _SQUARE,
                                              saddles=((0.0, 0.0),)),
        "two_gaussian_bowl": lambda: make_surface(
            "two_gaussian_bowl", two_gaussian_bowl, _SQUARE,
            minima=(_BOWL_GLOBAL, _BOWL_LOCAL), f_min=-2.0630902517681946,
            minima_values=(-2.0630902517681946, -1.0927319992017408), saddles=(_BOWL_SADDLE,)),
        "cliff": lambda: make_surface("cliff", cliff, ((-2.0, 3.0), (-2.0, 2.0)),
                                      minima=((0.0, 0.0),), f_min=0.0),
    }
