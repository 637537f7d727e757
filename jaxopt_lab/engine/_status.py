"""`Status`: how one starting point of a sweep ended, as its int8 code."""
from __future__ import annotations

import enum

import jax.numpy as jnp


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
