"""`Engine`: how `jl.sweep` runs (backend, layout, chunks, batches, devices, where the result
goes), not what it computes."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax

from jaxopt_lab._validation import check_choice, check_int

#: Engines that run a sweep (``Engine.backend``).
BACKENDS = ("auto", "scan", "fused")
#: How the scan backend holds a batch of points (``Engine.layout``).
LAYOUTS = ("array", "coordinates")
#: Which process receives the whole result under ``jax.distributed`` (``Engine.gather``).
GATHER_MODES = ("all", "first", "none")


@dataclasses.dataclass(frozen=True)
class Engine:
    """Tuning of `jl.sweep`: every field's default (``None``) is chosen per device and sweep.

    ``jl.sweep(..., engine=jl.Engine(backend="scan", chunk_size=4096))``. What was chosen is in
    ``result.metadata`` under the same names (and ``backend_reason``, ``block_points``,
    ``block_configs``).

    Attributes:
      backend: ``"scan"`` (``jit(vmap(scan))``), ``"fused"`` (each block of points runs every
        step inside one Pallas kernel; elementwise optimizers only, surfaces up to 16-D;
        interpreted, hence slow, off a GPU) or ``"auto"``: fused on a GPU where the combination
        compiles, scan otherwise (on a GPU a fallback to scan also warns).
      layout: ``"array"`` ((P, dim)) or ``"coordinates"`` (one (P,) array per coordinate) for
        the scan backend. Default: array on a CPU unless every step is checked, coordinates on
        accelerators; always array for an optimizer whose update mixes a point's coordinates (a
        per-leaf norm, as in LAMB), which the coordinates layout refuses.
      unroll: the scan's unroll; default 1 on a CPU, 8 on accelerators.
      check_every: judge points (status, steps, freezing) only every this many steps, at step 0
        and at ``num_steps`` (and at each ``record_loss_every`` step); the steps between are the
        bare optimizer loop. ``steps`` is then the first *check* step meeting a criterion, and a
        point that went non-finite between checks is frozen at the last check where it was
        finite. ``1`` checks every step (exact steps, and several times slower on a CPU).
        Default ``num_steps // 40`` within [1, 100] (exact below 80 steps), at most
        ``num_steps``.
      chunk_size: points per chunk, rounded up to a multiple of the device count and at most
        ``P`` (so rounded); default from ``memory_budget`` and, on a CPU, about a second of work
        per chunk, so the progress bar moves and Ctrl-C is honoured between chunks. A chunk
        runs as calls of one fixed block of points and settings, chosen from the sweep alone
        (``block_points`` and ``block_configs`` in the metadata), so the chunk size, the
        batches and the number of devices change no bit of the result on a CPU.
      batches: on a CPU, how many of a chunk's blocks run side by side, one thread each.
        Default: one per core (at most the chunk's blocks); ``1`` runs them one after another,
        as on accelerators, which run a whole chunk per call. Changes only the speed.
      memory_budget: bytes a chunk may plan to use; default a quarter of the device memory, or
        1 GiB where the device does not say.
      devices: devices of this process to shard the point axis over (default all of
        ``jax.local_devices()``). Under ``jax.distributed`` the engine shares the chunks
        between the processes itself, so another process's devices are refused.
      gather: which processes receive the whole result under ``jax.distributed``: ``"all"``
        (every process), ``"first"`` (process 0; every other process returns only its own
        share of the points, as with ``"none"``, and never holds more than its share and one
        chunk per process), or ``"none"`` (every process returns only its own contiguous share,
        to be saved and joined by `SweepResult.concatenate`). A result's
        ``metadata["first_point"]``, ``["num_points"]`` and ``["total_points"]`` say which of
        the starts it holds. In one process every mode returns the whole result. It changes
        where the points end up, never their bits, and a checkpoint resumes under any mode.
    """

    backend: str = "auto"
    layout: str | None = None
    unroll: int | None = None
    check_every: int | None = None
    chunk_size: int | None = None
    batches: int | None = None
    memory_budget: int | None = None
    devices: Sequence[jax.Device] | None = None
    gather: str = "all"

    def __post_init__(self):
        check_choice("backend", self.backend, BACKENDS)
        check_choice("gather", self.gather, GATHER_MODES)
        if self.layout is not None:
            check_choice("layout", self.layout, LAYOUTS)
        for name in ("unroll", "check_every", "chunk_size", "batches", "memory_budget"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
        if self.devices is not None:
            object.__setattr__(self, "devices", tuple(self.devices))
            if not self.devices:
                raise ValueError("devices must hold at least one jax.Device, got none")
