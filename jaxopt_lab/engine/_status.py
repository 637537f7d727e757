"""Type aliases shared across the library, and the per-point outcome of a sweep."""
from __future__ import annotations

import enum
from typing import Callable

import jax
import jax.numpy as jnp
import optax

Array = jax.Array
ArrayLike = jax.typing.ArrayLike
Params = optax.Params
Updates = optax.Updates
ScalarOrSchedule = optax.ScalarOrSchedule
#: A loss of one parameter pytree, as the ``value_fn`` extra arg carries it.
ValueFn = Callable[[optax.Params], jax.Array]


class Status(enum.IntEnum):
    """Outcome of one starting point of a sweep, stored as ``int8``.

    ``UNFINISHED``: ran all steps without meeting the convergence criterion (it may be
    oscillating, crawling, or stuck near a saddle). ``CONVERGED``: met it (gradient small or
    close to a known minimum). ``DIVERGED``: a non-finite value appeared, or the point left the
    surface's escape radius. Divergence is a result, never an exception.
    """

    UNFINISHED = 0
    CONVERGED = 1
    DIVERGED = 2


STATUS_DTYPE = jnp.int8
