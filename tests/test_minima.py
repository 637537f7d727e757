"""Minima as data and as checks: Levi N.13's 1,179 minima found again independently, and the
engine's one-array comparison with the minima against the one-at-a-time one: the same nearest
minima, and sweeps that judge alike bit for bit."""
import dataclasses
import functools
import math
from unittest import mock

import jax
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _program, _rules

# ------------------------------------------------------------------- Levi N.13's every minimum

#: Levi N.13's local minima in [−10, 10]²: each x a minimum of sin²(3πx) tilted by (x − 1)²,
#: each y one of sin²(3πy) or sin²(2πy) tilted by (y − 1)², wherever the tilt leaves one.
LEVI_N13_MINIMA_COUNT = 1179
#: Spacing of the sampling grid that finds the minima without Newton: far below half the closest
#: two minima's distance (0.21), so every basin holds grid points around its minimum.
SAMPLING_STEP = 0.005
#: The grid reaches this far past the box, so a minimum within a step of its edge (there are
#: minima at |y| = 9.998) has sampled neighbours on every side.
SAMPLING_MARGIN = 4 * SAMPLING_STEP
#: A sampled local minimum lies within a grid step (per coordinate) of the true one...
SAMPLED_DISTANCE = math.sqrt(2) * SAMPLING_STEP
#: ... so one within a step of the box's edge may be sampled just outside it (Levi N.13 has
#: sixteen at y = 9.998); none lies within a step outside the box, so none is counted twice.
EDGE_TOLERANCE = SAMPLING_STEP


def _levi_n13(x, y):
    """The published formula in NumPy, apart from the library's ``jax.numpy`` one."""
    return (np.sin(3 * np.pi * x) ** 2 + (x - 1) ** 2 * (1 + np.sin(3 * np.pi * y) ** 2)
            + (y - 1) ** 2 * (1 + np.sin(2 * np.pi * y) ** 2))


def _sampled_local_minima(surface) -> np.ndarray:
    """Grid points (inside the box) lower than all eight neighbours on a fine grid."""
    (low, high), _ = surface.bounds
    axis = np.arange(low - SAMPLING_MARGIN, high + SAMPLING_MARGIN + SAMPLING_STEP / 2,
                     SAMPLING_STEP)
    x, y = np.meshgrid(axis, axis, indexing="ij")
    values = _levi_n13(x, y)
    centre = values[1:-1, 1:-1]
    lowest = np.ones(centre.shape, dtype=bool)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                lowest &= centre < values[1 + dx:values.shape[0] - 1 + dx,
                                          1 + dy:values.shape[1] - 1 + dy]
    i, j = np.nonzero(lowest)
    points = np.stack([axis[i + 1], axis[j + 1]], axis=1)
    inside = (points >= surface.lower - EDGE_TOLERANCE) & (points <= surface.upper + EDGE_TOLERANCE)
    return points[np.all(inside, axis=1)]


def test_levi_n13_lists_each_of_its_minima_found_by_sampling_once():
    surface = jl.surfaces.get("levi_n13")
    listed = surface.minima_array
    sampled = _sampled_local_minima(surface)
    assert len(listed) == len(sampled) == LEVI_N13_MINIMA_COUNT
    distances = np.linalg.norm(sampled[:, None] - listed[None], axis=-1)
    nearest = distances.argmin(axis=1)
    assert distances.min(axis=1).max() <= SAMPLED_DISTANCE
    assert len(set(nearest.tolist())) == len(listed)  # one sampled minimum per listed one
    assert surface.minima[0] == (1.0, 1.0) and surface.minima_values[0] == surface.f_min == 0.0


# ------------------------------------------------- one array of minima against one at a time

#: Surfaces whose minima the comparison covers: every catalogued one that lists any.
WITH_MINIMA = [name for name in jl.surfaces.names() if jl.surfaces.get(name).minima]
#: The one-at-a-time program grows with the minima (why the scan backend no longer uses it):
#: Levi N.13 is compared over its first this many (by value).
MAX_UNROLLED_MINIMA = 128
#: A sweep's default basin radius, as a share of the box's diagonal.
BASIN_FRACTION = 0.01
#: Random points per surface, besides the minima, points near them, midpoints of pairs of
#: minima (ties) and non-finite points.
NUM_POINTS = 512
#: XLA may fuse one square and the sum into a fused multiply-add (one rounding, not two) in one
#: program and not in the other: a distance then differs in its last bit or two.
DISTANCE_RTOL_EPS = 2
#: Two squared distances closer than this many eps (relative) count as a tie: beyond the few
#: roundings (difference, squares, sum) that separate either program from exact arithmetic.
TIE_RTOL_EPS = 8


def _probe_points(surface, minima: np.ndarray, dtype) -> np.ndarray:
    rng = np.random.default_rng(0)
    width = surface.upper - surface.lower
    cloud = rng.uniform(surface.lower - width / 4, surface.upper + width / 4,
                        (NUM_POINTS, surface.dim))
    near = minima + rng.normal(scale=1e-3, size=minima.shape) * width
    ties = (minima[:-1] + minima[1:]) / 2  # equally near two minima
    special = np.full((3, surface.dim), np.nan)
    special[1], special[2] = np.inf, -np.inf
    return np.concatenate([cloud, minima, near, ties, special]).astype(dtype)


def _per_point(function, layout: str, *args):
    def one(point):
        return function(tuple(point) if layout == "coordinates" else point, *args)
    return jax.jit(jax.vmap(one))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", WITH_MINIMA)
def test_one_array_of_minima_finds_what_one_minimum_at_a_time_finds(name, dtype):
    surface = jl.surfaces.get(name)
    minima = surface.minima_array[:MAX_UNROLLED_MINIMA]
    radius = BASIN_FRACTION * np.linalg.norm(surface.upper - surface.lower)
    points = _probe_points(surface, minima, dtype)
    finite = np.all(np.isfinite(points), axis=1)
    for layout in ("array", "coordinates"):
        mine, theirs = (np.asarray(_per_point(nearest, layout, minima, layout)(points))
                        for nearest in (_rules.min_distance_squared,
                                        _rules.min_distance_squared_unrolled))
        assert mine.dtype == theirs.dtype
        np.testing.assert_allclose(mine[finite], theirs[finite],
                                   rtol=DISTANCE_RTOL_EPS * np.finfo(mine.dtype).eps)
        assert not np.any(np.isfinite(mine[~finite]) | np.isfinite(theirs[~finite]))
    status = np.where(np.arange(len(points)) % 3 == 0, jl.Status.DIVERGED,
                      jl.Status.CONVERGED).astype(np.int32)
    mine, theirs = (np.asarray(jax.jit(jax.vmap(
        lambda p, s, nearest=nearest: nearest(p, s, minima, radius)))(points, status))
        for nearest in (_rules.nearest_basin, _rules.nearest_basin_unrolled))
    assert np.any(mine >= 0) and np.all(mine[status == jl.Status.DIVERGED] == -1)
    # Where two minima are equally near up to rounding, rounding names one; elsewhere both name
    # the same. Distances as the array layout computes them: from minima in the points' dtype.
    finite_points = np.where(finite[:, None], points, 0).astype(float)
    exact = np.sum((finite_points[:, None] - minima.astype(dtype)[None]) ** 2, axis=-1)
    nearest_two = np.sort(exact, axis=1)[:, :2]
    tied = finite & (len(minima) > 1)
    tied &= nearest_two[:, -1] - nearest_two[:, 0] <= TIE_RTOL_EPS * np.finfo(dtype).eps * \
        nearest_two[:, -1]
    np.testing.assert_array_equal(mine[~tied], theirs[~tied])
    for point in np.flatnonzero(tied & (mine >= 0)):
        assert exact[point, mine[point]] - nearest_two[point, 0] <= \
            TIE_RTOL_EPS * np.finfo(dtype).eps * nearest_two[point, 0]


#: Sweeps compared: a few minima and Rastrigin's 121; Adam's step is a share of the box so that
#: most starts end in some basin, at a check interval of 1 and of several steps.
SWEEP_CASES = [("six_hump_camel", "array", 1), ("six_hump_camel", "coordinates", None),
               ("rastrigin", "array", None)]


@pytest.mark.parametrize("name, layout, check_every", SWEEP_CASES)
def test_sweeps_judge_alike_with_either_comparison(name, layout, check_every):
    surface = jl.surfaces.get(name)
    # Its own name: a kernel of its own in the sweep's cache, built one minimum at a time.
    unrolled = dataclasses.replace(surface, name=name + " (one minimum at a time)")
    starts = jl.starts.grid(surface, 12).points
    width = float(np.mean(surface.upper - surface.lower))
    run = functools.partial(jl.sweep, optax.adam(0.01 * width), starts=starts, num_steps=150,
                            xtol=1e-3 * width, progress=False,
                            engine=jl.Engine(backend="scan", layout=layout,
                                             check_every=check_every))
    mine = run(surface=surface)
    with mock.patch.dict(_program.PointProgram.__init__.__kwdefaults__, unrolled_minima=True):
        theirs = run(surface=unrolled)
    for field in ("params", "loss", "status", "steps", "basin"):
        np.testing.assert_array_equal(np.asarray(getattr(mine, field)),
                                      np.asarray(getattr(theirs, field)), strict=True)
    assert np.any(np.asarray(mine.basin) > 0)  # several basins reached, not only the first
