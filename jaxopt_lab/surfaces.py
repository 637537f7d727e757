"""Surfaces to minimize: the `Surface` description and the catalogue (`get`, `names`).

A `Surface` is immutable and hashable, so it can be a static argument of `jax.jit`: the sweep
engine compiles once per (optimizer, surface, shapes). Its ``fn`` is compared by identity, so the
catalogue builds each entry once and `get` returns that same object every time; the quadratics
built by `quadratic` carry their matrices as nested tuples inside a hashable callable, so two
quadratics built from the same numbers are equal and share a compilation.

This module holds the quadratics, the saddles, the two-Gaussian bowl, the cliff (Goodfellow,
Bengio & Courville 2016, §8.2.4) and the minibatch-noise wrapper `noisy_gradient`; the classic
test functions (Rosenbrock, Himmelblau, ...) live in `jaxopt_lab.test_functions` and are listed here too.

>>> import jax.numpy as jnp
>>> surface = get("himmelblau")
>>> surface is get("himmelblau"), surface.dim, len(surface.minima)
(True, 2, 4)
>>> float(surface(jnp.array([3.0, 2.0])))
0.0
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import check_int, check_nonnegative, real_array

Points = tuple[tuple[float, ...], ...]
Bounds = tuple[tuple[float, float], ...]

#: The default escape radius is this many times the distance from the origin to the farthest
#: corner of ``bounds``. Far enough that no honest run leaves it, near enough that float32 stays finite.
ESCAPE_FACTOR = 10.0


@dataclasses.dataclass(frozen=True)
class Surface:
    """A loss surface ``fn: (dim,) -> scalar`` with what a sweep needs to judge an outcome.

    Attributes:
      name: catalogue name.
      fn: the loss, written in ``jax.numpy``; finite gradients everywhere in ``bounds``.
      dim: number of coordinates.
      bounds: ``((low, high),) * dim``: the box to draw and to sample starting points from.
      minima: known local and global minimizers, one tuple of ``dim`` floats each.
      f_min: the global minimum value (``None`` if unknown or unbounded below).
      saddles: known saddle points.
      escape_radius: a run whose point gets farther than this from the origin counts as diverged.
      minima_values: ``fn`` at each of ``minima`` (same order); empty means every listed minimum
        is global, with value ``f_min``.
    """

    name: str
    fn: Callable[[jax.Array], jax.Array] = dataclasses.field(repr=False)
    dim: int
    bounds: tuple[tuple[float, float], ...]
    minima: Points = ()
    f_min: float | None = None
    saddles: Points = ()
    escape_radius: float = math.inf
    minima_values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        # Checked and normalized here, so a mistake is reported against the field that holds it
        # (not as a shape error in a sweep) and every field hashes (a jit static argument).
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        if not callable(self.fn):
            raise TypeError(f"fn must be a callable (dim,) -> scalar, got {type(self.fn).__name__}")
        dim = check_int("dim", self.dim, 1)
        bounds = real_array("bounds", self.bounds)
        if bounds.shape != (dim, 2):
            raise ValueError(f"bounds must be {dim} (low, high) pairs (one per coordinate of dim="
                             f"{dim}), got shape {bounds.shape}")
        if np.any(bounds[:, 0] >= bounds[:, 1]):
            raise ValueError(f"bounds must have low < high in every pair, got {bounds.tolist()}")
        radius = real_array("escape_radius", self.escape_radius, finite=False)
        if radius.shape != () or not radius > 0:  # `not >` also refuses NaN
            raise ValueError(f"escape_radius must be a number in (0, inf] (inf: never escape), "
                             f"got {self.escape_radius!r}")
        fields = {"dim": dim, "bounds": _as_tuple(bounds), "escape_radius": float(radius),
                  "minima": _points("minima", self.minima, dim),
                  "saddles": _points("saddles", self.saddles, dim)}
        if self.f_min is not None:
            fields["f_min"] = float(real_array("f_min", self.f_min).reshape(()))
        values = real_array("minima_values", self.minima_values).reshape(-1)
        if values.size and values.size != len(fields["minima"]):
            raise ValueError(f"minima_values must have one value per minimum "
                             f"({len(fields['minima'])}), got {values.size}")
        fields["minima_values"] = tuple(float(value) for value in values)
        for field, value in fields.items():
            object.__setattr__(self, field, value)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fn(x)

    @property
    def minima_array(self) -> np.ndarray:
        """Known minima as a ``(K, dim)`` array (``K`` may be 0)."""
        return np.asarray(self.minima, dtype=float).reshape(len(self.minima), self.dim)

    @property
    def saddles_array(self) -> np.ndarray:
        """Known saddles as a ``(K, dim)`` array."""
        return np.asarray(self.saddles, dtype=float).reshape(len(self.saddles), self.dim)

    @property
    def lower(self) -> np.ndarray:
        return np.asarray([low for low, _ in self.bounds], dtype=float)

    @property
    def upper(self) -> np.ndarray:
        return np.asarray([high for _, high in self.bounds], dtype=float)

    @property
    def minima_values_array(self) -> np.ndarray:
        """``fn`` at each listed minimum, ``(K,)``: `minima_values`, or `f_min` repeated."""
        if self.minima_values:
            return np.asarray(self.minima_values, dtype=float)
        return np.full(len(self.minima), np.nan if self.f_min is None else self.f_min)


def _points(name: str, points, dim: int) -> Points:
    array = real_array(name, points)
    if array.size == 0:
        return ()
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"{name} must be a sequence of points with {dim} coordinates each, "
                         f"got shape {array.shape}")
    return _as_tuple(array)


def escape_radius_for(bounds: Bounds, factor: float = ESCAPE_FACTOR) -> float:
    """``factor`` times the distance from the origin to the farthest corner of ``bounds``."""
    corner = [max(abs(low), abs(high)) for low, high in bounds]
    return float(factor * math.hypot(*corner))


def make_surface(name: str, fn: Callable, bounds: Bounds, **fields) -> Surface:
    """A `Surface` whose ``dim`` and default ``escape_radius`` follow from ``bounds``."""
    bounds = tuple((float(low), float(high)) for low, high in bounds)
    fields.setdefault("escape_radius", escape_radius_for(bounds))
    return Surface(name=name, fn=fn, dim=len(bounds), bounds=bounds, **fields)


# --- quadratics: E = ½ wᵀAw + bᵀw + c, and the long canyon ---------------------------------------


def _as_tuple(array) -> tuple:
    return tuple(_as_tuple(row) for row in array) if np.ndim(array) else float(array)


@dataclasses.dataclass(frozen=True)
class Quadratic:
    """½ wᵀAw + bᵀw + c, with ``A``, ``b`` stored as tuples so it hashes."""

    A: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: float

    @functools.cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.A, dtype=float), np.asarray(self.b, dtype=float)

    @functools.cached_property
    def eigenvalues(self) -> np.ndarray:
        """``A``'s eigenvalues, ascending: the curvatures along its principal axes.

        >>> quadratic([[3.0, 2.0], [2.0, 3.0]]).fn.eigenvalues.round(12).tolist()
        [1.0, 5.0]
        """
        return np.linalg.eigvalsh(self._arrays[0])

    def __call__(self, w: jax.Array) -> jax.Array:
        A, b = self._arrays
        w = jnp.asarray(w)
        return 0.5 * w @ (A.astype(w.dtype) @ w) + b.astype(w.dtype) @ w + self.c


def quadratic(
    A,
    b=None,
    c: float = 0.0,
    *,
    name: str = "quadratic",
    bounds: Bounds | None = None,
) -> Surface:
    """The surface ½ wᵀAw + bᵀw + c for a symmetric ``(dim, dim)`` matrix ``A``.

    The critical point w* = −A⁻¹b is listed as the minimum (with f_min = c − ½ bᵀA⁻¹b) when A
    is positive definite, as a saddle when A is indefinite and invertible; nothing is listed
    otherwise. ``bounds`` defaults to the box of half-width 2 around w* (around 0 if A is
    singular).

    >>> surface = quadratic([[2.0, 0.0], [0.0, 4.0]], b=[-2.0, 0.0], c=1.0)
    >>> surface.minima, surface.f_min
    (((1.0, -0.0),), 0.0)
    >>> surface == quadratic([[2.0, 0.0], [0.0, 4.0]], b=[-2.0, 0.0], c=1.0)
    True
    """
    A = real_array("A", A)
    dim = A.shape[0] if A.ndim == 2 else -1
    if A.shape != (dim, dim) or dim < 1:
        raise ValueError(f"A must be a square (dim, dim) matrix, got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
        raise ValueError("A must be symmetric, got a matrix with A != A.T")
    A = 0.5 * (A + A.T)
    b = np.zeros(dim) if b is None else real_array("b", b).reshape(-1)
    if real_array("c", c).shape != ():
        raise ValueError(f"c must be one number, got shape {np.shape(c)}")
    if b.shape != (dim,):
        raise ValueError(f"b must have shape ({dim},) to match A, got {b.shape}")
    eigenvalues = np.linalg.eigvalsh(A)
    fields: dict = {}
    center = np.zeros(dim)
    if np.all(eigenvalues != 0.0):
        center = -np.linalg.solve(A, b)
        if np.all(eigenvalues > 0.0):
            fields["minima"] = (_as_tuple(center),)
            fields["f_min"] = float(c + 0.5 * b @ center)
        elif np.any(eigenvalues > 0.0):
            fields["saddles"] = (_as_tuple(center),)
    if bounds is None:
        bounds = tuple((float(x - 2.0), float(x + 2.0)) for x in center)
    fn = Quadratic(A=_as_tuple(A), b=_as_tuple(b), c=float(c))
    return make_surface(name, fn, bounds, **fields)


def quadratic_1d(a: float, b: float = 0.0, c: float = 0.0, *, name: str = "quadratic_1d",
                 bounds: Bounds | None = None) -> Surface:
    """E(w) = ½·a·w² + b·w + c on one coordinate: minimum −b/a when a > 0."""
    return quadratic([[a]], [b], c, name=name, bounds=bounds)


def rotated_quadratic(eigenvalues, angle: float, *, b=None, c: float = 0.0,
                      name: str = "rotated_quadratic", bounds: Bounds | None = None) -> Surface:
    """½ wᵀAw + bᵀw + c with A = R diag(λ₁, λ₂) Rᵀ, R the rotation by ``angle`` (radians).

    λ₁ is the curvature along (cos angle, sin angle), λ₂ along (−sin angle, cos angle); angle 0
    gives the axis-aligned quadratic.

    >>> canyon = rotated_quadratic((5.0, 1.0), math.pi / 4)
    >>> np.round(np.asarray(canyon.fn.A), 12).tolist()
    [[3.0, 2.0], [2.0, 3.0]]
    """
    eigenvalues = real_array("eigenvalues", eigenvalues)
    if eigenvalues.shape != (2,):
        raise ValueError(f"eigenvalues must be two numbers, got shape {eigenvalues.shape}")
    if real_array("angle", angle).shape != ():
        raise ValueError(f"angle must be one number (radians), got shape {np.shape(angle)}")
    cos, sin = math.cos(angle), math.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    return quadratic(rotation @ np.diag(eigenvalues) @ rotation.T, b, c, name=name, bounds=bounds)


def _deep_learning_spectrum(dim: int = 100, seed: int = 0) -> Surface:
    """100-D ½ wᵀAw: 90 eigenvalues uniform in (0, 1), 10 in (30, 60), rotated (PRNG key 0)."""
    rng = np.random.default_rng(seed)
    num_large = dim // 10
    eigenvalues = np.concatenate([rng.uniform(0.0, 1.0, dim - num_large),
                                  rng.uniform(30.0, 60.0, num_large)])
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    rotation = q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix
    return quadratic(rotation @ np.diag(eigenvalues) @ rotation.T, name="deep_learning_spectrum",
                     bounds=((-1.0, 1.0),) * dim)


# --- surfaces beyond the classic table ----------------------------------------------------------


def monkey_saddle(w: jax.Array) -> jax.Array:
    """x³ − 3xy²: a degenerate saddle (zero Hessian) with three descending valleys."""
    return w[0] ** 3 - 3.0 * w[0] * w[1] ** 2


def two_gaussian_bowl(w: jax.Array) -> jax.Array:
    """x² + y² − 2·exp(−((x−1)² + y²)/0.2) − 3·exp(−((x+1)² + y²)/0.2): two wells."""
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


# --- the catalogue ------------------------------------------------------------------------------


@functools.cache
def _builders() -> dict[str, Callable[[], Surface]]:
    from jaxopt_lab import test_functions  # imports Surface from here: import it lazily

    return {**_local_surfaces(), **test_functions.builders()}


def names() -> tuple[str, ...]:
    """Names of the catalogued surfaces, quadratics and saddles first, then the classic table."""
    return tuple(_builders())


@functools.cache
def get(name: str) -> Surface:
    """The catalogued surface ``name``; the same object on every call (one jit compilation).

    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown surface 'nope'; known: quadratic_1d, ..."
    """
    builders = _builders()
    if name not in builders:
        raise KeyError(f"unknown surface {name!r}; known: {', '.join(builders)}")
    return builders[name]()


# --- stochastic gradients: minibatch SGD -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NoisyGradient:
    """Minibatch gradients of ``surface`` under the additive noise model; see `noisy_gradient`."""

    surface: Surface
    sigma: float
    batch_size: int
    num_examples: int | None = None
    data_seed: int = 0

    def noise(self, key: jax.Array, dtype=float) -> jax.Array:
        """The minibatch's mean noise vector ξ̄ = (1/B) Σᵢ ξᵢ, shape ``(dim,)``."""
        dim = self.surface.dim
        if self.num_examples is None:
            # The mean of B i.i.d. N(0, σ²I) draws is N(0, σ²/B · I): draw it directly, exact in
            # distribution and O(dim) instead of O(B·dim) per step.
            return self.sigma / math.sqrt(self.batch_size) * jax.random.normal(key, (dim,), dtype)
        batch = jax.random.choice(key, self.num_examples, (self.batch_size,), replace=False)
        return self.examples(dtype)[batch].mean(axis=0)

    @functools.cached_property
    def _examples_by_dtype(self) -> dict[np.dtype, jax.Array]:
        # Filled by `examples`. A cached_property lives in the instance's __dict__, outside the
        # dataclass fields, so equality and the hash (the jit cache key) ignore it.
        return {}

    def examples(self, dtype=float) -> jax.Array:
        """The fixed data set's noise vectors ξ₁..ξ_N, ``(N, dim)`` (``num_examples`` mode only).

        Drawn once per dtype and kept: every minibatch (every step of every run) indexes the same
        array instead of redrawing N·dim normals. It is drawn eagerly even when first asked for
        inside ``jax.jit``/``vmap`` (a traced array kept here would leak out of its trace) and
        then enters compiled code as a constant.
        """
        if self.num_examples is None:
            raise ValueError("examples needs a fixed data set: pass num_examples to noisy_gradient")
        dtype = jax.dtypes.canonicalize_dtype(dtype)
        cache = self._examples_by_dtype
        if dtype not in cache:
            with jax.ensure_compile_time_eval():
                shape = (self.num_examples, self.surface.dim)
                data = jax.random.normal(jax.random.PRNGKey(self.data_seed), shape, dtype)
                # Centred: the full batch gives ∇f exactly.
                cache[dtype] = self.sigma * (data - data.mean(axis=0))
        return cache[dtype]

    def loss(self, params: jax.Array, key: jax.Array) -> jax.Array:
        """Minibatch loss (1/B) Σᵢ [f(w) + w·ξᵢ] = f(w) + w·ξ̄."""
        params = jnp.asarray(params)
        return self.surface.fn(params) + params @ self.noise(key, params.dtype)

    def __call__(self, params: jax.Array, key: jax.Array) -> jax.Array:
        """Minibatch gradient ∇f(w) + ξ̄."""
        params = jnp.asarray(params)
        return jax.grad(self.surface.fn)(params) + self.noise(key, params.dtype)


def noisy_gradient(surface: Surface, sigma: float, batch_size: int, *,
                   num_examples: int | None = None, data_seed: int = 0) -> NoisyGradient:
    """Turn ``surface`` into a minibatch problem: returns ``grad_fn(params, key) -> gradient``.

    Per-example loss ℓᵢ(w) = f(w) + w·ξᵢ with ξᵢ ~ N(0, σ²I) (in 2-D: f(u, v) + u·x + v·y with
    (x, y) ~ N(0, σ²)). A minibatch of B examples has gradient ∇f(w) + ξ̄, ξ̄ the batch mean, so:

    - ``num_examples=None`` (endless data, fresh examples each step): noise variance σ²/B per
      coordinate; B = 1 is SGD.
    - ``num_examples=N``: a fixed data set of N examples (drawn from ``data_seed``, centred so
      the full-batch loss is exactly f); each call samples B of them without replacement, noise
      variance s²/B·(N − B)/(N − 1) with s² the data's variance; B = N is batch gradient descent.

    The result is deterministic given ``key``, hashable (a static jit argument), and has
    ``.loss(params, key)`` for the minibatch loss.

    >>> grad_fn = noisy_gradient(get("booth"), sigma=1.0, batch_size=4, num_examples=4)
    >>> gradient = grad_fn(jnp.array([1.0, 3.0]), jax.random.PRNGKey(0))  # B = N: exact
    >>> bool(jnp.all(jnp.abs(gradient) < 1e-12))
    True
    """
    check_nonnegative("sigma", sigma)
    if num_examples is not None:
        num_examples = check_int("num_examples", num_examples, 1)
    batch_size = check_int("batch_size", batch_size, 1,
                           math.inf if num_examples is None else num_examples)
    return NoisyGradient(surface, float(sigma), batch_size, num_examples, int(data_seed))


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
    hessian = jax.hessian(surface.fn)
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    return np.asarray([np.linalg.eigvalsh(np.asarray(hessian(jnp.asarray(point, dtype=dtype))))
                       for point in points]).reshape(len(points), surface.dim)


@functools.cache
def stiffest_curvature(surface: Surface) -> float:
    """The largest Hessian eigenvalue over the surface's listed minima (|eigenvalue| at its
    saddles when it lists no minimum): gradient descent near them is stable below 2/that.
    NaN where it is not positive and finite (Bukin N.6's kink has no curvature to speak of)."""
    eigenvalues = np.abs(_hessian_eigenvalues(surface))
    largest = float(eigenvalues.max()) if eigenvalues.size else math.nan
    return largest if math.isfinite(largest) and largest > 0 else math.nan


@functools.cache
def condition_number(surface: Surface) -> float:
    """λ_max/λ_min of the Hessian over the listed minima; NaN where it is not defined."""
    eigenvalues = _hessian_eigenvalues(surface) if surface.minima else np.zeros((0,))
    if not eigenvalues.size or eigenvalues.min() <= 0 or not np.all(np.isfinite(eigenvalues)):
        return math.nan
    return float(eigenvalues.max() / eigenvalues.min())


def box_width(surface: Surface) -> float:
    """The mean side of the surface's box: the distance scale of its starting points."""
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
    "adadelta": ("width", 0.1),
}
FALLBACK_WIDTH_FACTOR = 1e-3


def map_steps(surface: Surface) -> int:
    """`MIN_MAP_STEPS`, or about 7κ rounded up to a thousand for an ill-conditioned surface.

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
