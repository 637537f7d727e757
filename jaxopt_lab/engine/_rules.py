"""The rules that judge a point of a sweep, shared by the scan and fused backends.

At a check, a point at ``params`` with value ``f(params)`` and gradient ``∇f(params)``

- *fails* if the value, the gradient or ``params`` is not finite, or ``‖params‖`` exceeds the
  surface's escape radius;
- *converges* if ``‖∇f(params)‖ <= gtol`` or ``params`` is within ``xtol`` of a listed minimum.

`make_judge` returns these tests for one point, in either of the engine's layouts: a ``(dim,)``
vector (``"array"``) or a tuple of scalars (``"coordinates"``). A point that fails or converges
stops (DIVERGED wins over CONVERGED): `judged_stop` applies that, `stop_code` packs how and when
into one integer, `decode_stop` turns it back into status and steps, and `nearest_basin` names
the minimum a final point lies in. The ``xtol`` test and `nearest_basin` compare a point with
every listed minimum at once, as one ``(K, dim)`` array, so a program does not grow with K
(Levi N.13 lists 1,179 minima); the fused backend, which splits every array into its elements
anyway, uses the ``_unrolled`` twins, one expression per minimum.

>>> import jax.numpy as jnp, jaxopt_lab as jl
>>> bowl = jl.Surface("bowl", lambda x: jnp.sum(x**2), 2, ((-1.0, 1.0), (-1.0, 1.0)),
...                   minima=((0.0, 0.0),), escape_radius=10.0)
>>> judge = make_judge(bowl, gtol=1e-6, xtol=1e-3, layout="array")
>>> [bool(flag) for flag in judge(jnp.array([0.0, 1e-4]), 1e-8, jnp.array([0.0, 2e-4]))]
[True, True, True]
>>> [bool(flag) for flag in judge(jnp.array([20.0, 0.0]), 400.0, jnp.array([40.0, 0.0]))]
[False, False, True]
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap

from jaxopt_lab.surfaces import Surface
from jaxopt_lab.engine._status import Status

#: Up to this many coordinates a (dim,) vector's sum of squares is written out term by term:
#: XLA's CPU backend vectorizes those elementwise ops over points far better than a short
#: reduction over the coordinate axis of a (P, dim) array.
UNROLLED_SUM_MAX_DIM = 8


def sum_squares(tree) -> jax.Array:
    """``Σ x²`` over every leaf of ``tree`` (a point's params or gradient)."""
    total = 0.0
    for leaf in jax.tree.leaves(tree):
        if leaf.ndim == 1 and leaf.shape[0] <= UNROLLED_SUM_MAX_DIM:
            total = total + sum(jnp.square(leaf[i]) for i in range(leaf.shape[0]))
        else:
            total = total + jnp.sum(jnp.square(leaf))
    return total


def _distances_squared(points, minima: np.ndarray, layout: str) -> jax.Array:
    """Squared distances ``(K, N)`` from each of N ``points`` to each of ``minima`` (K, dim).

    ``points`` is an ``(N, dim)`` array (``"array"`` layout) or a tuple of ``dim`` ``(N,)``
    coordinates. The minima are one constant array, so a program's size does not grow with K
    (a surface may list a thousand minima), and the points are the minor axis, so a reduction
    over the minima is elementwise over the points, which XLA's CPU backend vectorizes (a
    reduction over a minor axis of K it does not). The sum runs over the coordinates in order,
    as `sum_squares` does for one minimum.
    """
    if layout == "coordinates":
        # NumPy float64 minima promote the coordinates to float64, as one scalar minimum does.
        return sum(jnp.square(p[None, :] - minima[:, i:i + 1]) for i, p in enumerate(points))
    minima = minima.astype(points.dtype)
    if points.shape[-1] <= UNROLLED_SUM_MAX_DIM:
        return sum(jnp.square(points[None, :, i] - minima[:, i:i + 1])
                   for i in range(points.shape[-1]))
    return jnp.sum(jnp.square(points[None] - minima[:, None]), axis=-1)


def _nearest(distances: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(smallest distance, index of the first minimum at it) per point of ``(K, N)`` distances.

    The index is the smallest ``k`` whose distance equals the smallest (``jnp.argmin``'s rule)
    found by a second min-reduction, which XLA's CPU backend vectorizes (an argmin's variadic
    reduction it does not). A point with no such ``k`` (a NaN distance) gets K.
    """
    best = jnp.min(distances, axis=0)
    order = jnp.arange(distances.shape[0], dtype=jnp.int32)[:, None]
    index = jnp.min(jnp.where(distances == best, order, distances.shape[0]), axis=0)
    return best, index


def _per_point(batched: Callable) -> Callable:
    """A function of one point's params from ``batched``, written for points on a leading axis.

    Under ``vmap`` (how both drivers' programs run) ``batched`` gets the whole batch at once:
    vmapping a per-point reduction over the minima would reduce over the minor axis instead.
    """
    @custom_vmap
    def one(params):
        out = batched(jax.tree.map(lambda leaf: jnp.asarray(leaf)[None], params))
        return jax.tree.map(lambda leaf: leaf[0], out)

    @one.def_vmap
    def rule(axis_size: int, in_batched: list, params):
        params = jax.tree.map(
            lambda leaf, batched_leaf: leaf if batched_leaf
            else jnp.broadcast_to(leaf, (axis_size,) + jnp.shape(leaf)), params, in_batched[0])
        out = batched(params)
        return out, jax.tree.map(lambda _: True, out)

    return one


def min_distance_squared(params, minima: np.ndarray, layout: str) -> jax.Array:
    """Squared distance from ``params`` to the nearest of ``minima`` (K, dim), K >= 1."""
    return _per_point(lambda points: _nearest(_distances_squared(points, minima, layout))[0])(
        params)


def min_distance_squared_unrolled(params, minima: np.ndarray, layout: str) -> jax.Array:
    """`min_distance_squared` with one elementwise expression per minimum.

    For the fused backend, whose lane evaluator splits every array into its elements anyway
    and whose GPU kernels have no reduction over a short axis.
    """
    if layout == "coordinates":
        distances = [sum(jnp.square(p - m) for p, m in zip(params, minimum)) for minimum in minima]
    else:
        distances = [sum_squares(params - minimum.astype(params.dtype)) for minimum in minima]
    return functools.reduce(jnp.minimum, distances)


def make_judge(surface: Surface, gtol: float, xtol: float, layout: str, *,
               unrolled_minima: bool = False) -> Callable:
    """``judge(params, value, grad) -> (ok, converged, params finite)`` for one point.

    ``unrolled_minima`` compares with the minima one by one (`min_distance_squared_unrolled`)
    instead of as one array.
    """
    minima = surface.minima_array
    nearest = min_distance_squared_unrolled if unrolled_minima else min_distance_squared
    escape_squared = float(surface.escape_radius) ** 2
    gtol_squared, xtol_squared = gtol**2, xtol**2

    def judge(params, value, grad):
        params_squared, grad_squared = sum_squares(params), sum_squares(grad)
        finite = jnp.isfinite(params_squared)
        # The value is checked too: log(negative) is NaN with a finite gradient.
        ok = finite & jnp.isfinite(grad_squared) & jnp.isfinite(value)
        if np.isfinite(escape_squared):
            ok &= params_squared <= escape_squared
        converged = grad_squared <= gtol_squared
        if len(minima) and xtol_squared > 0:
            converged |= nearest(params, minima, layout) <= xtol_squared
        return ok, converged, finite

    return judge


def stop_code(t: jax.Array, diverged: jax.Array) -> jax.Array:
    """How a point stopped, in one int32 the loop carries instead of two arrays.

    ``-1``: still running; else ``2 t + diverged`` (DIVERGED or CONVERGED at step ``t``). One
    array to update per check instead of status and steps: one kernel fewer in the scan, one lane
    fewer in the fused kernel's registers.

    >>> [int(stop_code(jnp.int32(t), jnp.bool_(d))) for t, d in ((0, True), (25, False))]
    [1, 50]
    >>> [s.tolist() for s in decode_stop(jnp.array([-1, 1, 50]))]  # (status, steps)
    [[0, 2, 1], [-1, 0, 25]]
    """
    return 2 * t + diverged.astype(jnp.int32)


def judged_stop(stop: jax.Array, ok: jax.Array, converged: jax.Array, t: jax.Array) -> jax.Array:
    """The stop code after a check at step ``t``: a running point (``stop < 0``) that failed
    (``~ok``) or converged stops there, DIVERGED winning; a stopped one keeps its code.

    >>> judged_stop(jnp.array([-1, -1, -1, 7]), jnp.array([True, False, True, False]),
    ...             jnp.array([False, True, True, True]), jnp.int32(10)).tolist()
    [-1, 21, 20, 7]
    """
    return jnp.where((stop < 0) & (~ok | converged), stop_code(t, ~ok), stop)


def decode_stop(stop: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(status, steps) of a `stop_code`: UNFINISHED and -1 for a running point."""
    running = stop < 0
    # Bits, not % and //: in a GPU kernel an integer division is a long instruction sequence.
    status = jnp.where(running, Status.UNFINISHED,
                       jnp.where((stop & 1) == 1, Status.DIVERGED, Status.CONVERGED))
    return status.astype(jnp.int32), jnp.where(running, -1, stop >> 1).astype(jnp.int32)


def nearest_basin(vector: jax.Array, status: jax.Array, minima: np.ndarray,
                  basin_radius: float) -> jax.Array:
    """Index of the listed minimum nearest to a point's final ``vector`` if within
    ``basin_radius`` and the point did not diverge, else -1 (int32).

    Of equally near minima the first listed wins (``jnp.argmin``'s rule).

    >>> int(nearest_basin(jnp.array([0.9, 1.0]), jnp.int32(1), np.array([[0.0, 0.0], [1.0, 1.0]]),
    ...                   0.5))
    1
    """
    if not len(minima):
        return jnp.array(-1, jnp.int32)
    best, index = _per_point(lambda points: _nearest(_distances_squared(points, minima, "array")))(
        vector)
    return _basin_within(index, best, status, basin_radius)


def nearest_basin_unrolled(vector: jax.Array, status: jax.Array, minima: np.ndarray,
                           basin_radius: float) -> jax.Array:
    """`nearest_basin` with the argmin written out, one comparison per minimum.

    For the fused backend, whose kernels have no argmin over a short axis.

    >>> int(nearest_basin_unrolled(jnp.array([0.9, 1.0]), jnp.int32(1),
    ...                            np.array([[0.0, 0.0], [1.0, 1.0]]), 0.5))
    1
    """
    if not len(minima):
        return jnp.array(-1, jnp.int32)
    best = sum_squares(vector - minima[0].astype(vector.dtype))
    index = jnp.array(0, jnp.int32)
    for k, minimum in enumerate(minima[1:], start=1):
        distance = sum_squares(vector - minimum.astype(vector.dtype))
        closer = distance < best
        index = jnp.where(closer, k, index)
        best = jnp.where(closer, distance, best)
    return _basin_within(index, best, status, basin_radius)


def _basin_within(index: jax.Array, best: jax.Array, status: jax.Array,
                  basin_radius: float) -> jax.Array:
    near = (best <= basin_radius**2) & (status != Status.DIVERGED)
    return jnp.where(near, index, jnp.array(-1, jnp.int32))
