"""The surface catalogue: minima, published values, finite gradients, saddles, hashing, noise."""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab import surfaces
from jaxopt_lab import surfaces as test_functions
from reference import surfaces as reference_surfaces

#: f at a listed minimum equals its listed value to this: f is flat there, so a point off by
#: float64 rounding changes f only quadratically.
VALUE_TOL = 1e-10
#: |∇f| at minima and saddles: they are float64 Newton fixed points, so the gradient is rounding
#: of terms as large as ~1e3 (Goldstein–Price) times 1e-16, i.e. ≲ 1e-11; 1e-8 leaves margin.
GRADIENT_TOL = 1e-8
#: Quadratics built two ways (rotation by π/4 vs exact integers) agree to rounding.
ROUNDING_TOL = 1e-12
#: Published coordinates of Himmelblau's minima are given to 6 decimals.
PUBLISHED_DIGITS_ATOL = 1e-6
#: A Hessian eigenvalue by float64 autodiff and eigvalsh against the stored constant: rounding.
EIGENVALUE_RTOL = 1e-9
#: Side of the dense grid on which every gradient must be finite (and pass its minima too).
DENSE_GRID_SIDE = 101
#: Random points for surfaces of dimension > 2, in place of the dense grid.
NUM_RANDOM_POINTS = 4096
#: Monte-Carlo draws of the stochastic gradient; the sample variance of K Gaussian draws has
#: relative standard deviation √(2/(K−1)) ≈ 0.02, so 5 of them: 0.11 relative tolerance.
NUM_NOISE_DRAWS = 4000
NOISE_VARIANCE_RTOL = 5.0 * math.sqrt(2.0 / (NUM_NOISE_DRAWS - 1))
#: ... and the sample mean has standard deviation σ/√(B·K): allow 5 of them.
NOISE_MEAN_SDS = 5.0

ALL_NAMES = surfaces.names()


@functools.partial(jax.jit, static_argnums=0)
def values_and_gradients(surface, points):
    return jax.vmap(jax.value_and_grad(surface.fn))(points)


@functools.partial(jax.jit, static_argnums=0)
def hessians(surface, points):
    return jax.vmap(jax.hessian(surface.fn))(points)


def probe_points(surface):
    """The listed minima and saddles, then a dense grid (2-D) or random points over the box."""
    if surface.dim <= 2:
        axes = [np.linspace(low, high, DENSE_GRID_SIDE) for low, high in surface.bounds]
        cloud = np.stack([m.ravel() for m in np.meshgrid(*axes)], axis=-1)
    else:
        rng = np.random.default_rng(0)
        cloud = rng.uniform(surface.lower, surface.upper, (NUM_RANDOM_POINTS, surface.dim))
    return np.concatenate([surface.minima_array, surface.saddles_array, cloud])


def test_catalogue_names_are_unique_and_cached():
    assert len(set(ALL_NAMES)) == len(ALL_NAMES)
    for name in ALL_NAMES:
        surface = surfaces.get(name)
        assert surface is surfaces.get(name)
        assert surface.name == name
        assert surface.dim == len(surface.bounds)
        assert np.all(surface.lower < surface.upper)
        # The escape radius lies beyond every corner of the box (runs inside it never diverge).
        assert surface.escape_radius > np.linalg.norm(np.maximum(-surface.lower, surface.upper))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown surface 'nope'; known: .*himmelblau"):
        surfaces.get("nope")


@pytest.mark.parametrize("name", ALL_NAMES)
def test_minima_have_their_values_and_zero_gradient_and_gradients_are_finite(name):
    surface = surfaces.get(name)
    points = probe_points(surface)
    values, gradients = values_and_gradients(surface, jnp.asarray(points))
    values, gradients = np.asarray(values), np.asarray(gradients)
    num_minima, num_critical = len(surface.minima), len(surface.minima) + len(surface.saddles)
    np.testing.assert_allclose(values[:num_minima], surface.minima_values_array, rtol=0,
                               atol=VALUE_TOL)
    assert np.all(np.abs(gradients[:num_critical]) < GRADIENT_TOL)
    if surface.minima:
        assert surface.f_min == min(surface.minima_values_array)
        assert np.all((surface.minima_array >= surface.lower)
                      & (surface.minima_array <= surface.upper))
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(gradients))


# name, published minimizers, published f_min, one unit of the last published digit, bounds.
# Sources: Wikipedia, "Test functions for optimization" (W) and Surjanovic & Bingham's Virtual
# Library of Simulation Experiments (SFU); those with a float bound give the table's own digits.
PUBLISHED = [
    ("rosenbrock", [(1, 1)], 0.0, 0.0, [(-2.048, 2.048)] * 2),  # SFU, restricted domain
    ("beale", [(3, 0.5)], 0.0, 0.0, [(-4.5, 4.5)] * 2),
    ("booth", [(1, 3)], 0.0, 0.0, [(-10, 10)] * 2),
    ("himmelblau", [(3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186),
                    (3.584428, -1.848126)], 0.0, 1e-6, [(-5, 5)] * 2),
    ("rastrigin", [(0, 0)], 0.0, 0.0, [(-5.12, 5.12)] * 2),
    ("ackley", [(0, 0)], 0.0, 0.0, [(-5, 5)] * 2),  # W's domain
    ("goldstein_price", [(0, -1)], 3.0, 0.0, [(-2, 2)] * 2),
    ("styblinski_tang", [(-2.903534, -2.903534)], -39.16616 * 2, 1e-5 * 2, [(-5, 5)] * 2),
    ("six_hump_camel", [(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316, 1e-4,
     [(-3, 3), (-2, 2)]),  # SFU
    ("three_hump_camel", [(0, 0)], 0.0, 0.0, [(-5, 5)] * 2),
    ("matyas", [(0, 0)], 0.0, 0.0, [(-10, 10)] * 2),
    ("mccormick", [(-0.54719, -1.54719)], -1.9133, 1e-4, [(-1.5, 4), (-3, 4)]),
    ("levi_n13", [(1, 1)], 0.0, 0.0, [(-10, 10)] * 2),
    ("easom", [(math.pi, math.pi)], -1.0, 0.0, [(-100, 100)] * 2),
    ("bukin_n6", [(-10, 1)], 0.0, 0.0, [(-15, -5), (-3, 3)]),
    ("zakharov", [(0,) * 6], 0.0, 0.0, [(-5, 10)] * 6),  # SFU
]


@pytest.mark.parametrize("name, published_minima, published_f_min, unit, bounds", PUBLISHED,
                         ids=[row[0] for row in PUBLISHED])
def test_agrees_with_the_published_table(name, published_minima, published_f_min, unit, bounds):
    surface = surfaces.get(name)
    assert surface.bounds == tuple(tuple(float(v) for v in pair) for pair in bounds)
    # Tables truncate or round their last digit: allow one unit of it (exact rows: rounding).
    tol = max(unit, VALUE_TOL)
    assert abs(surface.f_min - published_f_min) <= tol
    listed = surface.minima_array
    for published in np.asarray(published_minima, dtype=float):
        assert np.min(np.max(np.abs(listed - published), axis=1)) <= max(unit, ROUNDING_TOL)
        assert abs(float(surface(jnp.asarray(published))) - published_f_min) <= tol


def test_himmelblau_flattest_minimum_sets_the_stable_learning_rate():
    surface = surfaces.get("himmelblau")
    largest = np.linalg.eigvalsh(np.asarray(hessians(surface, jnp.asarray(surface.minima))))[:, -1]
    flattest = int(np.argmin(largest))
    np.testing.assert_allclose(surface.minima[flattest], (-2.805118, 3.131312),
                               atol=PUBLISHED_DIGITS_ATOL)
    assert round(2.0 / largest[flattest], 5) == 0.02483  # the number the theory tests use
    np.testing.assert_allclose(largest[flattest], test_functions.HIMMELBLAU_FLATTEST_LAMBDA_MAX,
                               rtol=EIGENVALUE_RTOL)


SADDLE_NAMES = [name for name in ALL_NAMES if surfaces.get(name).saddles]


def test_the_catalogue_lists_its_saddles():
    assert {"saddle", "anisotropic_saddle", "monkey_saddle", "himmelblau"} <= set(SADDLE_NAMES)


@pytest.mark.parametrize("name", SADDLE_NAMES)
def test_saddles_curve_both_ways(name):
    surface = surfaces.get(name)
    saddles = jnp.asarray(surface.saddles_array)
    for saddle, hessian in zip(surface.saddles_array, np.asarray(hessians(surface, saddles))):
        eigenvalues = np.linalg.eigvalsh(hessian)
        if np.max(np.abs(eigenvalues)) > GRADIENT_TOL:
            assert eigenvalues.min() < 0.0 < eigenvalues.max()
        else:
            # A degenerate saddle (the monkey saddle: zero Hessian): f still rises and falls
            # around it, on a small circle.
            angles = np.linspace(0.0, 2.0 * math.pi, 12, endpoint=False)
            circle = saddle + 1e-2 * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
            rise = np.array(values_and_gradients(surface, jnp.asarray(circle))[0])
            rise -= float(surface(jnp.asarray(saddle)))
            assert rise.min() < 0.0 < rise.max()


def test_saddles_are_the_formulas():
    w = jnp.array([0.7, -1.3])
    np.testing.assert_allclose(surfaces.get("saddle")(w), 0.7**2 - 1.3**2, rtol=ROUNDING_TOL)
    np.testing.assert_allclose(surfaces.get("anisotropic_saddle")(w), 5 * 0.7**2 - 1.3**2,
                               rtol=ROUNDING_TOL)
    np.testing.assert_allclose(surfaces.get("monkey_saddle")(w), 0.7**3 - 3 * 0.7 * 1.3**2,
                               rtol=ROUNDING_TOL)


def test_surfaces_hash_and_are_static_jit_arguments():
    traces = []

    @functools.partial(jax.jit, static_argnums=0)
    def evaluate(surface, x):
        traces.append(surface.name)
        return surface.fn(x)

    for name in ALL_NAMES:
        surface = surfaces.get(name)
        hash(surface)
        x = jnp.asarray(surface.minima_array[0] if surface.minima else surface.lower)
        assert float(evaluate(surface, x)) == float(surface(x))
    # Two quadratics built from the same numbers are equal: the second one reuses the compilation.
    first = surfaces.quadratic([[2.0, 1.0], [1.0, 3.0]], b=[1.0, -1.0], c=0.5)
    second = surfaces.quadratic(np.array([[2.0, 1.0], [1.0, 3.0]]), b=(1.0, -1.0), c=0.5)
    assert first == second and hash(first) == hash(second)
    count = len(traces)
    evaluate(first, jnp.zeros(2))
    evaluate(second, jnp.ones(2))
    assert len(traces) == count + 1


def test_quadratic_1d_is_half_a_w_squared_plus_b_w_plus_c():
    a, b, c = 4.0, -2.0, 1.5
    surface = surfaces.quadratic_1d(a, b, c)
    w = jnp.array([0.3])
    np.testing.assert_allclose(surface(w), 0.5 * a * 0.09 + b * 0.3 + c, rtol=ROUNDING_TOL)
    assert surface.minima == ((-b / a,),)
    np.testing.assert_allclose(surface.f_min, c - b**2 / (2 * a), rtol=ROUNDING_TOL)


def test_quadratic_hessian_is_A_and_rotation_puts_eigenvalues_on_their_directions():
    angle, eigenvalues = 0.4, (7.0, 2.0)
    surface = surfaces.rotated_quadratic(eigenvalues, angle)
    hessian = np.asarray(jax.hessian(surface.fn)(jnp.zeros(2)))
    np.testing.assert_allclose(hessian, np.asarray(surface.fn.A), atol=ROUNDING_TOL)
    for value, direction in zip(eigenvalues, [(math.cos(angle), math.sin(angle)),
                                              (-math.sin(angle), math.cos(angle))]):
        np.testing.assert_allclose(hessian @ direction, value * np.asarray(direction),
                                   atol=ROUNDING_TOL)


def test_long_canyon_has_condition_number_5_along_1_1():
    canyon = surfaces.get("long_canyon")
    rotated = surfaces.rotated_quadratic((5.0, 1.0), math.pi / 4)
    np.testing.assert_allclose(canyon.fn.A, rotated.fn.A, atol=ROUNDING_TOL)
    eigenvalues, vectors = np.linalg.eigh(np.asarray(canyon.fn.A))
    assert eigenvalues[-1] / eigenvalues[0] == pytest.approx(5.0, rel=ROUNDING_TOL)
    np.testing.assert_allclose(np.abs(vectors[:, -1]), [math.sqrt(0.5)] * 2, atol=ROUNDING_TOL)


def test_deep_learning_spectrum():
    surface = surfaces.get("deep_learning_spectrum")
    eigenvalues = np.linalg.eigvalsh(np.asarray(surface.fn.A))
    assert surface.dim == 100
    assert np.all((eigenvalues[:90] > 0.0) & (eigenvalues[:90] < 1.0))
    assert np.all((eigenvalues[90:] > 30.0) & (eigenvalues[90:] < 60.0))
    assert surface.minima == ((0.0,) * 100,) and surface.f_min == 0.0


@pytest.mark.parametrize("A, b", [([[1.0, 2.0]], None), ([[1.0, 2.0], [0.0, 1.0]], None),
                                  ([[1.0]], [1.0, 2.0])])
def test_quadratic_rejects_bad_matrices(A, b):
    with pytest.raises(ValueError, match="A must|b must"):
        surfaces.quadratic(A, b)


def test_indefinite_quadratic_lists_a_saddle_and_no_minimum():
    surface = surfaces.quadratic(np.diag([1.0, -1.0]), b=[1.0, 1.0])
    assert surface.minima == () and surface.f_min is None
    assert surface.saddles == ((-1.0, 1.0),)


def test_kinks_have_finite_zero_gradients():
    for name, point in [("ackley", (0.0, 0.0)), ("bukin_n6", (-10.0, 1.0))]:
        gradient = np.asarray(jax.grad(surfaces.get(name).fn)(jnp.asarray(point)))
        np.testing.assert_array_equal(gradient, [0.0, 0.0])


def test_cliff_gradient_explodes_at_the_wall():
    surface = surfaces.get("cliff")
    line = np.stack([np.linspace(-2.0, 3.0, 5001), np.zeros(5001)], axis=-1)
    slope = np.abs(np.asarray(jax.vmap(jax.grad(surface.fn))(jnp.asarray(line)))[:, 0])
    peak = surfaces.CLIFF_HEIGHT * surfaces.CLIFF_STEEPNESS / 4.0
    # The wall's slope (625) dwarfs the bowl's (≤ 3 on this line); grid spacing 1e-3 ≪ wall width.
    assert peak * 0.99 < slope.max() < peak + 3.0
    assert slope[line[:, 0] < 0.5].max() <= 2.0 + GRADIENT_TOL


# --- stochastic gradients ---------------------------------------------------------------------

SIGMA = 2.0
NOISE_POINT = jnp.array([0.5, -1.0])


def draw(grad_fn, num_draws=NUM_NOISE_DRAWS):
    keys = jax.random.split(jax.random.PRNGKey(1), num_draws)
    return np.asarray(jax.jit(jax.vmap(grad_fn, in_axes=(None, 0)))(NOISE_POINT, keys))


@pytest.mark.parametrize("batch_size", [1, 16])
def test_streaming_minibatch_noise_has_variance_sigma_squared_over_b(batch_size):
    surface = surfaces.get("himmelblau")
    grad_fn = surfaces.noisy_gradient(surface, SIGMA, batch_size)
    samples = draw(grad_fn)
    exact = np.asarray(jax.grad(surface.fn)(NOISE_POINT))
    variance = SIGMA**2 / batch_size
    np.testing.assert_allclose(samples.var(axis=0, ddof=1), variance, rtol=NOISE_VARIANCE_RTOL)
    np.testing.assert_allclose(samples.mean(axis=0), exact,
                               atol=NOISE_MEAN_SDS * math.sqrt(variance / NUM_NOISE_DRAWS))


@pytest.mark.parametrize("batch_size", [1, 5])
def test_finite_data_set_noise_and_full_batch_is_exact(batch_size):
    surface, num_examples = surfaces.get("booth"), 10
    grad_fn = surfaces.noisy_gradient(surface, SIGMA, batch_size, num_examples=num_examples)
    examples = np.asarray(grad_fn.examples())
    np.testing.assert_allclose(examples.mean(axis=0), 0.0, atol=ROUNDING_TOL)
    spread = examples.var(axis=0)  # the data's own variance s²
    expected = spread / batch_size * (num_examples - batch_size) / (num_examples - 1)
    samples = draw(grad_fn)
    np.testing.assert_allclose(samples.var(axis=0, ddof=1), expected, rtol=NOISE_VARIANCE_RTOL)
    full = surfaces.noisy_gradient(surface, SIGMA, num_examples, num_examples=num_examples)
    np.testing.assert_allclose(full(NOISE_POINT, jax.random.PRNGKey(3)),
                               jax.grad(surface.fn)(NOISE_POINT), atol=ROUNDING_TOL)


def test_noisy_gradient_is_deterministic_hashable_and_the_gradient_of_its_loss():
    grad_fn = surfaces.noisy_gradient(surfaces.get("rosenbrock"), SIGMA, 4)
    key = jax.random.PRNGKey(7)
    np.testing.assert_array_equal(grad_fn(NOISE_POINT, key), grad_fn(NOISE_POINT, key))
    assert not np.allclose(grad_fn(NOISE_POINT, key), grad_fn(NOISE_POINT, jax.random.PRNGKey(8)))
    np.testing.assert_allclose(jax.grad(grad_fn.loss)(NOISE_POINT, key), grad_fn(NOISE_POINT, key),
                               rtol=ROUNDING_TOL)
    assert grad_fn == surfaces.noisy_gradient(surfaces.get("rosenbrock"), SIGMA, 4)
    hash(grad_fn)


def test_fixed_data_set_is_drawn_once_and_unchanged():
    num_examples, data_seed = 10, 3
    grad_fn = surfaces.noisy_gradient(surfaces.get("booth"), SIGMA, 4, num_examples=num_examples,
                                      data_seed=data_seed)
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    # First use inside jit + vmap: what is kept must be a concrete array, not a leaked tracer.
    gradients = jax.jit(jax.vmap(grad_fn, in_axes=(None, 0)))(NOISE_POINT, keys)
    examples = grad_fn.examples()
    assert not isinstance(examples, jax.core.Tracer)
    assert grad_fn.examples() is examples
    assert grad_fn.examples(jnp.float32).dtype == jnp.float32  # one data set per dtype
    assert grad_fn.examples(jnp.float32) is grad_fn.examples(jnp.float32)
    # Unchanged: the centred draw from data_seed, and each minibatch the mean of its rows.
    draw_ = jax.random.normal(jax.random.PRNGKey(data_seed), (num_examples, 2))
    np.testing.assert_array_equal(examples, SIGMA * (draw_ - draw_.mean(axis=0)))
    exact = jax.grad(surfaces.get("booth").fn)(NOISE_POINT)
    for key, gradient in zip(keys, gradients):
        batch = jax.random.choice(key, num_examples, (4,), replace=False)
        np.testing.assert_allclose(gradient, exact + examples[batch].mean(axis=0),
                                   atol=ROUNDING_TOL)
    # The kept data set is no field: equality and hash (the jit cache key) ignore it.
    fresh = surfaces.noisy_gradient(surfaces.get("booth"), SIGMA, 4, num_examples=num_examples,
                                    data_seed=data_seed)
    assert fresh == grad_fn and hash(fresh) == hash(grad_fn)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sigma=-1.0, batch_size=1), r"sigma must be in \[0, inf\), got -1.0"),
    (dict(sigma=float("nan"), batch_size=1), "sigma"),
    (dict(sigma=1.0, batch_size=0), "batch_size"),
    (dict(sigma=1.0, batch_size=11, num_examples=10), "batch_size"),
    (dict(sigma=1.0, batch_size=1, num_examples=0), "num_examples"),
])
def test_noisy_gradient_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        surfaces.noisy_gradient(jl.surfaces.get("booth"), **kwargs)


# ------------------------------------------------------------------------------ every minimum

#: Surfaces whose box holds more minima than their global one; each must list them all.
MANY_MINIMA = ["himmelblau", "rastrigin", "ackley", "goldstein_price", "styblinski_tang",
               "six_hump_camel", "three_hump_camel", "mccormick", "two_gaussian_bowl", "levi_n13"]
#: Two minima closer than this (a share of the box's diagonal) would be one found twice.
DUPLICATE_FRACTION = 1e-6


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if surfaces.get(n).minima])
def test_every_listed_minimum_has_a_positive_definite_hessian(name):
    surface = surfaces.get(name)
    if name == "bukin_n6":  # its minimum lies on a kink: no Hessian to speak of
        pytest.skip("Bukin N.6's minimum is a kink of |·| and √|·|")
    hessians = jax.vmap(jax.hessian(surface.fn))(jnp.asarray(surface.minima_array))
    eigenvalues = np.linalg.eigvalsh(np.asarray(hessians))
    assert np.all(eigenvalues > 0), eigenvalues.min(axis=1)


@pytest.mark.parametrize("name", MANY_MINIMA)
def test_every_minimum_in_the_box_is_listed_once_global_ones_first(name):
    surface = surfaces.get(name)
    listed = surface.minima_array
    found = jl.analysis.critical_points(surface, 32, num_steps=100)
    minima = found.points[found.kind == jl.analysis.CriticalKind.MINIMUM]
    diagonal = float(np.linalg.norm(surface.upper - surface.lower))
    for point in minima:
        assert np.min(np.linalg.norm(listed - point, axis=1)) < ROUNDING_TOL * 1e4 * diagonal, \
            f"{name}: minimum {point} is not listed"
    gaps = np.linalg.norm(listed[:, None] - listed[None], axis=-1) + np.eye(len(listed))
    assert gaps.min() > DUPLICATE_FRACTION * diagonal
    values = surface.minima_values_array
    assert values[0] == surface.f_min and np.all(np.diff(values) >= -VALUE_TOL)


# --- every catalogue surface against its published formula, away from its minima -------------

#: Random points per surface, drawn uniformly from its bounds.
FORMULA_POINTS = 16
#: Value: the same formula in another order (math vs jax.numpy): float64 rounding, relative to
#: the terms' size, which for these polynomials and exponentials is within ~1e3 of the value.
FORMULA_RTOL = 1e-12
FORMULA_ATOL = 1e-12
#: Gradient against fourth-order central differences of the reference with step h: truncation
#: ~h⁴·f⁽⁵⁾/30 (f⁽⁵⁾ up to ~1e6 for the oscillating ones: 1e-16·1e6/30 ≈ 3e-12 at h = 1e-4)
#: plus rounding ~1.5·eps·|f|/h ≈ 3e-12·|f|; the tolerance is scaled by max(1, |f|).
DIFFERENCE_STEP = 1e-4
GRADIENT_ATOL_PER_VALUE = 1e-9
GRADIENT_RTOL = 1e-7


def _reference_formula(name):
    if name == "deep_learning_spectrum":
        # Its definition is the random matrix itself (seeded): ½ wᵀAw, checked here with the
        # matrix the surface carries, and its spectrum against the description separately.
        matrix = np.asarray(surfaces.get(name).fn.A)
        return lambda w: 0.5 * float(np.asarray(w) @ matrix @ np.asarray(w))
    return getattr(reference_surfaces, name)


@pytest.mark.parametrize("name", surfaces.names())
def test_value_and_gradient_match_the_published_formula(name):
    surface = surfaces.get(name)
    formula = _reference_formula(name)
    rng = np.random.default_rng(sum(map(ord, name)))  # fixed per surface, any test order
    points = rng.uniform(surface.lower, surface.upper, (FORMULA_POINTS, surface.dim))
    values = np.asarray(jax.vmap(surface.fn)(jnp.asarray(points)))
    gradients = np.asarray(jax.vmap(jax.grad(surface.fn))(jnp.asarray(points)))
    for point, value, gradient in zip(points, values, gradients):
        expected = formula(point.tolist())
        np.testing.assert_allclose(value, expected, rtol=FORMULA_RTOL, atol=FORMULA_ATOL,
                                   err_msg=f"{name} at {point}")
        if name == "deep_learning_spectrum":
            differences = np.asarray(surface.fn.A) @ point  # ∇ ½ wᵀAw = Aw, A symmetric
        else:
            differences = reference_surfaces.central_gradient(formula, point.tolist(),
                                                              DIFFERENCE_STEP)
        np.testing.assert_allclose(gradient, differences, rtol=GRADIENT_RTOL,
                                   atol=GRADIENT_ATOL_PER_VALUE * max(1.0, abs(expected)),
                                   err_msg=f"gradient of {name} at {point}")


def test_deep_learning_spectrum_has_the_described_eigenvalues():
    eigenvalues = np.linalg.eigvalsh(np.asarray(surfaces.get("deep_learning_spectrum").fn.A))
    assert np.all((eigenvalues[:90] > 0.0) & (eigenvalues[:90] < 1.0))
    assert np.all((eigenvalues[90:] > 30.0) & (eigenvalues[90:] < 60.0))


# --- bad input: refused up front, naming the field -----------------------------------------------

def _surface(**fields):
    return surfaces.Surface(**{"name": "bowl", "fn": lambda w: w @ w, "dim": 2,
                               "bounds": ((-1.0, 1.0), (-1.0, 1.0)), **fields})


@pytest.mark.parametrize("build, error, match", [
    (lambda: _surface(dim="2"), ValueError, r"dim must be an integer in \[1, inf\], got '2'"),
    (lambda: _surface(dim=3), ValueError, r"bounds must be 3 \(low, high\) pairs"),
    (lambda: _surface(bounds=((1.0, -1.0), (-1.0, 1.0))), ValueError, "low < high"),
    (lambda: _surface(bounds=((-1.0, math.inf), (-1.0, 1.0))), ValueError,
     "bounds must be finite"),
    (lambda: _surface(escape_radius=-1.0), ValueError,
     r"escape_radius must be a number in \(0, inf\]"),
    (lambda: _surface(escape_radius=math.nan), ValueError, "escape_radius must be a number"),
    (lambda: _surface(minima=((0.0,),)), ValueError, "minima must be a sequence of points with 2"),
    (lambda: _surface(minima=((0.0, 0.0),), minima_values=(0.0, 1.0)), ValueError,
     "minima_values must have one value per minimum"),
    (lambda: _surface(fn="w @ w"), TypeError, "fn must be a callable"),
    (lambda: _surface(f_min=1j), TypeError, "f_min must be real numbers"),
    (lambda: surfaces.rotated_quadratic((1.0, 2.0, 3.0), 0.1), ValueError,
     r"eigenvalues must be two numbers, got shape \(3,\)"),
    (lambda: surfaces.rotated_quadratic((1.0, 1j), 0.1), TypeError, "eigenvalues must be real"),
    (lambda: surfaces.rotated_quadratic((1.0, 2.0), "0.1"), TypeError, "angle must be real"),
    (lambda: surfaces.quadratic([[1.0, 0.0], [0.0, math.nan]]), ValueError, "A must be finite"),
    (lambda: surfaces.quadratic(np.eye(2), c=[1.0, 2.0]), ValueError, "c must be one number"),
])
def test_bad_fields_are_refused_naming_them(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_escape_radius_inf_means_never_escape_and_fields_are_normalized():
    surface = _surface(escape_radius=math.inf, minima=[[0, 0]], bounds=[[-1, 1], [-1, 1]])
    assert surface.escape_radius == math.inf
    assert surface.minima == ((0.0, 0.0),) and surface.bounds == ((-1.0, 1.0), (-1.0, 1.0))
    hash(surface)  # lists were turned into tuples: it can be a static jit argument
