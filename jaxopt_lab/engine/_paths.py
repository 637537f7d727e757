"""Whole paths of a few points of a sweep (``trajectories=``), recorded in pieces that fit.

The paths are run again by the scan with the sweep's own checks, so each path ends where its
point was frozen. A piece of at most a block's points (fewer where
`jaxopt_lab.engine._memory.path_piece_size` says the budget needs it) runs per call;
the last piece is padded with its first point (one shape, one compile) and the padding cut off.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab.engine._memory import path_piece_size
from jaxopt_lab.engine._plan import SweepPlan
from jaxopt_lab.engine._scan import get_kernel
from jaxopt_lab.surfaces import Surface


def trajectories(optimizer: Any, surface: Surface, plan: SweepPlan, starts: jax.Array,
                 indices: np.ndarray | None, hyperparams: dict, budget: int
                 ) -> jax.Array | None:
    """``(…, S, num_steps + 1, dim)`` paths of the points ``indices`` of ``starts``, or None."""
    if indices is None:
        return None
    kernel = get_kernel(optimizer, surface, plan.kernel_config(record_trajectory=True))
    # At most a block of the sweep: the piece's shape then follows from the sweep, not from
    # the budget (a budget small enough to need smaller pieces is the exception).
    size = min(plan.block.points, path_piece_size(
        num_paths=len(indices), num_configs=plan.num_configs, num_steps=plan.num_steps,
        dim=surface.dim, itemsize=starts.dtype.itemsize, budget=budget))
    axis = plan.point_axis
    pieces = []
    for begin in range(0, len(indices), size):
        piece = indices[begin:begin + size]
        padded = np.concatenate([piece, np.repeat(piece[:1], size - len(piece))])
        settings = ({name: jnp.asarray(value)[padded] for name, value in hyperparams.items()}
                    if plan.per_point_hyperparams else hyperparams)
        paths = kernel(starts[padded], settings)["trajectory"]
        # Waited for piece by piece: the next one's memory is not asked for before this is done.
        pieces.append(jax.block_until_ready(
            paths[(slice(None),) * axis + (slice(0, len(piece)),)]))
    return pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces, axis=axis)
