"""jaxopt_lab.analysis: estimates against runs written here, known sets and published points."""
import math

import jax
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab import analysis, theory
from jaxopt_lab.analysis import CriticalKind
from jaxopt_lab.theory import Regime
from jaxopt_lab import Status

#: Rates from losses of an exact geometric sequence: float64 rounding only.
RATE_RTOL = 1e-9
#: Critical points found by Newton vs the catalogue's (refined to ~1e-15 in float64 there); Newton
#: stops at |∇f| <= 1e-8, which moves a point by at most ~1e-8/λ_min ≈ 1e-9.
POINT_ATOL = 1e-7
#: Box-counting slopes on finite grids: a line or circle of 512 cells gives 1 ± 0.05 because of
#: the partial boxes along the ends and the digitisation of the circle (measured 0.974 for the
#: circle); filled sets 2 ± 0.05.
DIMENSION_ATOL = 0.05
#: Sierpinski carpet, 3^6 cells, boxes 3^k: the counts are exact powers of 8, so the slope is
#: log 8 / log 3 to rounding.
CARPET_ATOL = 1e-9
#: Himmelblau (1972) prints the local maximum to 6 decimals and its value to 3: half a unit
#: in the last printed place would do, one unit leaves room for Newton's own 1e-9.
PUBLISHED_POINT_ATOL = 1e-6
PUBLISHED_VALUE_ATOL = 1e-3
#: f = 0 at the minima, evaluated at points within ~1e-9 of them: the loss is quadratic there,
#: so ~1e-18, far below this.
MINIMUM_VALUE_ATOL = 1e-12
#: A recursion of 40 float64 multiply-adds against the library's: a few ulps each.
RECURSION_RTOL = 1e-12


def gradient_descent_1d(learning_rate, curvature, start, num_steps):
    x = [start]
    for _ in range(num_steps):
        x.append(x[-1] - learning_rate * curvature * x[-1])
    return np.array(x)


# --- convergence rate and regime ------------------------------------------------------------------


@pytest.mark.parametrize("product", [0.3, 0.8, 1.4, 1.9])  # ηa
def test_convergence_rate_of_gradient_descent_is_the_squared_error_factor(product):
    curvature, f_min = 2.5, 0.0  # f* = 0: the gaps keep full precision down to 1e-300
    x = gradient_descent_1d(product / curvature, curvature, 1.3, 30)
    losses = 0.5 * curvature * x**2 + f_min
    rates = analysis.convergence_rate(losses, f_min)
    expected = (1.0 - product) ** 2  # the error shrinks by |1 − ηa| a step, the loss by its square
    assert rates.shape == (30,)
    np.testing.assert_allclose(rates, expected, rtol=RATE_RTOL)
    mean = analysis.mean_convergence_rate(losses, f_min, start=5)
    np.testing.assert_allclose(mean, np.exp(np.mean(np.log(rates[5:]))), rtol=RATE_RTOL)


def test_convergence_rate_along_an_axis():
    losses = np.array([[4.0, 2.0, 1.0], [9.0, 3.0, 1.0]]).T - 1.5  # time along axis 0, f* = −1.5
    np.testing.assert_allclose(analysis.convergence_rate(losses, -1.5, axis=0),
                               [[0.5, 1 / 3], [0.5, 1 / 3]])
    np.testing.assert_allclose(analysis.mean_convergence_rate(losses, -1.5, axis=0), [0.5, 1 / 3])
    with pytest.raises(ValueError, match=r"start must be in \[0, 2\), got 2"):
        analysis.mean_convergence_rate(losses, 0.0, start=2, axis=0)


def test_trajectory_regime_agrees_with_theory_for_gradient_descent():
    curvature = 4.0
    products = np.linspace(0.05, 3.0, 60)
    products = products[(np.abs(products - 1) > 1e-3) & (np.abs(products - 2) > 1e-3)]
    paths = np.stack([gradient_descent_1d(p / curvature, curvature, -0.8, 25) for p in products])
    measured = analysis.trajectory_regime(paths[..., None], [0.0])
    np.testing.assert_array_equal(measured, theory.gd_regime(products / curvature, curvature))


def test_trajectory_regime_in_two_dimensions_and_non_finite_points():
    # axis-aligned ½(x² + 10y²), η = 0.15: η·1 < 1 (monotone in x), η·10 = 1.5 (oscillates in y)
    x = gradient_descent_1d(0.15, 1.0, 1.0, 20)
    y = gradient_descent_1d(0.15, 10.0, 1.0, 20)
    path = np.stack([x, y], axis=-1)
    assert analysis.trajectory_regime(path, [0.0, 0.0]) == Regime.OSCILLATING
    assert analysis.trajectory_regime(path[:, :1], [0.0]) == Regime.MONOTONE
    escaped = np.array([[1.0], [0.5], [np.nan]])
    assert analysis.trajectory_regime(escaped, [0.0]) == Regime.DIVERGENT


# --- critical points ------------------------------------------------------------------------------


def match_points(found, expected):
    for point in np.asarray(expected):
        distances = np.linalg.norm(found - point, axis=-1)
        assert distances.min() <= POINT_ATOL, (point, found)


def test_himmelblau_has_four_minima_four_saddles_and_one_maximum():
    surface = jl.surfaces.get("himmelblau")
    found = analysis.critical_points(surface)
    counts = {kind: int(np.sum(found.kind == kind)) for kind in CriticalKind}
    assert counts == {CriticalKind.MINIMUM: 4, CriticalKind.MAXIMUM: 1, CriticalKind.SADDLE: 4,
                      CriticalKind.DEGENERATE: 0}
    match_points(found.points[found.kind == CriticalKind.MINIMUM], surface.minima)
    match_points(found.points[found.kind == CriticalKind.SADDLE], surface.saddles)
    maximum = found.points[found.kind == CriticalKind.MAXIMUM][0]
    # published local maximum: f(−0.270845, −0.923039) = 181.617 (Himmelblau 1972)
    np.testing.assert_allclose(maximum, [-0.270845, -0.923039], atol=PUBLISHED_POINT_ATOL)
    np.testing.assert_allclose(found.value[found.kind == CriticalKind.MAXIMUM], 181.617,
                               atol=PUBLISHED_VALUE_ATOL)
    np.testing.assert_allclose(found.value[found.kind == CriticalKind.MINIMUM], 0.0,
                               atol=MINIMUM_VALUE_ATOL)


@pytest.mark.parametrize("name, kinds", [
    ("saddle", [CriticalKind.SADDLE]),  # x₁² − x₂² (Goodfellow et al. 2016, fig. 4.5)
    ("monkey_saddle", [CriticalKind.DEGENERATE]),  # zero Hessian at the origin
    ("two_gaussian_bowl", [CriticalKind.MINIMUM, CriticalKind.MINIMUM, CriticalKind.SADDLE]),
])
def test_critical_points_of_catalogue_surfaces(name, kinds):
    surface = jl.surfaces.get(name)
    found = analysis.critical_points(surface, resolution=12)
    assert found.kind.tolist() == kinds
    match_points(found.points, surface.minima + surface.saddles)


#: Himmelblau: 4 minima, 4 saddles, 1 maximum inside [-5, 5]² (Himmelblau 1972).
HIMMELBLAU_NUM_CRITICAL_POINTS = 9


def test_critical_points_from_given_starts_match_the_grid():
    surface = jl.surfaces.get("himmelblau")
    on_grid = analysis.critical_points(surface)
    starts = jl.starts.uniform(jax.random.PRNGKey(0), surface, 24**2)
    from_starts = analysis.critical_points(surface, starts=starts)
    assert from_starts.kind.tolist() == on_grid.kind.tolist()
    match_points(from_starts.points, [tuple(p) for p in on_grid.points])


def test_critical_points_rejects_starts_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"starts must be a \(P, 2\) array"):
        analysis.critical_points(jl.surfaces.get("himmelblau"), starts=np.zeros((5, 3)))


@pytest.mark.parametrize("eigenvalues, index", [
    ([1.0, 3.0, 2.0, 5.0], 0.0),       # a minimum
    ([-1.0, 3.0, 2.0, 5.0], 0.25),     # one way down of four
    ([-1.0, -3.0, 2.0, 5.0], 0.5),
    ([-1.0, -3.0, -2.0, -5.0], 1.0),   # a maximum
])
def test_critical_index_is_the_share_of_negative_eigenvalues(eigenvalues, index):
    assert analysis.critical_index(eigenvalues) == index
    assert analysis.critical_index([eigenvalues] * 3).tolist() == [index] * 3


def test_critical_points_default_tolerance_follows_the_dtype():
    """In float32 a float64 gradient tolerance finds only some points: the default adapts."""
    surface = jl.surfaces.get("himmelblau")
    with jax.enable_x64(False):
        found = analysis.critical_points(surface, resolution=24)
    assert len(found.points) == HIMMELBLAU_NUM_CRITICAL_POINTS


@pytest.mark.parametrize("eigenvalues, kind", [
    ([1.0, 3.0], CriticalKind.MINIMUM),
    ([-2.0, -0.5], CriticalKind.MAXIMUM),
    ([-2.0, 2.0], CriticalKind.SADDLE),
    ([0.0, 5.0], CriticalKind.DEGENERATE),
    ([1e-12, 5.0], CriticalKind.DEGENERATE),
])
def test_classify_critical_point(eigenvalues, kind):
    assert analysis.classify_critical_point(eigenvalues) == kind


def test_local_condition_number_of_the_long_canyon_is_five():
    # Goodfellow et al. (2016, fig. 4.6): a Hessian with condition number 5
    surface = jl.surfaces.get("long_canyon")
    assert analysis.local_condition_number(surface.fn, [0.3, -1.0]) == pytest.approx(5.0)


# --- basins and boundaries -----------------------------------------------------------------------


def test_basin_statistics_shares():
    basin = np.array([0, 0, 1, -1, -1, -1, 2, 1])
    status = np.array([1, 1, 1, 1, 0, 2, 2, 1], dtype=np.int8)  # a diverged point keeps basin 2
    stats = analysis.basin_statistics(basin, status, num_basins=3)
    np.testing.assert_allclose(stats.per_basin, [2 / 8, 2 / 8, 0.0])
    assert (stats.elsewhere, stats.unfinished, stats.diverged) == (1 / 8, 1 / 8, 2 / 8)
    total = stats.per_basin.sum() + stats.elsewhere + stats.unfinished + stats.diverged
    assert total == pytest.approx(1.0)
    batched = analysis.basin_statistics(np.stack([basin, basin]), np.stack([status, status]), 3)
    assert batched.per_basin.shape == (2, 3) and batched.diverged.shape == (2,)


def test_boundary_mask_marks_one_cell_per_crossing():
    labels = np.zeros((4, 6), dtype=int)
    labels[:, 3:] = Status.DIVERGED
    mask = analysis.boundary_mask(labels)
    assert mask[:, 2].all() and mask.sum() == 4
    with pytest.raises(ValueError, match=r"labels must be a 2-D image, got shape \(3,\)"):
        analysis.boundary_mask(np.zeros(3))


SIZE = 512


def line_mask():
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    mask[SIZE // 3, :] = True
    return mask


def disk_boundary_mask():
    y, x = np.mgrid[:SIZE, :SIZE]
    inside = (x - SIZE / 2) ** 2 + (y - SIZE / 2) ** 2 < (0.4 * SIZE) ** 2
    return analysis.boundary_mask(inside)


def filled_square_mask():
    return np.ones((SIZE, SIZE), dtype=bool)


def random_mask():
    # density 0.9: at density p the finest boxes miss a share 1 − p of the cells, which bends the
    # fitted slope below 2 (≈1.91 at p = 0.5); at 0.9 the bend stays inside DIMENSION_ATOL
    return np.random.default_rng(0).random((SIZE, SIZE)) < 0.9


@pytest.mark.parametrize("make_mask, dimension", [
    (line_mask, 1.0), (disk_boundary_mask, 1.0), (filled_square_mask, 2.0), (random_mask, 2.0),
])
def test_box_counting_dimension_of_known_sets(make_mask, dimension):
    measured = analysis.box_counting_dimension(make_mask())
    assert measured.dimension == pytest.approx(dimension, abs=DIMENSION_ATOL)
    assert np.all(np.diff(measured.counts) <= 0)


def sierpinski_carpet(level):
    carpet = np.ones((1, 1), dtype=bool)
    for _ in range(level):
        hole = np.zeros_like(carpet)
        carpet = np.block([[carpet, carpet, carpet], [carpet, hole, carpet],
                           [carpet, carpet, carpet]])
    return carpet


def test_box_counting_dimension_of_the_sierpinski_carpet():
    measured = analysis.box_counting_dimension(sierpinski_carpet(6),
                                               box_sizes=tuple(3**k for k in range(5)))
    assert measured.dimension == pytest.approx(math.log(8) / math.log(3), abs=CARPET_ATOL)


def test_box_counting_rejects_an_empty_mask():
    with pytest.raises(ValueError, match="mask must be a 2-D boolean image with some True cell"):
        analysis.box_counting_dimension(np.zeros((8, 8), dtype=bool))


@pytest.mark.parametrize("box_sizes, match", [
    ((4,), r"box_sizes must hold at least 2 different sizes, got \(4,\)"),
    ((2, 2), r"box_sizes must hold at least 2 different sizes, got \(2, 2\)"),
    ((0, 2), r"box_sizes must be an integer in \[1, inf\], got 0"),
    ((1.5, 2), r"box_sizes must be an integer in \[1, inf\], got 1.5"),
])
def test_box_counting_rejects_box_sizes_without_a_slope(box_sizes, match):
    with pytest.raises(ValueError, match=match):
        analysis.box_counting_dimension(np.ones((8, 8), dtype=bool), box_sizes=box_sizes)


# --- EWMA -----------------------------------------------------------------------------------------


def ewma_by_hand(values, decay, bias_correction):
    average, out = 0.0, []
    for t, value in enumerate(values, start=1):
        average = decay * average + (1 - decay) * value
        out.append(average / (1 - decay**t) if bias_correction else average)
    return np.array(out)


@pytest.mark.parametrize("decay", [0.5, 0.9, 0.98])
@pytest.mark.parametrize("bias_correction", [False, True])
def test_ewma_matches_the_recursion(decay, bias_correction):
    values = np.random.default_rng(1).normal(3.0, 1.0, 40)
    averages = analysis.ewma(np.stack([values, 2 * values], axis=-1), decay,
                             bias_correction=bias_correction)
    expected = ewma_by_hand(values, decay, bias_correction)
    np.testing.assert_allclose(averages[:, 0], expected, rtol=RECURSION_RTOL)
    np.testing.assert_allclose(averages[:, 1], 2 * expected, rtol=RECURSION_RTOL)


def test_bias_correction_removes_the_start_at_zero():
    constant = np.full(10, 5.0)
    biased = np.asarray(analysis.ewma(constant, 0.9))
    corrected = np.asarray(analysis.ewma(constant, 0.9, bias_correction=True))
    assert biased[0] == pytest.approx(0.5)  # (1 − α)·g₁: pulled towards the zero start
    np.testing.assert_allclose(corrected, 5.0, rtol=RECURSION_RTOL)
    series = np.array([2.0, 4.0, 1.0])
    assert float(analysis.ewma(series, 0.7, bias_correction=True)[0]) == 2.0  # seed: v₁ = g₁
    np.testing.assert_allclose(analysis.ewma(series[None, :], 0.7, axis=1)[0],
                               ewma_by_hand(series, 0.7, False), rtol=RECURSION_RTOL)
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\), got 1.0"):
        analysis.ewma(series, 1.0)
