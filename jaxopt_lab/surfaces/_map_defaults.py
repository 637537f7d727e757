"""Settings that give an informative convergence map: learning rate and steps per surface."""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab.surfaces._surface import Surface

# --- settings that give an informative map ------------------------------------------------------

#: A map that is at least this share DIVERGED, or this share UNFINISHED, tells a reader little;
#: `map_settings` aims below it on every catalogued surface with a minimum.
UNINFORMATIVE_SHARE = 0.9
#: A map's points count as converged within this share of the box's diagonal of a minimum:
#: finer than a pixel of a 512 x 512 map, and coarse enough for methods that circle a minimum
#: at a constant step (RMSProp) to finish.
MAP_XTOL_FRACTION = 1e-3
#: Steps of a map: at least MIN_MAP_STEPS, and ln(1/MAP_XTOL_FRACTION) ≈ 7 e-folds of the
#: slowest direction of gradient descent at η = 1/λ_max, about 7κ steps (κ = λ_max/λ_min over
#: the minima), capped at MAX_MAP_STEPS so that a map stays minutes, not hours, on a CPU.
MIN_MAP_STEPS = 3000
MAX_MAP_STEPS = 20000


class MapSettings(NamedTuple):
    """Hyperparameters, step count and position tolerance for a map of one optimizer on one
    surface, and the rule that gave the learning rate."""

    hyperparams: dict
    num_steps: int
    xtol: float
    rule: str


def _hessian_eigenvalues(surface: Surface) -> np.ndarray:
    """Eigenvalues of the Hessian at each listed minimum (at each saddle if none), ``(K, dim)``."""
    points = surface.minima or surface.saddles
    if not points:
        return np.zeros((0, surface.dim))
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    # All points in one compiled call: one by one, Levi N.13's 1,179 minima took minutes.
    hessians = jax.jit(jax.vmap(jax.hessian(surface.fn)))(jnp.asarray(points, dtype=dtype))
    return np.linalg.eigvalsh(np.asarray(hessians)).reshape(len(points), surface.dim)


@functools.cache
def stiffest_curvature(surface: Surface) -> float:
    """The largest Hessian eigenvalue over the surface's listed minima (|eigenvalue| at its
    saddles when it lists no minimum): gradient descent near them is stable below 2/that.
    NaN where it is not positive and finite (Bukin N.6's kink has no curvature to speak of).

    Args:
      surface: the `Surface`; its listed minima (or saddles) are where the Hessian is taken.

    Returns:
      The largest |eigenvalue|, a float, or NaN.
    """
    eigenvalues = np.abs(_hessian_eigenvalues(surface))
    largest = float(eigenvalues.max()) if eigenvalues.size else math.nan
    return largest if math.isfinite(largest) and largest > 0 else math.nan


@functools.cache
def condition_number(surface: Surface) -> float:
    """λ_max/λ_min of the Hessian over the listed minima; NaN where it is not defined.

    Args:
      surface: the `Surface`; NaN if it lists no minimum or an eigenvalue there is <= 0 or not
        finite.

    Returns:
      The condition number, a float, or NaN.
    """
    eigenvalues = _hessian_eigenvalues(surface) if surface.minima else np.zeros((0,))
    if not eigenvalues.size or eigenvalues.min() <= 0 or not np.all(np.isfinite(eigenvalues)):
        return math.nan
    return float(eigenvalues.max() / eigenvalues.min())


def box_width(surface: Surface) -> float:
    """The mean side of the surface's box: the distance scale of its starting points.

    Args:
      surface: the `Surface` whose ``bounds`` are measured.

    Returns:
      The mean of ``high - low`` over the coordinates, a float.
    """
    return float(np.mean(surface.upper - surface.lower))


#: How each optimizer family's learning rate follows from the surface (measured over the 2-D
#: catalogue on 24 x 24 maps at 0.3, 1, 3 and 10 times these factors; these gave the fewest
#: uninformative maps). ``("curvature", c)``: η = c/λ_max, `stiffest_curvature`; gradient
#: descent is stable near every listed minimum for c < 2 (c = 1 is the fastest rate along the
#: stiffest direction), heavy ball and Nesterov with β = 0.9 for c < 3.8 and c < 1.36 (Polyak
#: 1964; Nesterov 1983). Where λ_max is undefined, η = `FALLBACK_WIDTH_FACTOR`·width.
#: ``("width", c)``: η = c·`box_width`, for methods whose step is about η whatever the
#: gradient's size (sign-based and normalized: Rprop, Adam, RMSProp, AdaGrad, AdaDelta).
LEARNING_RATE_RULES: dict[str, tuple[str, float]] = {
    "sgd": ("curvature", 1.0),
    "momentum": ("curvature", 0.5),
    "nesterov": ("curvature", 0.5),
    "quickprop": ("curvature", 1.0),
    "adam": ("width", 0.03),
    "adamw": ("width", 0.03),
    "rmsprop": ("width", 0.0003),
    "rprop": ("width", 0.01),
    "adagrad": ("width", 0.1),
    # At 0.1, 99 % of Rosenbrock's map stays unfinished in its curved valley; 0.03 brings it
    # under the line (85 %) and no other surface's map over it.
    "adadelta": ("width", 0.03),
}
FALLBACK_WIDTH_FACTOR = 1e-3


def map_steps(surface: Surface) -> int:
    """`MIN_MAP_STEPS`, or about 7κ rounded up to a thousand for an ill-conditioned surface.

    Args:
      surface: the `Surface`; its `condition_number` sets the count.

    Returns:
      The number of steps, an int in [`MIN_MAP_STEPS`, `MAX_MAP_STEPS`].

    >>> map_steps(get("himmelblau")), map_steps(get("rosenbrock"))
    (3000, 18000)
    """
    kappa = condition_number(surface)
    if not math.isfinite(kappa):
        return MIN_MAP_STEPS
    needed = 1000 * math.ceil(math.log(1.0 / MAP_XTOL_FRACTION) * kappa / 1000)
    return int(min(MAX_MAP_STEPS, max(MIN_MAP_STEPS, needed)))


def map_settings(surface: Surface, optimizer: str) -> MapSettings:
    """The learning rate (`LEARNING_RATE_RULES`), steps (`map_steps`) and xtol
    (`MAP_XTOL_FRACTION`) for a map of ``optimizer`` (a family name as `jaxopt-lab list` shows
    it) on ``surface``; a family without a rule keeps its own learning rate.

    Args:
      surface: the `Surface` to map.
      optimizer: the optimizer family's name, e.g. ``"sgd"`` or ``"adam"``.

    Returns:
      A `MapSettings`: ``hyperparams`` (``{"learning_rate": η}``, or empty for a family
      without a rule), ``num_steps``, ``xtol`` (`MAP_XTOL_FRACTION` times the box's diagonal)
      and ``rule`` (how η was chosen, in words).

    >>> settings = map_settings(get("himmelblau"), "sgd")
    >>> f"{settings.hyperparams['learning_rate']:.3g}", settings.num_steps, settings.rule
    ('0.00747', 3000, '1/λ_max')
    """
    steps = map_steps(surface)
    xtol = MAP_XTOL_FRACTION * float(np.linalg.norm(surface.upper - surface.lower))
    if optimizer not in LEARNING_RATE_RULES:
        return MapSettings({}, steps, xtol, "the optimizer's own defaults")
    kind, factor = LEARNING_RATE_RULES[optimizer]
    curvature = stiffest_curvature(surface)
    if kind == "curvature" and math.isfinite(curvature):
        rate, rule = factor / curvature, f"{factor:g}/λ_max"
    elif kind == "curvature":
        rate, rule = FALLBACK_WIDTH_FACTOR * box_width(surface), "no curvature: 0.001·box width"
    else:
        rate, rule = factor * box_width(surface), f"{factor:g}·box width"
    return MapSettings({"learning_rate": float(f"{rate:.4g}")}, steps, xtol, rule)
