"""Starting points: regular grids, random clouds, and 2-D slices of higher-dimensional surfaces.

Every function returns points as a ``(P, dim)`` array, the ``starts`` argument of `jl.sweep`.
`grid` and `plane` return a `Grid`, which also carries what is needed to turn per-point results
back into an image:

>>> import jaxopt_lab as jl
>>> starts = grid(jl.surfaces.get("himmelblau"), 3)
>>> starts.points.shape, starts.shape, starts.extent
((9, 2), (3, 3), (-5.0, 5.0, -5.0, 5.0))
>>> starts.points[:4].tolist()   # x varies fastest: row i of the image is the i-th y value
[[-5.0, -5.0], [0.0, -5.0], [5.0, -5.0], [-5.0, 0.0]]

so ``result.status.reshape(result.status.shape[:-1] + starts.shape)`` is an image (one per
hyperparameter setting) to draw with ``imshow(image, origin="lower", extent=starts.extent)``.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import check_int, real_array
from jaxopt_lab.surfaces import Surface

SurfaceOrBounds = Union[Surface, Sequence[Sequence[float]]]


class Grid(NamedTuple):
    """A regular lattice of starting points and how to lay results out as an image.

    Attributes:
      points: ``(P, dim)`` starting points, first coordinate varying fastest.
      shape: the image shape, ``(resolution of the last coordinate, ..., of the first)``: for a
        2-D grid ``(num_y, num_x)``, so ``values.reshape(shape)[i, j]`` belongs to
        ``(axes[0][j], axes[1][i])``. ``P == prod(shape)``.
      extent: ``(low_0, high_0, low_1, high_1, ...)`` per coordinate, in the order matplotlib's
        ``imshow(..., origin="lower", extent=extent)`` wants for 2-D.
      axes: the 1-D coordinate values along each lattice direction (for contour plots): along
        each coordinate for `grid`, along the two plane directions for `plane`.
    """

    points: jax.Array
    shape: tuple[int, ...]
    extent: tuple[float, ...]
    axes: tuple[jax.Array, ...]


def as_bounds(surface_or_bounds: SurfaceOrBounds) -> tuple[tuple[float, float], ...]:
    """The ``((low, high), ...)`` box of a `Surface`, or a checked copy of the given bounds.

    Args:
      surface_or_bounds: a `Surface` (its ``bounds``) or ``((low, high), ...)`` with low < high.

    Returns:
      The box as a tuple of ``(low, high)`` float pairs, one per coordinate.

    Raises:
      ValueError: if the bounds are not finite ``(low, high)`` pairs with low < high.
    """
    if isinstance(surface_or_bounds, Surface):
        return surface_or_bounds.bounds
    array = real_array("bounds", surface_or_bounds)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 1:
        raise ValueError(
            f"bounds must be a Surface or a sequence of (low, high) pairs, got shape {array.shape}"
        )
    if np.any(array[:, 0] >= array[:, 1]):
        raise ValueError(f"bounds must be finite with low < high, got {array.tolist()}")
    return tuple((float(low), float(high)) for low, high in array)


def _resolutions(resolution: int | Sequence[int], dim: int) -> tuple[int, ...]:
    values = (resolution,) * dim if np.ndim(resolution) == 0 else tuple(resolution)
    if len(values) != dim:
        raise ValueError(f"resolution must be one int or {dim} ints (one per coordinate), "
                         f"got {len(values)}")
    return tuple(check_int("resolution", value, 2) for value in values)


def _lattice(axes: Sequence[jax.Array]) -> jax.Array:
    # indexing="xy"-like order for any dim: the first coordinate varies fastest.
    mesh = jnp.meshgrid(*axes[::-1], indexing="ij")
    return jnp.stack([m.reshape(-1) for m in mesh[::-1]], axis=-1)


def grid(surface_or_bounds: SurfaceOrBounds, resolution: int | Sequence[int]) -> Grid:
    """A regular lattice over the box, ``resolution`` points per coordinate, corners included.

    Args:
      surface_or_bounds: a `Surface` (its ``bounds``) or ``((low, high), ...)`` with low < high.
      resolution: one int (every coordinate) or one per coordinate, each at least 2.

    Returns:
      A `Grid`: ``points`` ``(N, dim)`` with the first coordinate varying fastest, the lattice
      ``shape`` (rows, columns, ...), the ``extent`` and the ``axes``.

    Raises:
      ValueError: for bad bounds or a resolution below 2 or of the wrong length.
    """
    bounds = as_bounds(surface_or_bounds)
    resolutions = _resolutions(resolution, len(bounds))
    axes = tuple(jnp.linspace(low, high, count) for (low, high), count in zip(bounds, resolutions))
    extent = tuple(value for pair in bounds for value in pair)
    return Grid(_lattice(axes), resolutions[::-1], extent, axes)


def uniform(key: jax.Array, surface_or_bounds: SurfaceOrBounds, num_points: int) -> jax.Array:
    """``(num_points, dim)`` points drawn uniformly from the box; deterministic given ``key``.

    Args:
      key: a ``jax.random`` key.
      surface_or_bounds: a `Surface` (its ``bounds``) or ``((low, high), ...)`` with low < high.
      num_points: >= 1.

    Returns:
      The points, a ``(num_points, dim)`` array, coordinate i in ``[low_i, high_i)``.

    Raises:
      ValueError: for bad bounds or ``num_points`` < 1.

    >>> points = uniform(jax.random.PRNGKey(0), ((0.0, 1.0), (-5.0, 5.0)), 4)
    >>> points.shape
    (4, 2)
    """
    bounds = np.asarray(as_bounds(surface_or_bounds))
    num_points = check_int("num_points", num_points, 1)
    return jax.random.uniform(key, (num_points, len(bounds)), minval=bounds[:, 0],
                              maxval=bounds[:, 1])


def gaussian(key: jax.Array, center, scale, num_points: int) -> jax.Array:
    """``(num_points, dim)`` points ``center + scale · N(0, I)``; deterministic given ``key``.

    Args:
      key: a ``jax.random`` key.
      center: a ``(dim,)`` vector.
      scale: >= 0, a number or one per axis.
      num_points: >= 1.

    Returns:
      The points, a ``(num_points, dim)`` float array.

    Raises:
      ValueError: if ``center`` is not a vector, ``scale`` has the wrong shape or is negative,
        or ``num_points`` < 1.

    >>> gaussian(jax.random.PRNGKey(0), [1.0, 2.0], 0.0, 2).tolist()
    [[1.0, 2.0], [1.0, 2.0]]
    """
    center = jnp.asarray(real_array("center", center), dtype=float)
    if center.ndim != 1 or center.shape[0] < 1:
        raise ValueError(f"center must be a (dim,) vector, got shape {center.shape}")
    scale = jnp.asarray(real_array("scale", scale, finite=False), dtype=float)
    if scale.shape not in ((), center.shape):
        raise ValueError(f"scale must be a number or have shape {center.shape}, got {scale.shape}")
    if np.any(np.asarray(scale) < 0) or not np.all(np.isfinite(np.asarray(scale))):
        raise ValueError(f"scale must be in [0, inf), got {np.asarray(scale).tolist()}")
    num_points = check_int("num_points", num_points, 1)
    return center + scale * jax.random.normal(key, (num_points, center.shape[0]), center.dtype)


def plane(center, direction_1, direction_2, extent, resolution: int | Sequence[int]) -> Grid:
    """A 2-D slice through ``center`` along two directions, for surfaces of any dimension.

    Points are ``center + s·direction_1 + t·direction_2`` with (s, t) on a regular lattice over
    ``extent``: one number e (s, t ∈ [−e, e]) or ``(s_low, s_high, t_low, t_high)``. The
    directions are used as given (normalize them for a slice in distance units). The `Grid`'s
    ``extent`` and ``axes`` are in (s, t) plane coordinates.

    Args:
      center: a ``(dim,)`` vector, dim >= 2.
      direction_1: a ``(dim,)`` vector, the s axis.
      direction_2: a ``(dim,)`` vector, the t axis.
      extent: e > 0 or ``(s_low, s_high, t_low, t_high)``.
      resolution: one int or two, each at least 2.

    Returns:
      A `Grid`: ``points`` ``(P, dim)`` in the original coordinates, s varying fastest; its
      ``shape``, ``extent`` and ``axes`` in (s, t) plane coordinates.

    Raises:
      ValueError: for mismatched shapes, dependent directions, an extent that is neither one
        number nor four, an empty box or a resolution below 2.

    >>> slice_ = plane([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 1.0, 2)
    >>> slice_.points.tolist()
    [[-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    center = jnp.asarray(real_array("center", center), dtype=float)
    if center.ndim != 1 or center.shape[0] < 2:
        raise ValueError(f"center must be a (dim,) vector with dim >= 2, got shape {center.shape}")
    directions = []
    for name, direction in (("direction_1", direction_1), ("direction_2", direction_2)):
        direction = jnp.asarray(real_array(name, direction), dtype=float)
        if direction.shape != center.shape:
            raise ValueError(f"{name} must have shape {center.shape} like center, "
                             f"got {direction.shape}")
        directions.append(direction)
    if np.linalg.matrix_rank(np.stack(directions)) < 2:
        raise ValueError("direction_1 and direction_2 must be linearly independent")
    extent_values = np.atleast_1d(real_array("extent", extent))
    if extent_values.shape == (1,):
        extent_values = np.array([-1.0, 1.0, -1.0, 1.0]) * abs(extent_values[0])
    if extent_values.shape != (4,):
        raise ValueError(f"extent must be one number or (s_low, s_high, t_low, t_high), "
                         f"got {extent_values.tolist()}")
    box = grid(extent_values.reshape(2, 2), resolution)
    points = center + box.points[:, :1] * directions[0] + box.points[:, 1:] * directions[1]
    return box._replace(points=points)
