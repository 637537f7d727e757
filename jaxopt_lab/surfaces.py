"""Surfaces to minimize: the `Surface` description and the catalogue (`get`, `names`).

A `Surface` is immutable and hashable, so it can be a static argument of `jax.jit`: the sweep
engine compiles once per (optimizer, surface, shapes).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import numpy as np

Points = tuple[tuple[float, ...], ...]


@dataclasses.dataclass(frozen=True)
class Surface:
    """A loss surface ``fn: (dim,) -> scalar`` with what a sweep needs to judge an outcome.

    Attributes:
      name: catalogue name.
      fn: the loss, written in ``jax.numpy``; finite gradients everywhere in ``bounds``.
      dim: number of coordinates.
      bounds: ``((low, high),) * dim``: the box to draw and to sample starting points from.
      minima: known local and global minimizers, one tuple of ``dim`` floats each.
      f_min: the global minimum value (``None`` if unknown).
      saddles: known saddle points.
      escape_radius: a run whose point gets farther than this from the origin counts as diverged.
    """

    name: str
    fn: Callable[[jax.Array], jax.Array] = dataclasses.field(repr=False)
    dim: int
    bounds: tuple[tuple[float, float], ...]
    minima: Points = ()
    f_min: float | None = None
    saddles: Points = ()
    escape_radius: float = math.inf

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
