"""`Surface`: what a sweep minimizes (function, box, minima, saddles); immutable, hashable."""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import numpy as np

from jaxopt_lab._validation import check_int, real_array

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
    """``factor`` times the distance from the origin to the farthest corner of ``bounds``.

    Args:
      bounds: the box, one ``(low, high)`` pair per coordinate.
      factor: the multiple of the farthest corner's distance; default `ESCAPE_FACTOR`.

    Returns:
      The escape radius, a float.
    """
    corner = [max(abs(low), abs(high)) for low, high in bounds]
    return float(factor * math.hypot(*corner))


def make_surface(name: str, fn: Callable, bounds: Bounds, **fields) -> Surface:
    """A `Surface` whose ``dim`` and default ``escape_radius`` follow from ``bounds``.

    Args:
      name: the surface's catalogue name.
      fn: the loss ``(dim,) -> scalar``, written in ``jax.numpy``.
      bounds: the box, one ``(low, high)`` pair per coordinate; its length sets ``dim``.
      **fields: further `Surface` fields (``minima``, ``f_min``, ``saddles``,
        ``minima_values``, ``escape_radius``); ``escape_radius`` defaults to
        `escape_radius_for` (``bounds``).

    Returns:
      The `Surface`, its fields checked and normalized.

    Raises:
      TypeError: if ``name`` is not a str or ``fn`` is not callable.
      ValueError: if ``bounds`` or a field is malformed (a pair with low >= high, points of
        the wrong dimension, a non-positive ``escape_radius``, ...).
    """
    bounds = tuple((float(low), float(high)) for low, high in bounds)
    fields.setdefault("escape_radius", escape_radius_for(bounds))
    return Surface(name=name, fn=fn, dim=len(bounds), bounds=bounds, **fields)

def _as_tuple(array) -> tuple:
    return tuple(_as_tuple(row) for row in array) if np.ndim(array) else float(array)
