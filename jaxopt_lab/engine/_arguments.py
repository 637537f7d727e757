"""The checks `jl.sweep` runs on its arguments before any work: `check_sweep_arguments`.

Every refusal names the argument (``hyperparams['learning_rate']``, ``metadata['num_steps']``)
and what it may be, and nothing is silently changed: integer starts become floats exactly or
are refused, complex numbers are refused rather than losing their imaginary part. NaN and
infinite *starts* are data (such a point is DIVERGED at step 0), not errors.

>>> check_starts([[1 + 1j, 0.0]], 2)
Traceback (most recent call last):
...
TypeError: starts must be real numbers, got complex values
>>> check_metadata({"num_steps": 999})
Traceback (most recent call last):
...
ValueError: metadata['num_steps'] is one of the engine's own entries of result.metadata; use another key
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import check_bool, check_int, check_tolerance, real_array
from jaxopt_lab.engine._divergence import DivergenceRule
from jaxopt_lab.engine._options import Engine
from jaxopt_lab.engine._plan import Criteria
from jaxopt_lab.surfaces import Surface

#: Share of the bounds' diagonal within which a final point counts as in a minimum's basin.
BASIN_FRACTION = 0.01
#: Most steps a sweep may run: a point's stop is carried as one int32 ``2 t + diverged``
#: (`jaxopt_lab.engine._rules.stop_code`), which holds ``t`` up to ``2**30 - 1``. An int64 code
#: would need ``jax_enable_x64``, which a float32 sweep does not turn on.
MAX_NUM_STEPS = 2**30 - 1
#: The entries `jl.sweep` writes into ``result.metadata`` itself (what ran, how, where); a
#: caller's ``metadata`` adds entries beside them and may not replace one.
ENGINE_METADATA_KEYS = frozenset({
    "optimizer", "hyperparams", "surface", "num_points", "num_steps", *Criteria._fields,
    "record_loss_every", "layout", "unroll", "check_every", "chunk_size", "block_points",
    "block_configs", "batches", "dtype", "backend", "jax", "jaxlib", "optax", "device", "num_devices",
    "chunks_loaded", "backend_reason", "num_processes", "global_device_count", "first_point",
    "total_points", "hyperparams_per_point", "divergence",
})


class SweepArguments(NamedTuple):
    """`jl.sweep`'s arguments, checked and converted."""

    starts: jax.Array
    num_steps: int
    hyperparams: dict[str, np.ndarray] | None
    criteria: Criteria
    record_loss_every: int | None
    trajectory_indices: np.ndarray | None
    metadata: dict[str, Any]
    hyperparams_per_point: bool = False
    divergence: DivergenceRule | None = None


def check_objects(surface: Any, engine: Any) -> None:
    """``surface`` a `Surface`, ``engine`` an `Engine` (or None) whose devices are devices."""
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a jaxopt_lab.surfaces.Surface, got "
                        f"{type(surface).__name__}")
    if not isinstance(engine, (Engine, type(None))):
        raise TypeError(f"engine must be a jaxopt_lab.Engine, got {type(engine).__name__}")
    if engine is not None and engine.devices is not None:
        for device in engine.devices:
            if not isinstance(device, jax.Device):
                raise TypeError(f"Engine devices must be jax.Device objects (jax.devices()), "
                                f"got {type(device).__name__} {device!r}")


def _source_kind(points: Any) -> str:
    """NumPy's kind of ``points`` as given: ``"O"`` for Python ints beyond int64."""
    try:
        return np.asarray(points).dtype.kind
    except (OverflowError, TypeError, ValueError):
        return "O"


def check_starts(starts: Any, dim: int) -> jax.Array:
    """``starts`` (or ``starts.points``) as a ``(P, dim)`` float array, P >= 1.

    A jax float array is taken as it is; anything else is converted exactly through float64 to
    its own float dtype (as JAX holds it) or, for integers, JAX's default float, and a finite
    number beyond that dtype's range is refused, never wrapped or rounded to infinity. Bools,
    complex numbers, strings and objects are refused. NaN and ±inf starts are data.
    """
    points = getattr(starts, "points", starts)
    if isinstance(points, jax.Array) and jnp.issubdtype(points.dtype, jnp.floating):
        array = points
    else:
        if isinstance(points, jax.Array):
            points = np.asarray(points)
        kind = _source_kind(points)
        floats = real_array("starts", points, finite=False)
        own = getattr(points, "dtype", None)
        dtype = jax.dtypes.canonicalize_dtype(
            own if own is not None and jnp.issubdtype(own, jnp.floating) else float)
        limit = float(jnp.finfo(dtype).max)
        finite = np.isfinite(floats)
        # Integers have no NaN or inf of their own: an infinite one overflowed converting.
        beyond = (np.abs(np.where(finite, floats, 0.0)) > limit) | (~finite & (kind != "f"))
        if np.any(beyond):
            shown = floats[beyond].ravel()[0]
            shown = f"{shown:g}" if np.isfinite(shown) else "an integer beyond float64"
            raise ValueError(f"starts must be numbers within {np.dtype(dtype).name}'s range "
                             f"(|x| <= {limit:.4g}; NaN and inf starts are data), got {shown}")
        array = jnp.asarray(floats.astype(dtype))
    if array.ndim != 2 or array.shape[1] != dim or array.shape[0] < 1:
        raise ValueError(f"starts must be a (P, {dim}) array with P >= 1 (surface dim {dim}), "
                         f"got shape {array.shape}")
    return array


def check_num_steps(num_steps: Any) -> int:
    """``num_steps`` as an int in ``[1, MAX_NUM_STEPS]``."""
    return check_int("num_steps", num_steps, 1, MAX_NUM_STEPS)


def _hyperparam(name: str, value: Any) -> np.ndarray:
    label = f"hyperparams[{name!r}]"
    floats = real_array(label, value, finite=False)
    try:
        array = np.asarray(value)
    except (OverflowError, ValueError):  # Python ints beyond int64: as floats
        array = floats
    # Numbers keep their dtype (a float32 grid stays float32, integers stay integers).
    array = array if array.dtype.kind in "iuf" or array.dtype == jnp.bfloat16 else floats
    if array.ndim != 1 or array.shape[0] < 1:
        raise ValueError(f"{label} must be a 1-D array of C >= 1 values (one per configuration "
                         f"of the grid), got shape {array.shape}")
    return array


def check_hyperparams(hyperparams: Any) -> dict[str, np.ndarray] | None:
    """``{name: (C,) array}`` with string names and one common length C >= 1, or None.

    NaN and ±inf are left to the optimizer's own range checks (some hyperparameters take inf).
    """
    if hyperparams is None:
        return None
    if not isinstance(hyperparams, Mapping):
        raise TypeError(f"hyperparams must be a mapping {{name: (C,) array}}, got "
                        f"{type(hyperparams).__name__}")
    arrays = {}
    for name, value in hyperparams.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"hyperparams keys must be argument names (str), got {name!r}")
        arrays[name] = _hyperparam(name, value)
    lengths = {name: array.shape[0] for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"hyperparams must be 1-D arrays of one common length C >= 1, got "
                         f"lengths {lengths}")
    return arrays


def check_per_point(hyperparams: dict[str, np.ndarray] | None, per_point: Any,
                    num_points: int) -> bool:
    """``hyperparams_per_point`` a bool; if True, ``hyperparams`` given, each of length P."""
    per_point = check_bool("hyperparams_per_point", per_point)
    if not per_point:
        return False
    if hyperparams is None:
        raise TypeError("hyperparams_per_point=True pairs each start with its own "
                        "hyperparameters: pass hyperparams={name: (P,) array} and a factory")
    for name, array in hyperparams.items():
        if array.shape[0] != num_points:
            raise ValueError(f"hyperparams[{name!r}] must hold one value per start with "
                             f"hyperparams_per_point=True: shape ({num_points},), got "
                             f"{array.shape}")
    return True


def check_divergence(divergence: Any) -> DivergenceRule | None:
    """``divergence`` a `DivergenceRule` of three callables, or None."""
    if divergence is None:
        return None
    if not isinstance(divergence, DivergenceRule) or not all(map(callable, divergence)):
        raise TypeError(f"divergence must be a jaxopt_lab.engine.DivergenceRule(init, update, "
                        f"diverged) of functions, or None, got {type(divergence).__name__}")
    return divergence


def _tolerance(name: str, value: Any, default: float) -> float:
    if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0 \
            and np.dtype(value.dtype).kind in "iuf":
        value = float(value)
    return check_tolerance(name, value, default)


def check_criteria(surface: Surface, dtype: Any, gtol: Any, xtol: Any,
                   basin_radius: Any) -> Criteria:
    """`Criteria`, each a finite number >= 0; the defaults are documented in `jl.sweep`."""
    sqrt_eps = float(np.sqrt(np.finfo(dtype).eps))
    diagonal = float(np.linalg.norm(surface.upper - surface.lower))
    return Criteria(_tolerance("gtol", gtol, sqrt_eps), _tolerance("xtol", xtol, sqrt_eps),
                    _tolerance("basin_radius", basin_radius, BASIN_FRACTION * diagonal))


def check_trajectories(trajectories: Any, num_points: int) -> np.ndarray | None:
    """Indices into the starts, 1-D, integers in ``[0, P)`` (repeats give repeated paths)."""
    if trajectories is None:
        return None
    if isinstance(trajectories, (str, bytes, Mapping)):
        raise TypeError(f"trajectories must be a 1-D sequence of point indices, got "
                        f"{type(trajectories).__name__}")
    try:
        indices = np.asarray(trajectories)
    except (TypeError, ValueError, OverflowError):  # ragged, or ints beyond int64
        raise ValueError(f"trajectories must be a 1-D sequence of point indices in [0, "
                         f"{num_points}), got {_short(trajectories)}") from None
    if indices.dtype == object and all(isinstance(i, int) and not isinstance(i, bool)
                                       for i in indices.ravel()):  # Python ints beyond int64
        raise ValueError(f"trajectories must be a 1-D sequence of point indices in [0, "
                         f"{num_points}), got {_short(trajectories)}")
    if indices.dtype.kind not in "iu" and indices.size:
        raise TypeError(f"trajectories must be integer point indices in [0, {num_points}), got "
                        f"{_kind(indices)}")
    if indices.ndim != 1 or indices.size < 1:
        raise ValueError(f"trajectories must be a 1-D sequence of at least one point index in "
                         f"[0, {num_points}), got shape {indices.shape}")
    if indices.min() < 0 or indices.max() >= num_points:
        bad = indices[(indices < 0) | (indices >= num_points)][0]
        raise ValueError(f"trajectories must be a 1-D sequence of point indices in [0, "
                         f"{num_points}), got {bad}")
    return indices.astype(np.int64)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(array: np.ndarray) -> str:
    return {"b": "bools", "f": "floats", "c": "complex values"}.get(
        array.dtype.kind, f"{array.dtype.name} values")


def check_metadata(metadata: Any) -> dict[str, Any]:
    """``metadata`` as a dict: str keys, none of `ENGINE_METADATA_KEYS`, JSON-serializable."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping of str keys to JSON values, got "
                        f"{type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be str, got {key!r}")
        if key in ENGINE_METADATA_KEYS:
            raise ValueError(f"metadata[{key!r}] is one of the engine's own entries of "
                             "result.metadata; use another key")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"metadata[{key!r}] must be JSON-serializable (str, numbers, "
                            f"bools, None, lists, dicts with str keys): {error}") from None
    return dict(metadata)


def check_checkpoint_and_progress(checkpoint: Any, progress: Any) -> None:
    """``checkpoint`` a directory path or None; ``progress`` True, False or None."""
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a directory path (str or os.PathLike) or None, got "
                        f"{type(checkpoint).__name__}")
    if progress is not None:
        check_bool("progress", progress)


def check_sweep_arguments(surface: Any, starts: Any, num_steps: Any, *, hyperparams: Any,
                          gtol: Any, xtol: Any, basin_radius: Any, record_loss_every: Any,
                          trajectories: Any, checkpoint: Any, progress: Any, metadata: Any,
                          engine: Any, hyperparams_per_point: Any = False,
                          divergence: Any = None) -> SweepArguments:
    """Every argument of `jl.sweep` but the optimizer (`jaxopt_lab.engine._inspect`), checked."""
    check_objects(surface, engine)
    points = check_starts(starts, surface.dim)
    num_steps = check_num_steps(num_steps)
    if record_loss_every is not None:
        record_loss_every = check_int("record_loss_every", record_loss_every, 1, num_steps)
    check_checkpoint_and_progress(checkpoint, progress)
    hyperparams = check_hyperparams(hyperparams)
    return SweepArguments(
        starts=points, num_steps=num_steps, hyperparams=hyperparams,
        criteria=check_criteria(surface, points.dtype, gtol, xtol, basin_radius),
        record_loss_every=record_loss_every,
        trajectory_indices=check_trajectories(trajectories, points.shape[0]),
        metadata=check_metadata(metadata),
        hyperparams_per_point=check_per_point(hyperparams, hyperparams_per_point,
                                              points.shape[0]),
        divergence=check_divergence(divergence))


__all__ = ["ENGINE_METADATA_KEYS", "MAX_NUM_STEPS", "SweepArguments", "check_sweep_arguments"]
