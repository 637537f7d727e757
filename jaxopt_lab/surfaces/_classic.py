"""The classic optimization test functions, with published bounds and minima.

Definitions, search domains and minima follow the two standard tables: Surjanovic & Bingham,
"Virtual Library of Simulation Experiments: Test Functions and Datasets" (sfu.ca/~ssurjano,
"SFU" below) and Wikipedia's "Test functions for optimization" ("W"). Each function's docstring
starts with its formula and says which table gave its domain. Every ``fn`` has finite gradients
everywhere in its ``bounds``: where the published formula has a kink (Ackley's cone at the origin,
Bukin N.6's |·|), the gradient there is the zero subgradient.

Minima published only to a few digits (Himmelblau's three irrational ones, the six-hump camel,
Styblinski–Tang) are stored to full float64 precision: refined from the published values by a few
float64 Newton iterations (done once, offline; the tests re-check |∇f| < 1e-8 and f = f_min to
1e-10 there). Local minima and saddles beyond the tables were found the same way.

Himmelblau's flattest minimum, (−2.805118, 3.131312), has Hessian eigenvalues 64.840 and
80.550 (largest of all four minima is 133.79, at (−3.779310, −3.283186)); gradient descent is
stable there for learning rates below 2/λ_max = 0.02483.

>>> import jax.numpy as jnp
>>> from jaxopt_lab import surfaces
>>> round(float(surfaces.get("goldstein_price")(jnp.array([0.0, -1.0]))), 12)
3.0
"""
from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp

from jaxopt_lab.surfaces import _levi_minima as levi
from jaxopt_lab.surfaces import _minima as found
from jaxopt_lab.surfaces._surface import Surface, make_surface


@jax.custom_jvp
def _sqrt_abs(u: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.abs(u))


@_sqrt_abs.defjvp
def _sqrt_abs_jvp(primals, tangents):
    (u,), (du,) = primals, tangents
    root = jnp.sqrt(jnp.abs(u))
    # d√|u| = sign(u)/(2√|u|): unbounded near 0; at u = 0 take the zero subgradient.
    slope = jnp.where(u == 0.0, 0.0, jnp.sign(u) / (2.0 * jnp.where(u == 0.0, 1.0, root)))
    return root, slope * du


@jax.custom_jvp
def _abs(u: jax.Array) -> jax.Array:
    return jnp.abs(u)


@_abs.defjvp
def _abs_jvp(primals, tangents):
    (u,), (du,) = primals, tangents
    return jnp.abs(u), jnp.sign(u) * du  # sign(0) = 0: the zero subgradient (jnp.abs gives 1)


def rosenbrock(w: jax.Array) -> jax.Array:
    """(1 − x)² + 100(y − x²)²; SFU's restricted domain [−2.048, 2.048]², minimum (1, 1), f = 0.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    return (1.0 - w[0]) ** 2 + 100.0 * (w[1] - w[0] ** 2) ** 2


def beale(w: jax.Array) -> jax.Array:
    """(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²; [−4.5, 4.5]², (3, 0.5), f = 0.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def booth(w: jax.Array) -> jax.Array:
    """(x + 2y − 7)² + (2x + y − 5)²; [−10, 10]², minimum (1, 3), f = 0.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    return (w[0] + 2.0 * w[1] - 7.0) ** 2 + (2.0 * w[0] + w[1] - 5.0) ** 2


def himmelblau(w: jax.Array) -> jax.Array:
    """(x² + y − 11)² + (x + y² − 7)²; [−5, 5]², four minima with f = 0 (W).

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    return (w[0] ** 2 + w[1] - 11.0) ** 2 + (w[0] + w[1] ** 2 - 7.0) ** 2


def rastrigin(w: jax.Array) -> jax.Array:
    """10·d + Σ (xᵢ² − 10 cos 2πxᵢ); [−5.12, 5.12]^d, minimum 0, f = 0.

    Args:
      w: the point (x₁, …, x_d), shape (d,).

    Returns:
      The value f(w), a scalar array.
    """
    return 10.0 * w.shape[0] + jnp.sum(w**2 - 10.0 * jnp.cos(2.0 * math.pi * w))


def ackley(w: jax.Array) -> jax.Array:
    """−20 exp(−0.2 √(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20; [−5, 5]² (W), min 0.

    The cone at the origin has no gradient; the "double where" gives the zero subgradient
    there instead of the NaN that √ would give.

    Args:
      w: the point, shape (d,); the formula above is d = 2, the surface's dimension.

    Returns:
      The value f(w), a scalar array.
    """
    squared = 0.5 * jnp.sum(w**2)
    positive = squared > 0.0
    radius = jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)
    return (-20.0 * jnp.exp(-0.2 * radius) - jnp.exp(jnp.mean(jnp.cos(2.0 * math.pi * w)))
            + math.e + 20.0)


def goldstein_price(w: jax.Array) -> jax.Array:
    """[1 + (x+y+1)²(19 − 14x + 3x² − 14y + 6xy + 3y²)]·[30 + (2x−3y)²(18 − 32x + 12x² + 48y −
    36xy + 27y²)]; [−2, 2]², minimum (0, −1), f = 3.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    first = 1.0 + (x + y + 1.0) ** 2 * (19.0 - 14.0 * x + 3.0 * x**2 - 14.0 * y + 6.0 * x * y
                                        + 3.0 * y**2)
    second = 30.0 + (2.0 * x - 3.0 * y) ** 2 * (18.0 - 32.0 * x + 12.0 * x**2 + 48.0 * y
                                                - 36.0 * x * y + 27.0 * y**2)
    return first * second


def styblinski_tang(w: jax.Array) -> jax.Array:
    """½ Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ); [−5, 5]^d, minimum xᵢ = −2.903534, f = −39.16617·d.

    Args:
      w: the point (x₁, …, x_d), shape (d,).

    Returns:
      The value f(w), a scalar array.
    """
    return 0.5 * jnp.sum(w**4 - 16.0 * w**2 + 5.0 * w)


def six_hump_camel(w: jax.Array) -> jax.Array:
    """(4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y²; x ∈ [−3, 3], y ∈ [−2, 2] (SFU), f = −1.0316.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    return (4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * y + (-4.0 + 4.0 * y**2) * y**2


def three_hump_camel(w: jax.Array) -> jax.Array:
    """2x² − 1.05x⁴ + x⁶/6 + xy + y²; [−5, 5]², minimum (0, 0), f = 0.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    return 2.0 * x**2 - 1.05 * x**4 + x**6 / 6.0 + x * y + y**2


def matyas(w: jax.Array) -> jax.Array:
    """0.26(x² + y²) − 0.48xy; [−10, 10]², minimum (0, 0), f = 0.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    return 0.26 * (w[0] ** 2 + w[1] ** 2) - 0.48 * w[0] * w[1]


def mccormick(w: jax.Array) -> jax.Array:
    """sin(x + y) + (x − y)² − 1.5x + 2.5y + 1; x ∈ [−1.5, 4], y ∈ [−3, 4], f = −1.9133.

    ∇f = 0 gives x + y = −2π/3 and x − y = 1 exactly: minimum ((1 − 2π/3)/2, (−1 − 2π/3)/2),
    f = −√3/2 − π/3.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    return jnp.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1.0


def levi_n13(w: jax.Array) -> jax.Array:
    """sin²(3πx) + (x−1)²(1 + sin²(3πy)) + (y−1)²(1 + sin²(2πy)); [−10, 10]², min (1, 1), f = 0.

    1,179 local minima in the box, every one listed (`jaxopt_lab.surfaces.get`).

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    return (jnp.sin(3.0 * math.pi * x) ** 2
            + (x - 1.0) ** 2 * (1.0 + jnp.sin(3.0 * math.pi * y) ** 2)
            + (y - 1.0) ** 2 * (1.0 + jnp.sin(2.0 * math.pi * y) ** 2))


def easom(w: jax.Array) -> jax.Array:
    """−cos x cos y exp(−((x − π)² + (y − π)²)); [−100, 100]², minimum (π, π), f = −1.

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    return -jnp.cos(x) * jnp.cos(y) * jnp.exp(-((x - math.pi) ** 2 + (y - math.pi) ** 2))


def bukin_n6(w: jax.Array) -> jax.Array:
    """100 √|y − 0.01x²| + 0.01|x + 10|; x ∈ [−15, −5], y ∈ [−3, 3], minimum (−10, 1), f = 0.

    The published values exactly; on the ridge y = 0.01x² and at x = −10, where the formula has
    no derivative, the gradient is the zero subgradient (large but finite just beside it).

    Args:
      w: the point (x, y), shape (2,).

    Returns:
      The value f(w), a scalar array.
    """
    x, y = w[0], w[1]
    # 100√|y − 0.01x²| written as 10√|100y − x²|: exact at the minimum even when XLA fuses the
    # product into an FMA (0.01·100 is not exactly 1 in binary, and √ magnifies the residue).
    return 10.0 * _sqrt_abs(100.0 * y - x**2) + 0.01 * _abs(x + 10.0)


def zakharov(w: jax.Array) -> jax.Array:
    """Σ xᵢ² + (Σ ½ i xᵢ)² + (Σ ½ i xᵢ)⁴; [−5, 10]^d (SFU), minimum 0, f = 0.

    Args:
      w: the point (x₁, …, x_d), shape (d,).

    Returns:
      The value f(w), a scalar array.
    """
    weighted = jnp.sum(0.5 * jnp.arange(1, w.shape[0] + 1, dtype=w.dtype) * w)
    return jnp.sum(w**2) + weighted**2 + weighted**4


# Himmelblau: published minima (3, 2), (−2.805118, 3.131312), (−3.779310, −3.283186),
# (3.584428, −1.848126), refined; its saddles and local maximum (181.617 at (−0.270845,
# −0.923039)) found by Newton from the values usually quoted.
HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.2831859912861696),
    (3.5844283403304917, -1.8481265269644034),
)
HIMMELBLAU_SADDLES = (
    (0.08667750455539634, 2.884254701174776),
    (-3.0730257507643897, -0.08135304428796751),
    (3.385154183607021, 0.07385187983774928),
    (-0.12796134673068005, -1.9537149802445766),
)
#: Largest Hessian eigenvalue at Himmelblau's flattest minimum (−2.805118, 3.131312).
HIMMELBLAU_FLATTEST_LAMBDA_MAX = 80.55007178
_STYBLINSKI_TANG_GLOBAL = -2.9035340277711774  # root of 4x³ − 32x + 5 (published −2.903534)
_STYBLINSKI_TANG_LOCAL = 2.746802770990837
_THREE_HUMP_LOCAL = (1.7475523458302893, -0.8737761729151446)
_MCCORMICK_SUM = -2.0 * math.pi / 3.0


def _styblinski_tang() -> Surface:
    low, high = _STYBLINSKI_TANG_GLOBAL, _STYBLINSKI_TANG_LOCAL
    minima = ((low, low), (low, high), (high, low), (high, high))
    return make_surface("styblinski_tang", styblinski_tang, ((-5.0, 5.0),) * 2, minima=minima,
                        f_min=-78.33233140754284,
                        minima_values=(-78.33233140754284, -64.19561235905536,
                                       -64.19561235905536, -50.05889331056789))


def _every_minimum(name: str, fn: Callable, bounds, points, values, f_min: float,
                   **fields) -> Surface:
    """A surface listing all its local minima (`jaxopt_lab._minima_data`), the global ones with
    exactly the published ``f_min`` (Newton's value differs from it in the last bits)."""
    values = tuple(f_min if abs(v - f_min) <= 1e-12 * max(1.0, abs(f_min)) else v
                   for v in values)
    return make_surface(name, fn, bounds, minima=points, f_min=f_min, minima_values=values,
                        **fields)


def builders() -> dict[str, Callable[[], Surface]]:
    """Name → constructor of every classic test function (`jaxopt_lab.surfaces.get` caches them)."""
    square = lambda half: ((-half, half), (-half, half))  # noqa: E731
    hump_x, hump_y = _THREE_HUMP_LOCAL
    return {
        "rosenbrock": lambda: make_surface("rosenbrock", rosenbrock, square(2.048),
                                           minima=((1.0, 1.0),), f_min=0.0),
        "beale": lambda: make_surface("beale", beale, square(4.5), minima=((3.0, 0.5),),
                                      f_min=0.0),
        "booth": lambda: make_surface("booth", booth, square(10.0), minima=((1.0, 3.0),),
                                      f_min=0.0),
        "himmelblau": lambda: make_surface("himmelblau", himmelblau, square(5.0),
                                           minima=HIMMELBLAU_MINIMA, f_min=0.0,
                                           saddles=HIMMELBLAU_SADDLES),
        "rastrigin": lambda: _every_minimum("rastrigin", rastrigin, square(5.12),
                                            found.RASTRIGIN_MINIMA, found.RASTRIGIN_VALUES, 0.0),
        "ackley": lambda: _every_minimum("ackley", ackley, square(5.0), found.ACKLEY_MINIMA,
                                         found.ACKLEY_VALUES, 0.0),
        # Local minima (−0.6, −0.4), (1.8, 0.2), (1.2, 0.8) with f = 30, 84, 840: exact
        # critical points, confirmed by Newton's method.
        "goldstein_price": lambda: make_surface(
            "goldstein_price", goldstein_price, square(2.0),
            minima=((0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)), f_min=3.0,
            minima_values=(3.0, 30.0, 84.0, 840.0)),
        "styblinski_tang": _styblinski_tang,
        "six_hump_camel": lambda: _every_minimum(
            "six_hump_camel", six_hump_camel, ((-3.0, 3.0), (-2.0, 2.0)),
            found.SIX_HUMP_CAMEL_MINIMA, found.SIX_HUMP_CAMEL_VALUES, -1.0316284534898774),
        "three_hump_camel": lambda: make_surface(
            "three_hump_camel", three_hump_camel, square(5.0),
            minima=((0.0, 0.0), (hump_x, hump_y), (-hump_x, -hump_y)), f_min=0.0,
            minima_values=(0.0, 0.2986384422368604, 0.2986384422368604)),
        "matyas": lambda: make_surface("matyas", matyas, square(10.0), minima=((0.0, 0.0),),
                                       f_min=0.0),
        "mccormick": lambda: _every_minimum(
            "mccormick", mccormick, ((-1.5, 4.0), (-3.0, 4.0)),
            (((1.0 + _MCCORMICK_SUM) / 2.0, (_MCCORMICK_SUM - 1.0) / 2.0),
             found.MCCORMICK_MINIMA[1]), found.MCCORMICK_VALUES,
            -math.sqrt(3.0) / 2.0 - math.pi / 3.0),
        # 1,179 local minima in its box (Newton from a 320 x 320 grid): listed is the global one
        # only, as a sweep checks the distance to each listed minimum at every check.
        "levi_n13": lambda: _every_minimum("levi_n13", levi_n13, square(10.0),
                                           levi.LEVI_N13_MINIMA, levi.LEVI_N13_VALUES, 0.0),
        "easom": lambda: make_surface("easom", easom, square(100.0),
                                      minima=((math.pi, math.pi),), f_min=-1.0),
        "bukin_n6": lambda: make_surface("bukin_n6", bukin_n6, ((-15.0, -5.0), (-3.0, 3.0)),
                                         minima=((-10.0, 1.0),), f_min=0.0),
        "zakharov": lambda: make_surface("zakharov", zakharov, ((-5.0, 10.0),) * 6,
                                         minima=((0.0,) * 6,), f_min=0.0),
    }
