"""Surfaces to minimize: the `Surface` description and the catalogue (`get`, `names`).

A `Surface` is immutable and hashable, so it can be a static argument of `jax.jit`: the sweep
engine compiles once per (optimizer, surface, shapes). Its ``fn`` is compared by identity, so the
catalogue builds each entry once and `get` returns that same object every time; the quadratics
built by `quadratic` carry their matrices as nested tuples inside a hashable callable, so two
quadratics built from the same numbers are equal and share a compilation.

The package holds the quadratics, the saddles, the two-Gaussian bowl, the cliff (Goodfellow,
Bengio & Courville 2016, §8.2.4), the classic test functions (Rosenbrock, Himmelblau, ...) with
every local minimum inside their boxes, the minibatch-noise wrapper `noisy_gradient`, and the
settings that give each surface an informative map (`map_settings`).

>>> import jax.numpy as jnp
>>> surface = get("himmelblau")
>>> surface is get("himmelblau"), surface.dim, len(surface.minima)
(True, 2, 4)
>>> float(surface(jnp.array([3.0, 2.0])))
0.0
"""
from jaxopt_lab.surfaces._catalogue import get, names
from jaxopt_lab.surfaces._classic import (
    HIMMELBLAU_FLATTEST_LAMBDA_MAX,
    HIMMELBLAU_MINIMA,
    HIMMELBLAU_SADDLES,
    ackley,
    beale,
    booth,
    bukin_n6,
    easom,
    goldstein_price,
    himmelblau,
    levi_n13,
    matyas,
    mccormick,
    rastrigin,
    rosenbrock,
    six_hump_camel,
    styblinski_tang,
    three_hump_camel,
    zakharov,
)
from jaxopt_lab.surfaces._local import (
    CLIFF_HEIGHT,
    CLIFF_STEEPNESS,
    cliff,
    monkey_saddle,
    two_gaussian_bowl,
)
from jaxopt_lab.surfaces._map_defaults import (
    FALLBACK_WIDTH_FACTOR,
    MAP_CAVEATS,
    MAP_HYPERPARAMS,
    MAP_XTOL_FRACTION,
    MAX_MAP_STEPS,
    MIN_MAP_STEPS,
    UNINFORMATIVE_SHARE,
    MapSettings,
    box_width,
    condition_number,
    map_caveat,
    map_settings,
    map_steps,
    stiffest_curvature,
)
from jaxopt_lab.surfaces._noise import NoisyGradient, noisy_gradient
from jaxopt_lab.surfaces._quadratics import Quadratic, quadratic, quadratic_1d, rotated_quadratic
from jaxopt_lab.surfaces._surface import (
    ESCAPE_FACTOR,
    Bounds,
    Points,
    Surface,
    escape_radius_for,
    make_surface,
)

__all__ = [
    "MapSettings", "NoisyGradient", "Quadratic", "Surface", "ackley", "beale", "booth",
    "box_width", "bukin_n6", "cliff", "condition_number", "easom", "escape_radius_for", "get",
    "goldstein_price", "himmelblau", "levi_n13", "make_surface", "map_caveat", "map_settings",
    "map_steps",
    "matyas", "mccormick", "monkey_saddle", "names", "noisy_gradient", "quadratic",
    "quadratic_1d", "rastrigin", "rosenbrock", "rotated_quadratic", "six_hump_camel",
    "stiffest_curvature", "styblinski_tang", "three_hump_camel", "two_gaussian_bowl",
    "zakharov",
]

# The functions and classes are documented (and pickled) as jaxopt_lab.surfaces.X, where users
# find them; the constants imported above are importable from here too.
for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith(__name__ + "._"):
        try:
            _value.__module__ = __name__
        except (AttributeError, TypeError):  # builtin aliases such as Bounds
            pass
del _name, _value
