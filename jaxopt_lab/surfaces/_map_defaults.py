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
    #: Why no setting gives this optimizer an informative map here, where theory says so
    #: (`MAP_CAVEATS`); None otherwise.
    caveat: str | None = None


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

#: Hyperparameters besides the learning rate that a map sets for a family. AdamW's decoupled
#: weight decay λ adds λ·x to every step's direction, so its points come to rest where Adam's
#: normalized step balances λ·x, not at a minimum of f (Loshchilov & Hutter 2019). At PyTorch's
#: λ = 1e-2 (this library's default) the 24 x 24 maps of Rosenbrock and Beale end a median 0.083
#: and 0.77 from the minimum, 14 and 60 times xtol, and 99 % and 91 % of their starts count as
#: unfinished. A map asks where the optimizer reaches f's minima, so it takes optax's default,
#: λ = 1e-4, at which 100 % and 39 % of those starts converge.
MAP_HYPERPARAMS: dict[str, dict[str, float]] = {
    "adamw": {"weight_decay": 1e-4},
}

#: Families whose averaged step cancels a zig-zag across a ridge (Polyak 1964; Nesterov 1983).
MOMENTUM_FAMILIES = ("momentum", "nesterov")
#: Surfaces where theory, not the settings, leaves every family outside `MOMENTUM_FAMILIES`
#: with an uninformative map, and why. Bukin N.6, f = 100·√|y − 0.01x²| + 0.01·|x + 10|, has
#: its minimum on the ridge y = 0.01x² where √|·| has no derivative: the gradient across the
#: ridge grows as 50/√|u| (u = y − 0.01x²), so a step of size η lands a distance of order
#: (50η)^(2/3) on the other side, whatever η, while the pull along the ridge is 0.01. Getting
#: within xtol (0.012) of the minimum needs η ~ 1e-5 and then ~10⁷ steps along the ridge.
#: Normalized steps (Adam, RMSProp, Rprop) zig-zag at their step size instead.
MAP_CAVEATS: dict[str, str] = {
    "bukin_n6": "its minimum lies on the ridge y = 0.01x², where √|y − 0.01x²| has no "
                "derivative: steps zig-zag across the ridge instead of along it at any learning "
                "rate; momentum and nesterov average the zig-zag out",
}


def map_caveat(surface: Surface, optimizer: str) -> str | None:
    """Why ``optimizer`` gives no informative map of ``surface`` at any setting, or None.

    Args:
      surface: the `Surface` to map.
      optimizer: the optimizer family's name, e.g. ``"sgd"``.

    Returns:
      A sentence from `MAP_CAVEATS` for a family outside `MOMENTUM_FAMILIES`, else None.

    >>> map_caveat(get("bukin_n6"), "adam")[:36], map_caveat(get("bukin_n6"), "momentum")
    ('its minimum lies on the ridge y = 0.', None)
    """
    if optimizer in MOMENTUM_FAMILIES:
        return None
    return MAP_CAVEATS.get(surface.name)


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
      ``rule`` (how η was chosen, in words) and ``caveat`` (`map_caveat`). Besides η,
      ``hyperparams`` holds a family's `MAP_HYPERPARAMS` (AdamW's weight decay).

    >>> settings = map_settings(get("himmelblau"), "sgd")
    >>> f"{settings.hyperparams['learning_rate']:.3g}", settings.num_steps, settings.rule
    ('0.00747', 3000, '1/λ_max')
    """
    steps = map_steps(surface)
    xtol = MAP_XTOL_FRACTION * float(np.linalg.norm(surface.upper - surface.lower))
    caveat = map_caveat(surface, optimizer)
    if optimizer not in LEARNING_RATE_RULES:
        return MapSettings({}, steps, xtol, "the optimizer's own defaults", caveat)
    kind, factor = LEARNING_RATE_RULES[optimizer]
    curvature = stiffest_curvature(surface)
    if kind == "curvature" and math.isfinite(curvature):
        rate, rule = factor / curvature, f"{factor:g}/λ_max"
    elif kind == "curvature":
        rate, rule = FALLBACK_WIDTH_FACTOR * box_width(surface), "no curvature: 0.001·box width"
    else:
        rate, rule = factor * box_width(surface), f"{factor:g}·box width"
    hyperparams = {"learning_rate": float(f"{rate:.4g}"), **MAP_HYPERPARAMS.get(optimizer, {})}
    return MapSettings(hyperparams, steps, xtol, rule, caveat)
