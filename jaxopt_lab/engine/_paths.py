"""Whole paths of a few points of a sweep (``trajectories=``), recorded in pieces that fit.

The paths are run again by the scan with the sweep's own checks, so each path ends where its
point was frozen. A piece of `BLOCK_ALIGN` points (fewer where
`jaxopt_lab.engine._memory.path_piece_size` says the budget needs it) runs per call, padded
with its first point and the padding cut off: the piece's shape follows from the sweep alone,
not from how many paths are kept, so a path has the same bits whichever others are kept beside
it (XLA's code for a loop depends on its width), as in a share of a distributed sweep.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab.engine._memory import path_piece_size
from jaxopt_lab.engine._plan import BLOCK_ALIGN, SweepPlan
from jaxopt_lab.engine._scan import get_kernel
from jaxopt_lab.surfaces import Surface


def trajectories(optimizer: Any, surface: Surface, plan: SweepPlan, starts: jax.Array,
                 indices: np.ndarray | None, hyperparams: dict, budget: int
                 ) -> jax.Array | None:
    """``(…, S, num_steps + 1, dim)`` paths of the points ``indices`` of ``starts``, or None."""
    if indices is None:
        return None
    kernel = get_kernel(optimizer, surface, plan.kernel_config(record_trajectory=True))
    # The piece's shape follows from the sweep, not from the number of paths (a budget small
    # enough to need smaller pieces is the exception); few paths are kept, so a small piece.
    size = path_piece_size(
        num_paths=BLOCK_ALIGN, num_configs=plan.num_configs, num_steps=plan.num_steps,
        dim=surface.dim, itemsize=starts.dtype.itemsize, budget=budget)
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
