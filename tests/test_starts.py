"""Starting points: lattice layout and image reshaping, random clouds, planes, bad input."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxopt_lab import starts, surfaces

#: Lattice coordinates are linspace values: exact at the ends, rounding inside.
ROUNDING_TOL = 1e-12
#: A quadratic summed over 100 coordinates, each rounded in float64, against its closed form on
#: the slice; the eigenvectors themselves carry eigh's rounding (~1e-15 relative per entry).
SLICE_RTOL = 1e-9
#: Random clouds of this many points; their sample moments are checked to 5 standard errors.
NUM_POINTS = 20000
STANDARD_ERRORS = 5.0

KEY = jax.random.PRNGKey(0)


def test_grid_lays_points_out_as_an_image():
    surface = surfaces.get("mccormick")  # a non-square box: x in [-1.5, 4], y in [-3, 4]
    lattice = starts.grid(surface, (5, 3))
    assert lattice.points.shape == (15, 2) and lattice.shape == (3, 5)
    assert lattice.extent == (-1.5, 4.0, -3.0, 4.0)
    values = jax.vmap(surface.fn)(lattice.points).reshape(lattice.shape)
    for i, y in enumerate(lattice.axes[1]):
        for j, x in enumerate(lattice.axes[0]):
            np.testing.assert_allclose(values[i, j], surface(jnp.array([x, y])),
                                       rtol=ROUNDING_TOL)
    np.testing.assert_array_equal(lattice.points.min(axis=0), surface.lower)
    np.testing.assert_array_equal(lattice.points.max(axis=0), surface.upper)


def test_grid_results_with_leading_hyperparameter_axes_reshape_to_images():
    lattice = starts.grid(((0.0, 1.0), (0.0, 2.0)), 4)
    # A per-point result computed from each point's own coordinates, as a sweep's would be:
    # setting c, column j (x index), row i (y index) encoded as 100·c + 10·i + j.
    column = np.rint(np.asarray(lattice.points[:, 0]) * 3).astype(int)  # x = j/3
    row = np.rint(np.asarray(lattice.points[:, 1]) * 1.5).astype(int)  # y = 2i/3
    status = 100 * np.arange(3)[:, None] + 10 * row + column  # (C, P) for 3 settings
    images = status.reshape(status.shape[:-1] + lattice.shape)
    assert images.shape == (3, 4, 4)
    expected = 100 * np.arange(3)[:, None, None] + 10 * np.arange(4)[:, None] + np.arange(4)
    np.testing.assert_array_equal(images, expected)


def test_grid_in_three_dimensions_has_first_coordinate_fastest():
    lattice = starts.grid(((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)), (2, 3, 4))
    assert lattice.points.shape == (24, 3) and lattice.shape == (4, 3, 2)
    cube = np.asarray(lattice.points).reshape(lattice.shape + (3,))
    np.testing.assert_allclose(cube[3, 2, 1], [1.0, 1.0, 1.0], rtol=ROUNDING_TOL)
    np.testing.assert_allclose(cube[1, 0, 1], [1.0, 0.0, 1.0 / 3.0], atol=ROUNDING_TOL)


@pytest.mark.parametrize("bounds, resolution, match", [
    (((0.0, 1.0),), 1, "resolution must be an integer in \\[2, inf\\], got 1"),
    (((0.0, 1.0),), 3.0, "resolution must be an integer in \\[2, inf\\], got 3.0"),
    (((0.0, 1.0), (0.0, 1.0)), (3, 3, 3), "resolution must be one int or 2 ints"),
    (((1.0, 0.0),), 3, "low < high"),
    (((0.0, math.inf),), 3, "finite"),
    ((0.0, 1.0), 3, "pairs"),
])
def test_grid_rejects_bad_input(bounds, resolution, match):
    with pytest.raises(ValueError, match=match):
        starts.grid(bounds, resolution)


def test_uniform_fills_the_box_and_is_deterministic():
    surface = surfaces.get("six_hump_camel")
    points = np.asarray(starts.uniform(KEY, surface, NUM_POINTS))
    assert points.shape == (NUM_POINTS, 2)
    assert np.all((points >= surface.lower) & (points < surface.upper))
    width = surface.upper - surface.lower
    # Uniform on [low, high): mean at the centre, standard deviation width/√12.
    standard_error = width / math.sqrt(12.0 * NUM_POINTS)
    np.testing.assert_array_less(np.abs(points.mean(axis=0) - (surface.lower + surface.upper) / 2),
                                 STANDARD_ERRORS * standard_error)
    np.testing.assert_array_equal(points, starts.uniform(KEY, surface, NUM_POINTS))
    assert not np.allclose(points[:10], starts.uniform(jax.random.PRNGKey(1), surface, 10))


def test_uniform_works_in_high_dimension():
    surface = surfaces.get("deep_learning_spectrum")
    points = starts.uniform(KEY, surface, 3)
    assert points.shape == (3, 100)


def test_gaussian_has_its_center_and_per_coordinate_scale():
    center, scale = np.array([1.0, -2.0, 0.5]), np.array([0.1, 1.0, 3.0])
    points = np.asarray(starts.gaussian(KEY, center, scale, NUM_POINTS))
    assert points.shape == (NUM_POINTS, 3)
    np.testing.assert_array_less(np.abs(points.mean(axis=0) - center),
                                 STANDARD_ERRORS * scale / math.sqrt(NUM_POINTS))
    # The sample standard deviation's relative standard error is 1/√(2K).
    np.testing.assert_allclose(points.std(axis=0, ddof=1), scale,
                               rtol=STANDARD_ERRORS / math.sqrt(2 * NUM_POINTS))
    np.testing.assert_array_equal(points, starts.gaussian(KEY, center, scale, NUM_POINTS))


@pytest.mark.parametrize("args, match", [
    (([0.0, 0.0], 1.0, 0), "num_points must be an integer in \\[1, inf\\], got 0"),
    (([0.0, 0.0], 1.0, True), "num_points must be an integer in \\[1, inf\\], got True"),
    (([0.0, 0.0], [1.0, 1.0, 1.0], 5), "scale must be a number or have shape"),
    (([0.0, 0.0], -1.0, 5), "scale must be in \\[0, inf\\)"),
    ((0.0, 1.0, 5), "center must be a \\(dim,\\) vector"),
])
def test_gaussian_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        starts.gaussian(KEY, *args)


@pytest.mark.parametrize("call, error, match", [
    (lambda: starts.grid(np.array([[0.0, 1.0 + 1j]]), 3), TypeError, "bounds must be real"),
    (lambda: starts.grid([[0.0, 2**1100]], 3), ValueError, "bounds must be finite"),
    (lambda: starts.gaussian(KEY, ["0", "1"], 1.0, 3), TypeError, "center must be real"),
    (lambda: starts.gaussian(KEY, [0.0, 1j], 1.0, 3), TypeError, "center must be real"),
    (lambda: starts.plane([0.0, 0.0], [1.0, 0.0], [0.0, np.nan], 1.0, 2), ValueError,
     "direction_2 must be finite"),
])
def test_starts_refuse_what_they_would_silently_change(call, error, match):
    """Complex coordinates would lose their imaginary part, huge ones become inf."""
    with pytest.raises(error, match=match):
        call()


def test_uniform_rejects_no_points():
    with pytest.raises(ValueError, match="num_points"):
        starts.uniform(KEY, surfaces.get("booth"), 0)


def test_plane_slices_a_high_dimensional_surface():
    surface = surfaces.get("deep_learning_spectrum")
    eigenvalues, vectors = np.linalg.eigh(np.asarray(surface.fn.A))
    flat, steep = vectors[:, 0], vectors[:, -1]
    center = np.zeros(100)
    slice_ = starts.plane(center, flat, steep, (-1.0, 1.0, -0.5, 0.5), (3, 5))
    assert slice_.points.shape == (15, 100) and slice_.shape == (5, 3)
    assert slice_.extent == (-1.0, 1.0, -0.5, 0.5)
    values = jax.vmap(surface.fn)(slice_.points).reshape(slice_.shape)
    s, t = np.meshgrid(slice_.axes[0], slice_.axes[1])
    # Along eigenvectors the quadratic separates: ½(λ_min s² + λ_max t²).
    np.testing.assert_allclose(values, 0.5 * (eigenvalues[0] * s**2 + eigenvalues[-1] * t**2),
                               rtol=SLICE_RTOL)


def test_plane_with_a_single_extent_is_symmetric():
    slice_ = starts.plane([1.0, 2.0], [1.0, 0.0], [0.0, 1.0], 0.5, 2)
    assert slice_.extent == (-0.5, 0.5, -0.5, 0.5)
    np.testing.assert_allclose(slice_.points, [[0.5, 1.5], [1.5, 1.5], [0.5, 2.5], [1.5, 2.5]],
                               rtol=ROUNDING_TOL)


@pytest.mark.parametrize("args, match", [
    (([0.0, 0.0, 0.0], [1.0, 0.0], [0.0, 1.0, 0.0], 1.0, 3), "direction_1 must have shape"),
    (([0.0, 0.0], [1.0, 1.0], [2.0, 2.0], 1.0, 3), "linearly independent"),
    (([0.0, 0.0], [1.0, 0.0], [0.0, 1.0], (1.0, 2.0), 3), "extent must be one number"),
    (([0.0, 0.0], [1.0, 0.0], [0.0, 1.0], 1.0, 1), "resolution must be an integer in"),
    (([0.0], [1.0], [1.0], 1.0, 3), "dim >= 2"),
])
def test_plane_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        starts.plane(*args)
