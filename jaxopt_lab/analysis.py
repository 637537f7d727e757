"""Estimates from runs: rates, regimes, critical points, basins, boundary dimension, EWMA, regret,
and a starting learning rate.

Where `jaxopt_lab.theory` predicts, this module measures; the tests hold one against the other.

>>> losses = 0.5 * 0.8 ** (2 * np.arange(6))          # f − f* shrinking by 0.64 a step
>>> float(np.round(mean_convergence_rate(losses, 0.0), 6))
0.64
>>> Regime(int(trajectory_regime(np.array([[1.0], [-0.5], [0.25]]), [0.0]))).name
'OSCILLATING'
"""
from __future__ import annotations

import enum
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab import starts as starts_lib
from jaxopt_lab._fractal_dimension import (
    BoxSpans,
    SohlDicksteinDimension,
    ZoomFrame,
    ZoomSequence,
    edge_windows,
    sohl_dickstein_dimension,
    spanning_box_counts,
    zoom_sequence,
)
from jaxopt_lab._validation import check_in_range, check_int
from jaxopt_lab.surfaces import Surface
from jaxopt_lab.theory import Regime, condition_number
from jaxopt_lab.engine import Status, sweep

# Sohl-Dickstein's estimator lives in its own module; its public names belong to this one (the
# API pages document a module's own functions and classes).
for _public in (BoxSpans, SohlDicksteinDimension, ZoomFrame, ZoomSequence, edge_windows,
                sohl_dickstein_dimension, spanning_box_counts, zoom_sequence):
    _public.__module__ = __name__

# --- rates and regimes ----------------------------------------------------------------------------


def convergence_rate(losses: jax.typing.ArrayLike, f_min: float, *, axis: int = -1) -> np.ndarray:
    """R_k = |f(x_{k+1}) − f*| / |f(x_k) − f*| along ``axis``; one shorter than it.

    A step from a gap of exactly 0 gives ``nan`` (0/0) or ``inf``: the rate is undefined there.

    Args:
      losses: loss values f(x_k), steps along ``axis``.
      f_min: the minimum value f*.
      axis: the step axis of ``losses``.

    Returns:
      The ratios R_k, ``losses``' shape with ``axis`` one shorter.
    """
    gaps = np.abs(np.moveaxis(np.asarray(losses, dtype=float), axis, -1) - f_min)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.moveaxis(gaps[..., 1:] / gaps[..., :-1], -1, axis)


def mean_convergence_rate(losses: jax.typing.ArrayLike, f_min: float, *, start: int = 0,
                          stop: int | None = None, axis: int = -1) -> np.ndarray:
    """Geometric mean of R_k over start <= k < stop.

    It is (|f_stop − f*| / |f_start − f*|)^(1/(stop − start)): the product of the ratios
    telescopes, so this is exact and needs no logarithm of each R_k. ``stop`` defaults to the
    last step.
    On a quadratic it tends to ρ², ρ the error factor `jaxopt_lab.theory` returns.

    Args:
      losses: loss values f(x_k), steps along ``axis``.
      f_min: the minimum value f*.
      start: first step k of the mean, >= 0.
      stop: step after the last ratio, > ``start`` (negative counts from the end); None: the last
        step.
      axis: the step axis of ``losses``.

    Returns:
      The mean rate, ``losses``' shape without ``axis``.

    Raises:
      ValueError: if ``start`` is not in [0, stop).
    """
    gaps = np.abs(np.moveaxis(np.asarray(losses, dtype=float), axis, -1) - f_min)
    stop = gaps.shape[-1] - 1 if stop is None else stop % gaps.shape[-1]
    if not 0 <= start < stop:
        raise ValueError(f"start must be in [0, {stop}), got {start}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return (gaps[..., stop] / gaps[..., start]) ** (1.0 / (stop - start))


def trajectory_regime(trajectory: jax.typing.ArrayLike, target: jax.typing.ArrayLike, *,
                      atol: float = 0.0) -> np.ndarray:
    """`Regime` (MONOTONE, OSCILLATING or DIVERGENT) of ``trajectory`` ``(..., T, dim)``.

    DIVERGENT: a non-finite point, or the final distance to ``target`` exceeds the first.
    OSCILLATING: otherwise, some coordinate of the error x_k − target changes sign between two
    steps (errors of size <= ``atol`` count as 0 and flip nothing). MONOTONE: neither. Per
    coordinate is exact for 1-D and axis-aligned quadratics; on a rotated quadratic an oscillation
    along an eigenvector shows in every coordinate it touches.

    Args:
      trajectory: points ``(..., T, dim)``.
      target: the point ``(dim,)`` the errors are measured from, e.g. the minimum.
      atol: errors of at most this size count as 0.

    Returns:
      int8 `Regime` codes ``(...)``.
    """
    points = np.asarray(trajectory, dtype=float)
    errors = points - np.asarray(target, dtype=float)
    distance = np.linalg.norm(errors, axis=-1)
    divergent = ~np.all(np.isfinite(points), axis=(-2, -1)) | (distance[..., -1] > distance[..., 0])
    signs = np.where(np.abs(errors) <= atol, 0.0, np.sign(errors))
    flips = np.any(signs[..., 1:, :] * signs[..., :-1, :] < 0.0, axis=(-2, -1))
    regime = np.where(flips, Regime.OSCILLATING, Regime.MONOTONE)
    return np.where(divergent, Regime.DIVERGENT, regime).astype(np.int8)


# --- critical points ------------------------------------------------------------------------------


class CriticalKind(enum.IntEnum):
    """Type of a critical point by the signs of its Hessian eigenvalues (Goodfellow et al., §4.3)."""

    MINIMUM = 0  # all λ > 0
    MAXIMUM = 1  # all λ < 0
    SADDLE = 2  # both signs, none ~0
    DEGENERATE = 3  # some |λ| ~ 0: second derivatives do not decide


class CriticalPoints(NamedTuple):
    """Critical points of a surface, sorted by kind and then by value.

    points ``(K, dim)``; kind ``(K,)`` `CriticalKind` codes; value ``(K,)``: f there;
    eigenvalues ``(K, dim)``: of the Hessian, ascending.
    """

    points: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    eigenvalues: np.ndarray


def classify_critical_point(eigenvalues: jax.typing.ArrayLike, *,
                            eigenvalue_tol: float = 1e-8) -> np.ndarray:
    """`CriticalKind` codes from Hessian eigenvalues ``(..., dim)``.

    An eigenvalue with |λ| <= ``eigenvalue_tol``·max(1, max|λ|) counts as zero: degenerate.

    Args:
      eigenvalues: Hessian eigenvalues ``(..., dim)``.
      eigenvalue_tol: relative tolerance under which an eigenvalue counts as zero.

    Returns:
      int8 `CriticalKind` codes ``(...)``.
    """
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    scale = np.maximum(1.0, np.max(np.abs(eigenvalues), axis=-1, keepdims=True))
    zero = np.any(np.abs(eigenvalues) <= eigenvalue_tol * scale, axis=-1)
    positive, negative = np.all(eigenvalues > 0, axis=-1), np.all(eigenvalues < 0, axis=-1)
    kind = np.select([zero, positive, negative],
                     [CriticalKind.DEGENERATE, CriticalKind.MINIMUM, CriticalKind.MAXIMUM],
                     CriticalKind.SADDLE)
    return kind.astype(np.int8)


@functools.lru_cache(maxsize=32)
def _newton_on_gradient(fn: Callable, num_steps: int) -> Callable:
    """A jitted map: starts ``(P, dim)`` -> (end points, f, |∇f|, Hessians) there.

    Cached per (fn, num_steps), so a second `critical_points` on a surface does not recompile
    (an unhashable ``fn`` gets a fresh one: see `critical_points`).
    """
    gradient, hessian = jax.grad(fn), jax.hessian(fn)

    def solve(start: jax.Array):
        def step(x, _):
            # Newton on ∇f = 0 finds every critical point, whatever its kind. The Hessian is
            # symmetric: invert it on its eigenbasis, dropping ~0 eigenvalues (a pseudo-inverse),
            # so a singular one (a degenerate point, where Newton slows to linear) stays finite.
            eigenvalues, vectors = jnp.linalg.eigh(hessian(x))
            keep = jnp.abs(eigenvalues) > 1e-12 * jnp.max(jnp.abs(eigenvalues))
            inverse = jnp.where(keep, 1.0 / jnp.where(keep, eigenvalues, 1.0), 0.0)
            x_next = x - vectors @ (inverse * (vectors.T @ gradient(x)))
            return jnp.where(jnp.all(jnp.isfinite(x_next)), x_next, x), None

        end = jax.lax.scan(step, start, None, length=num_steps)[0]
        return end, fn(end), jnp.linalg.norm(gradient(end)), hessian(end)

    return jax.jit(jax.vmap(solve))


def critical_points(surface: Surface, resolution: int = 24, *,
                    starts: jax.typing.ArrayLike | None = None, num_steps: int = 60,
                    grad_tol: float | None = None, merge_distance: float = 1e-5,
                    eigenvalue_tol: float = 1e-8) -> CriticalPoints:
    """Critical points of ``surface`` inside its bounds: Newton on ∇f from many starts, merged.

    Starts on a ``resolution``-per-axis grid over ``surface.bounds``, or at ``starts`` ``(P, dim)``
    when given (a grid has resolution^dim points: pass random starts beyond a few dimensions).
    Keeps end points with |∇f| <= ``grad_tol``·max(1, |f|) inside the bounds (default
    ``max(1e-8, 100·eps)`` of the starts' dtype: 1e-8 in float64, 1.2e-5 in float32, where 1e-8
    finds only some of Himmelblau's nine critical points); merges points closer than
    ``merge_distance`` times the box diagonal; classifies each by `classify_critical_point`.

    Args:
      surface: the `Surface` to search, within its bounds.
      resolution: starts per axis of the grid, used when ``starts`` is None.
      starts (jax.typing.ArrayLike | None): Newton's starts ``(P, dim)``, P >= 1; None: the grid.
      num_steps: Newton steps from each start.
      grad_tol: relative gradient-norm tolerance for a critical point; None: the dtype's default.
      merge_distance: fraction of the box diagonal under which two points are one.
      eigenvalue_tol: passed to `classify_critical_point`.

    Returns:
      `CriticalPoints`, sorted by kind and then by value.

    Raises:
      ValueError: if ``starts`` is not a ``(P, dim)`` array with P >= 1.
    """
    if starts is None:
        points = starts_lib.grid(surface, resolution).points
    else:
        points = jnp.asarray(starts)
        if points.ndim != 2 or points.shape[1] != surface.dim or not len(points):
            raise ValueError(f"starts must be a (P, {surface.dim}) array with P >= 1, "
                             f"got shape {points.shape}")
    if grad_tol is None:
        grad_tol = max(1e-8, 100 * float(np.finfo(np.asarray(points).dtype).eps))
    try:
        solve = _newton_on_gradient(surface.fn, num_steps)
    except TypeError:  # an unhashable fn cannot be cached
        solve = _newton_on_gradient.__wrapped__(surface.fn, num_steps)
    ends, values, grad_norms, hessians = (np.asarray(a) for a in solve(points))
    inside = np.all((ends >= surface.lower) & (ends <= surface.upper), axis=-1)
    keep = inside & np.isfinite(values) & (grad_norms <= grad_tol * np.maximum(1.0, np.abs(values)))
    radius = merge_distance * float(np.linalg.norm(surface.upper - surface.lower))
    unique: list[int] = []
    for index in np.flatnonzero(keep):
        if all(np.linalg.norm(ends[index] - ends[other]) > radius for other in unique):
            unique.append(index)
    points, value = ends[unique].reshape(len(unique), surface.dim), values[unique]
    eigenvalues = np.linalg.eigvalsh(hessians[unique]).reshape(len(unique), surface.dim)
    kind = classify_critical_point(eigenvalues, eigenvalue_tol=eigenvalue_tol)
    order = np.lexsort((value, kind))
    return CriticalPoints(points[order], kind[order], value[order], eigenvalues[order])


def critical_index(eigenvalues: jax.typing.ArrayLike) -> np.ndarray:
    """Index of a critical point: the share of its Hessian eigenvalues ``(..., dim)`` below 0.

    0 at a minimum, 1 at a maximum, in between at a saddle: the abscissa of Dauphin et al.
    (2014)'s picture of error against index, where the error of critical points grows with it.

    Args:
      eigenvalues: Hessian eigenvalues ``(..., dim)``.

    Returns:
      The index in [0, 1], shape ``(...)``.
    """
    return np.mean(np.asarray(eigenvalues, dtype=float) < 0.0, axis=-1)


def local_condition_number(fn: Callable[[jax.Array], jax.Array],
                           point: jax.typing.ArrayLike) -> float:
    """Condition number max|λ_i/λ_j| of the Hessian of ``fn`` at ``point``.

    Args:
      fn: a scalar function of a ``(dim,)`` point.
      point: where to take the Hessian, ``(dim,)``.

    Returns:
      The condition number as a float; ``inf`` if an eigenvalue is 0.
    """
    eigenvalues = np.linalg.eigvalsh(np.asarray(jax.hessian(fn)(jnp.asarray(point, dtype=float))))
    return float(condition_number(eigenvalues))


# --- basins and their boundary -------------------------------------------------------------------


class BasinStatistics(NamedTuple):
    """Shares of the starting points, each ``(...)`` over the leading axes of the inputs.

    per_basin ``(..., K)``: converged into minimum k. elsewhere: converged, but to no listed
    minimum. unfinished, diverged: by `Status`. The shares add up to 1.
    """

    per_basin: np.ndarray
    elsewhere: np.ndarray
    unfinished: np.ndarray
    diverged: np.ndarray


def basin_statistics(basin: jax.typing.ArrayLike, status: jax.typing.ArrayLike,
                     num_basins: int) -> BasinStatistics:
    """Share of starts per basin from a sweep's ``basin`` and ``status`` ``(..., P)``.

    Args:
      basin: index of the minimum each start reached, ``(..., P)``.
      status: `Status` codes of the starts, ``(..., P)``.
      num_basins: K, the number of listed minima.

    Returns:
      `BasinStatistics`: shares over the last axis.
    """
    basin, status = np.asarray(basin), np.asarray(status)
    converged = status == Status.CONVERGED
    per_basin = np.stack([np.mean(converged & (basin == k), axis=-1) for k in range(num_basins)],
                         axis=-1)
    return BasinStatistics(
        per_basin=per_basin,
        elsewhere=np.mean(converged, axis=-1) - per_basin.sum(axis=-1),
        unfinished=np.mean(status == Status.UNFINISHED, axis=-1),
        diverged=np.mean(status == Status.DIVERGED, axis=-1))


def boundary_mask(labels: jax.typing.ArrayLike) -> np.ndarray:
    """One-cell-thick boundary of a 2-D label image (e.g. ``status == DIVERGED``).

    Marks each cell whose next cell along a row or a column has another label: one cell per
    crossing, so that box counting at the finest scale sees a curve, not a two-cell ribbon.

    Args:
      labels: a 2-D label image ``(rows, cols)``.

    Returns:
      A boolean mask of ``labels``' shape, True on the boundary.

    Raises:
      ValueError: if ``labels`` is not 2-D.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D image, got shape {labels.shape}")
    mask = np.zeros(labels.shape, dtype=bool)
    mask[:-1, :] |= labels[1:, :] != labels[:-1, :]
    mask[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    return mask


class BoxCounting(NamedTuple):
    """dimension: minus the slope of log N(s) against log s; counts N(s) of boxes of side s."""

    dimension: float
    box_sizes: np.ndarray
    counts: np.ndarray


def box_counting_dimension(mask: jax.typing.ArrayLike,
                           box_sizes: tuple[int, ...] | None = None) -> BoxCounting:
    """Box-counting dimension of the set of ``True`` cells of a 2-D mask (our estimator).

    N(s) counts the s×s boxes (a tiling from the corner; a partial last box counts) holding a
    cell of the set; the dimension is the least-squares slope of log N against log(1/s).
    ``box_sizes`` default to powers of 2 from 1 up to a quarter of the shorter side. Apply it to
    `boundary_mask` for a boundary. This is not Sohl-Dickstein's (2024) estimator, which differs
    in edge definition, counting rule, box sizes and fit: `sohl_dickstein_dimension` is that one.

    Args:
      mask: a 2-D boolean image with at least one True cell.
      box_sizes: box sides s, integers >= 1, at least 2 different; None: the powers of 2 above.

    Returns:
      `BoxCounting`: the dimension, the box sizes and the counts N(s).

    Raises:
      ValueError: if ``mask`` is not 2-D or has no True cell, or ``box_sizes`` holds a size < 1
        or fewer than 2 different sizes.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or not mask.any():
        raise ValueError(f"mask must be a 2-D boolean image with some True cell, got shape "
                         f"{mask.shape} with {int(mask.sum())} True")
    if box_sizes is None:
        largest = max(1, min(mask.shape) // 4)
        box_sizes = tuple(2**k for k in range(int(np.log2(largest)) + 1))
    box_sizes = tuple(check_int("box_sizes", size, 1) for size in box_sizes)
    if len(set(box_sizes)) < 2:  # a slope needs two different sizes
        raise ValueError(f"box_sizes must hold at least 2 different sizes, got {box_sizes}")
    counts = []
    for size in box_sizes:
        rows, cols = -(-mask.shape[0] // size), -(-mask.shape[1] // size)
        padded = np.zeros((rows * size, cols * size), dtype=bool)
        padded[: mask.shape[0], : mask.shape[1]] = mask
        counts.append(padded.reshape(rows, size, cols, size).any(axis=(1, 3)).sum())
    sizes, counts = np.asarray(box_sizes, dtype=float), np.asarray(counts, dtype=float)
    slope = np.polyfit(np.log(1.0 / sizes), np.log(counts), 1)[0]
    return BoxCounting(float(slope), sizes, counts)


# --- exponentially weighted moving average ------------------------------------------------------


def ewma(values: jax.typing.ArrayLike, decay: float, *, bias_correction: bool = False,
         axis: int = 0) -> jax.Array:
    """v_t = α·v_{t−1} + (1 − α)·g_t from v_0 = 0 along ``axis`` (α = ``decay``).

    Starting from 0 biases the first averages towards 0; ``bias_correction=True`` returns
    v_t / (1 − α^t) (Kingma & Ba 2015, §3), which starts at v̂_1 = g_1, and
    averages a constant series exactly.

    Args:
      values: the series g_t, time along ``axis``.
      decay: α in [0, 1).
      bias_correction: whether to divide by 1 − α^t.
      axis: the time axis of ``values``.

    Returns:
      The averages v_t, of ``values``' shape.

    Raises:
      ValueError: if ``decay`` is not in [0, 1).
    """
    check_in_range("decay", decay, 0.0, 1.0, high_closed=False)
    series = jnp.moveaxis(jnp.asarray(values, dtype=jnp.result_type(float)), axis, 0)

    def step(average, value):
        average = decay * average + (1.0 - decay) * value
        return average, average

    averages = jax.lax.scan(step, jnp.zeros_like(series[0]), series)[1]
    if bias_correction:
        t = jnp.arange(1, series.shape[0] + 1, dtype=averages.dtype)
        averages = averages / (1.0 - decay**t).reshape((-1,) + (1,) * (averages.ndim - 1))
    return jnp.moveaxis(averages, 0, axis)


# --- online learning: regret ---------------------------------------------------------------------


def regret(losses: jax.typing.ArrayLike, hindsight_losses: jax.typing.ArrayLike, *,
           axis: int = -1) -> np.ndarray:
    """R(T) = Σ_{t<=T} f_t(θ_t) − min_θ Σ_{t<=T} f_t(θ), for T = 1, 2, … along ``axis``.

    ``losses``: f_t(θ_t), the loss each round charged the learner, along ``axis``.
    ``hindsight_losses``: the best fixed point's cumulative loss min_θ Σ_{t<=T} f_t(θ) for each T,
    the same length (`best_fixed_linear_loss` computes it exactly for linear losses on a box).
    Zinkevich (2003) bounds it by O(√T) for online gradient descent on convex losses.

    Args:
      losses: f_t(θ_t), rounds along ``axis``.
      hindsight_losses: min_θ Σ_{t<=T} f_t(θ) for each T, as long as ``losses`` along ``axis``.
      axis: the round axis of both.

    Returns:
      The regret R(T), of ``losses``' shape.

    Raises:
      ValueError: if ``hindsight_losses`` has not one value per round.

    >>> regret([3.0, 1.0, 2.0], [1.0, 2.0, 2.5]).tolist()
    [2.0, 2.0, 3.5]
    """
    cumulative = np.cumsum(np.moveaxis(np.asarray(losses, dtype=float), axis, -1), axis=-1)
    hindsight = np.moveaxis(np.asarray(hindsight_losses, dtype=float), axis, -1)
    if hindsight.shape[-1] != cumulative.shape[-1]:
        raise ValueError(f"hindsight_losses must hold one value per round, "
                         f"{cumulative.shape[-1]} along axis {axis}, got {hindsight.shape[-1]}")
    return np.moveaxis(cumulative - hindsight, -1, axis)


def best_fixed_linear_loss(costs: jax.typing.ArrayLike,
                           bounds: tuple[tuple[float, float], ...]) -> np.ndarray:
    """min over the box ``bounds`` of Σ_{t<=T} ⟨c_t, θ⟩, for every T: exact, ``(..., T)``.

    ``costs`` ``(..., T, dim)`` are the rounds' linear losses f_t(θ) = ⟨c_t, θ⟩. A linear function
    is least at a corner of a box, coordinate by coordinate: Σ_i min(S_i·low_i, S_i·high_i) with
    S = Σ_{t<=T} c_t. The best point may change with T; each T gets its own.

    Args:
      costs: the cost vectors c_t, ``(..., T, dim)``.
      bounds: one ``(low, high)`` pair per coordinate, low <= high.

    Returns:
      The least cumulative loss for each T, ``(..., T)``.

    Raises:
      ValueError: if ``costs`` is not ``(..., T, dim)`` with dim = len(bounds), or a bound has
        low > high.
    """
    costs = np.asarray(costs, dtype=float)
    low, high = (np.asarray(b, dtype=float) for b in zip(*bounds))
    if costs.ndim < 2 or costs.shape[-1] != len(bounds):
        raise ValueError(f"costs must be a (..., T, {len(bounds)}) array (one bound per "
                         f"coordinate), got shape {costs.shape}")
    if np.any(low > high):
        raise ValueError(f"bounds must be (low, high) pairs with low <= high, got {bounds}")
    sums = np.cumsum(costs, axis=-2)
    return np.minimum(sums * low, sums * high).sum(axis=-1)


# --- the initial learning rate -------------------------------------------------------------------

#: Candidates of `suggest_learning_rate`: 1e-4 … 10, three per decade (a factor ≈ 2.15 apart,
#: about the factor of 2 to which Bengio (2012) says the learning rate needs tuning).
DEFAULT_LEARNING_RATES = tuple(float(10.0 ** (k / 3)) for k in range(-12, 4))


class LearningRateSuggestion(NamedTuple):
    """`suggest_learning_rate`'s answer and the evidence for it.

    learning_rate: the suggestion. best: the candidate with the lowest early loss.
    learning_rates ``(C,)``: the candidates, ascending. early_loss ``(C,)``: mean loss over the
    starts after the trial steps (``inf`` where a start diverged). start_loss: mean loss at the
    starts. diverged ``(C,)``: share of the starts that diverged.
    """

    learning_rate: float
    best: float
    learning_rates: np.ndarray
    early_loss: np.ndarray
    start_loss: float
    diverged: np.ndarray


def _check_learning_rates(learning_rates: tuple[float, ...] | None) -> np.ndarray:
    """The candidates, ascending, or a ValueError before any run."""
    rates = np.sort(np.asarray(DEFAULT_LEARNING_RATES if learning_rates is None
                               else learning_rates, dtype=float).reshape(-1))
    if rates.size < 2 or not np.all(np.isfinite(rates)) or rates[0] <= 0.0:
        raise ValueError(f"learning_rates must hold at least 2 finite rates > 0, got "
                         f"{learning_rates}")
    return rates


def suggest_learning_rate(optimizer: Callable[..., optax.GradientTransformation],
                          surface: Surface, starts: jax.typing.ArrayLike, *,
                          learning_rates: tuple[float, ...] | None = None, num_steps: int = 100,
                          steps_above: int = 1) -> LearningRateSuggestion:
    """An initial learning rate: one above the best after ~100 steps, if that one is stable.

    Runs ``optimizer`` (a factory taking ``learning_rate``, e.g. ``jl.sgd``) for ``num_steps``
    from every start at every candidate rate (one `jaxopt_lab.sweep` call), ranks the rates by the
    mean loss reached, and returns the candidate ``steps_above`` places above the best. The
    rate that wins after a hundred steps is usually smaller than the one that is best for the
    whole run (Goodfellow, Bengio & Courville 2016, §8.3.1), so go one above it — but never onto
    an unstable rate, one where a start diverged or the mean loss did not fall below the starts'
    (an instability that has not yet escaped), nor past the candidates: then the highest stable
    rate up to there. Candidates default to `DEFAULT_LEARNING_RATES`.

    Args:
      optimizer: a factory taking ``learning_rate`` and returning an optax transformation.
      surface: the `Surface` to run on.
      starts: starting points ``(P, dim)`` (or an object with ``points``).
      learning_rates: at least 2 finite candidates > 0; None: `DEFAULT_LEARNING_RATES`.
      num_steps: >= 1 trial steps per run.
      steps_above: >= 0 candidates to go above the best, if stable.

    Returns:
      A `LearningRateSuggestion`.

    Raises:
      ValueError: if an argument is out of range, or no candidate is stable.

    >>> import jaxopt_lab as jl
    >>> bowl = jl.surfaces.quadratic([[4.0, 0.0], [0.0, 1.0]])     # stable for η < 2/4
    >>> rates = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6)
    >>> suggestion = suggest_learning_rate(jl.sgd, bowl, [[1.0, 1.0]], learning_rates=rates,
    ...                                    num_steps=10)
    >>> suggestion.best, suggestion.learning_rate    # 0.3: the error factor max|1 − ηλ| is least
    (0.3, 0.45)
    """
    rates = _check_learning_rates(learning_rates)
    num_steps = check_int("num_steps", num_steps, 1)
    steps_above = check_int("steps_above", steps_above, 0)
    result = sweep(optimizer, surface, starts, num_steps, hyperparams={"learning_rate": rates},
                   progress=False)
    points = jnp.asarray(getattr(starts, "points", starts), dtype=result.loss.dtype)
    start_loss = float(np.mean(np.asarray(jax.vmap(surface.fn)(points))))
    diverged = np.mean(np.asarray(result.status) == Status.DIVERGED, axis=-1)
    early_loss = np.where(diverged > 0, np.inf, np.mean(np.asarray(result.loss), axis=-1))
    stable = early_loss < start_loss
    if not stable.any():
        raise ValueError(f"no candidate learning rate lowered the mean loss in {num_steps} steps "
                         f"without a start diverging (candidates {rates[0]:g} … {rates[-1]:g}): "
                         f"pass other learning_rates or more num_steps")
    best = int(np.argmin(np.where(stable, early_loss, np.inf)))
    chosen = best
    while chosen < min(best + steps_above, rates.size - 1) and stable[chosen + 1]:
        chosen += 1
    return LearningRateSuggestion(float(rates[chosen]), float(rates[best]), rates, early_loss,
                                  start_loss, diverged)
