"""The plan of a sweep, decided before anything compiles: `SweepPlan` from `make_plan`.

`make_plan` turns a sweep's checked arguments and its `jaxopt_lab.Engine` options into one frozen
`SweepPlan`: check interval, point layout and unroll, chunk size, the block one kernel call
runs, how many run side by side, and the devices. Every choice the options leave open has its default here,
per platform (benchmarks/README.md records the measurements behind them):

- layout: one ``(P,)`` array per coordinate lets XLA fuse a GPU's unrolled steps into one
  elementwise kernel; on a CPU the interleaved ``(P, dim)`` array vectorizes better. Points are
  judged only every ``check_every`` steps, between which the engine runs exactly the bare loop,
  so the fastest bare layout is also the engine's; checking every step costs far less in the
  coordinates layout (no sum over coordinates broadcast back as the freeze mask).
- blocks: each call of the scan kernel runs one fixed block of points (and of a grid's
  settings), `choose_block`: the same shape whatever the machine, chunk size or device count,
  so every point runs the same compiled code and the results are the same bit for bit. A chunk
  is cut into blocks, run side by side on a thread per core (``Engine.batches``) and, with
  several devices, one block per device per call.
- chunks: as many points as fit the memory budget and, on a CPU, about a second of work, so the
  progress bar moves and Ctrl-C is honoured between chunks.

Extra-args optimizers (Newton, BFGS, Levenberg-Marquardt) solve ``dim × dim`` systems on whole
parameter vectors, so they always default to the array layout.

>>> choose_check_every("cpu", 1000), choose_layout("cpu", 25), choose_unroll("cpu")
(25, 'array', 1)
>>> choose_layout("cpu", check_every=1), choose_layout("gpu", 1, dim=1210)
('coordinates', 'array')
>>> choose_layout("gpu", 100), choose_unroll("gpu")
('coordinates', 8)
>>> chunk_size_for(num_points=1000, bytes_per_point=64, memory_budget=6400, num_devices=4)
100
"""
from __future__ import annotations

import dataclasses
import os
from typing import NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxopt_lab.engine._errors import EngineOptionError
from jaxopt_lab.engine._options import Engine
from jaxopt_lab.engine._scan import KernelConfig
#: Default memory budget when the device does not report its size: small enough for a laptop.
DEFAULT_MEMORY_BUDGET = 1 << 30
#: Share of a device's reported memory a sweep may plan to use: XLA needs the rest for scratch.
DEVICE_MEMORY_FRACTION = 0.25
#: Factor for temporaries XLA keeps alive beside the carry (gradients, updates, unrolled steps).
WORKSPACE_FACTOR = 4
#: Name of the device mesh axis the points are sharded over.
MESH_AXIS = "points"
ACCELERATORS = ("gpu", "cuda", "rocm", "tpu")
#: Checks per run by default: ``steps`` then resolves 1/40 of the run (2.5 %), enough for the
#: paler-is-slower shading of a map and for steps-to-converge comparisons.
CHECKS_PER_RUN = 40
#: Cap on the default interval: beyond it a check (one value-and-gradient, the tests, the freeze)
#: costs nothing visible next to the steps between (benchmarks/README.md). The same rule on every
#: platform, so a sweep gives the same results everywhere.
MAX_CHECK_EVERY = 100
#: Above this many coordinates the per-coordinate layout means a tuple of that many arrays, which
#: XLA handles far worse than one (P, dim) array.
MAX_COORDINATES_DIM = 16


def choose_check_every(backend: str, num_steps: int) -> int:
    """Steps between checks: ``num_steps // CHECKS_PER_RUN`` within ``[1, MAX_CHECK_EVERY]``.

    Short runs are judged every step (exact ``steps``); long runs every 1/40 of the run, which
    is where the bookkeeping stops being visible next to the bare loop.

    >>> choose_check_every("cpu", 30), choose_check_every("cpu", 500), choose_check_every("cpu", 10**5)
    (1, 12, 100)
    """
    del backend  # one rule today; the argument keeps the hook for per-backend measurements
    return int(np.clip(num_steps // CHECKS_PER_RUN, 1, MAX_CHECK_EVERY))


def choose_layout(backend: str, check_every: int = 1, dim: int = 2) -> str:
    """``"array"`` on a CPU when checks are sparse or past `MAX_COORDINATES_DIM`, else coordinates.

    On a CPU the bare loop is fastest as a ``(P, dim)`` array, and with ``check_every > 1`` the
    engine runs the bare loop. Checking every step in that layout costs several times the step
    (a sum over coordinates broadcast back as the freeze mask), in the coordinates layout a
    fraction of it, so ``check_every=1`` uses coordinates. On accelerators coordinates with
    unroll 8 fuse into one kernel. `make_plan` falls back to ``"array"`` for a transformation
    that cannot take a tuple of scalars.
    """
    if dim > MAX_COORDINATES_DIM or (backend not in ACCELERATORS and check_every > 1):
        return "array"
    return "coordinates"


def choose_unroll(backend: str) -> int:
    """Scan unroll: 8 on accelerators (fuses the steps), 1 on CPU (fastest there)."""
    return 8 if backend in ACCELERATORS else 1


#: Numbers (points × configurations × coordinates) one call of the scan kernel holds on a CPU.
#: XLA compiles a loop over an array into code that depends on the array's shape (how it tiles
#: and splits the loop), and the same point in a call of another shape can round differently in
#: the last bits, which a chaotic surface amplifies into another status. So every call runs one
#: *block* of this fixed size, decided by the sweep's own arguments alone, never by the machine,
#: the chunk size or the device count; blocks of this size also run fastest
#: (benchmarks/README.md).
BLOCK_NUMBERS = 2048
#: Block sizes are multiples of this many points: every point of a block then runs in the same
#: vector lanes as in any other block of its shape, none in a scalar tail loop.
BLOCK_ALIGN = 64


def cpu_workers() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class Block(NamedTuple):
    """What one call of the scan kernel runs on each device: ``points`` points (padded) of
    ``configs`` of a grid's configurations (1 without a grid)."""

    points: int
    configs: int


def choose_block(num_points: int, num_configs: int, dim: int) -> Block:
    """The fixed block of a sweep on a CPU: about `BLOCK_NUMBERS` numbers, whole multiples of
    `BLOCK_ALIGN` points (padded), then as many configurations of a grid as fit beside them.

    A function of the sweep alone, so that every machine runs every point in the same code.

    >>> choose_block(65536, 1, 2), choose_block(300, 1, 2), choose_block(10, 1, 100)
    (Block(points=1024, configs=1), Block(points=320, configs=1), Block(points=64, configs=1))
    >>> choose_block(16, 4096, 2)  # a 64 × 64 grid of settings over 16 starts
    Block(points=64, configs=16)
    """
    whole = -(-num_points // BLOCK_ALIGN) * BLOCK_ALIGN
    fitting = max(BLOCK_NUMBERS // dim // BLOCK_ALIGN, 1) * BLOCK_ALIGN
    points = min(whole, fitting)
    return Block(points, min(num_configs, max(BLOCK_NUMBERS // (dim * points), 1)))


def default_memory_budget(device: jax.Device) -> int:
    """A quarter of the device's memory where it reports it, else `DEFAULT_MEMORY_BUDGET`."""
    try:
        limit = (device.memory_stats() or {}).get("bytes_limit")
    except Exception:  # backends without memory_stats raise various errors
        limit = None
    return int(limit * DEVICE_MEMORY_FRACTION) if limit else DEFAULT_MEMORY_BUDGET


def bytes_per_point(dim: int, state_size: int, itemsize: int, *, num_configs: int = 1,
                    loss_records: int = 0) -> int:
    """Bytes one starting point occupies during a chunk: carry, outputs and XLA's workspace."""
    # params, start, grad, update: 4·dim; status/steps/basin/loss/flags: ~6 numbers.
    numbers = 4 * dim + state_size + loss_records + 6
    return int(num_configs * numbers * itemsize * WORKSPACE_FACTOR)


#: Point-steps per chunk on a CPU (about a second of work there): the progress bar moves and
#: Ctrl-C is honoured between chunks, since Python sees a signal only when a compiled call
#: returns.
CPU_POINT_STEPS_PER_CHUNK = 2**26
#: Floor of that bound: smaller chunks would be dominated by the per-call cost.
MIN_RESPONSIVE_CHUNK = 1024


def responsive_points(backend: str, point_steps: int) -> int | None:
    """Most points per chunk for about a second of work on a CPU; ``None`` (no bound) elsewhere.

    ``point_steps`` is the work one point brings: steps times hyperparameter configurations.
    Accelerators finish a whole memory-sized chunk in well under a second.

    >>> responsive_points("cpu", 20_000), responsive_points("cpu", 10**6), responsive_points("gpu", 10)
    (3355, 1024, None)
    """
    if backend in ACCELERATORS:
        return None
    return max(MIN_RESPONSIVE_CHUNK, CPU_POINT_STEPS_PER_CHUNK // max(int(point_steps), 1))


def chunk_size_for(num_points: int, bytes_per_point: int, memory_budget: int,
                   num_devices: int = 1, max_points: int | None = None) -> int:
    """Points per chunk: as many as fit ``memory_budget`` (and ``max_points``), a multiple of
    ``num_devices``.

    A sweep that fits in one chunk gets ``num_points`` rounded up to the device count (the
    padding is discarded), so small sweeps run in a single call.
    """
    fitting = max(int(memory_budget) // max(int(bytes_per_point), 1), 1)
    if max_points is not None:
        fitting = min(fitting, int(max_points))
    whole = -(-num_points // num_devices) * num_devices
    if fitting >= whole:
        return whole
    return max(fitting // num_devices, 1) * num_devices


def point_sharding(devices=None) -> NamedSharding:
    """Sharding of the leading (point) axis over ``devices`` (default: all local devices).

    Under ``jax.distributed`` each process shards over its own local devices only; see the
    multi-host note in `jaxopt_lab.engine._api`.
    """
    devices = jax.local_devices() if devices is None else list(devices)
    mesh = Mesh(np.asarray(devices), (MESH_AXIS,))
    return NamedSharding(mesh, PartitionSpec(MESH_AXIS))


def replicated(sharding: NamedSharding) -> NamedSharding:
    """The same mesh, nothing split (hyperparameters: every device needs all of them)."""
    return NamedSharding(sharding.mesh, PartitionSpec())


class Criteria(NamedTuple):
    """What counts as converged, and how near a minimum a final point lies in its basin."""

    gtol: float
    xtol: float
    basin_radius: float


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """Everything decided about a sweep before it runs, from its arguments, its `Engine` options
    and the device; nothing is compiled to decide it (`make_plan`)."""

    num_points: int
    num_steps: int
    hyperparam_names: tuple[str, ...]
    num_configs: int
    criteria: Criteria
    record_loss_every: int | None
    layout: str
    unroll: int
    check_every: int
    chunk_size: int
    #: What one call of the scan backend runs per device (the fused backend runs whole chunks).
    block: Block
    #: Calls of a chunk run side by side (threads): ``Engine.batches`` or the cores.
    batches: int
    #: ``Engine.batches`` as asked for (more than 1 is an error with the fused backend).
    requested_batches: int | None
    #: Each device runs the one-device kernel on its own blocks (several CPU devices: XLA
    #: partitions a program for several devices into other code than for one, which rounds
    #: otherwise) rather than one call split over a mesh (accelerators, the fused backend).
    blocks_per_device: bool
    devices: tuple
    backend: str  # as asked for: "auto", "scan" or "fused"
    #: One hyperparameter value per point (``jl.sweep(hyperparams_per_point=True)``): they are
    #: cut into chunks and blocks with the points, and the outputs have no configuration axis.
    per_point_hyperparams: bool = False
    #: The sweep's `jaxopt_lab.engine.DivergenceRule`, or None.
    divergence: object = None

    @property
    def platform(self) -> str:
        return self.devices[0].platform

    @property
    def point_axis(self) -> int:
        """Axis of the points in every output: after the configurations of a grid."""
        return 1 if self.hyperparam_names and not self.per_point_hyperparams else 0

    def kernel_config(self, record_trajectory: bool = False) -> KernelConfig:
        """What a kernel compiles in: everything static about the per-point program."""
        return KernelConfig(self.num_steps, *self.criteria, self.layout, self.unroll,
                            self.record_loss_every, record_trajectory, self.hyperparam_names,
                            self.check_every, per_point_hyperparams=self.per_point_hyperparams,
                            divergence=self.divergence)

    def whole_chunks(self, backend: str) -> SweepPlan:
        """This plan with one call per chunk, for ``backend`` (the fused one takes no batches)."""
        if (self.requested_batches or 1) > 1:
            raise EngineOptionError(
                "batches", f"batches={self.requested_batches} runs a chunk's blocks side by side "
                f"for the scan backend; this sweep runs the {backend} backend, one call per "
                "chunk: use batches=1 or the default")
        return dataclasses.replace(
            self, block=Block(self.chunk_size // len(self.devices), self.num_configs), batches=1,
            blocks_per_device=False)


def _layout(engine: Engine, platform: str, check_every: int, dim: int,
            takes_coordinates: bool) -> str:
    if engine.layout is None:
        layout = choose_layout(platform, check_every, dim)
        return "array" if layout == "coordinates" and not takes_coordinates else layout
    if engine.layout == "coordinates" and not takes_coordinates:
        raise EngineOptionError(
            "layout", "layout='coordinates' does not fit this optimizer: its update mixes a "
            "point's coordinates (e.g. a norm) or needs the (dim,) array; use layout='array' or "
            "the default")
    return engine.layout


def _chunk_size(engine: Engine, devices: tuple, num_points: int, per_point: int,
                point_steps: int, block_points: int) -> int:
    if engine.chunk_size is None:
        budget = (default_memory_budget(devices[0]) if engine.memory_budget is None
                  else engine.memory_budget)
        size = chunk_size_for(num_points, per_point, budget, len(devices),
                              max_points=responsive_points(devices[0].platform, point_steps))
        # Whole blocks on every device: a smaller chunk would pad its last block.
        row = block_points * len(devices)
        whole = -(-num_points // row) * row
        return whole if size >= num_points else min(max(size // row, 1) * row, whole)
    # A multiple of the device count, and no more than the points need: the rest would be
    # padding, computed and thrown away.
    whole = -(-num_points // len(devices)) * len(devices)
    return min(-(-engine.chunk_size // len(devices)) * len(devices), whole)


def _block(platform: str, num_points: int, num_configs: int, dim: int) -> Block:
    """`choose_block` on a CPU; on accelerators a block is a whole chunk (filled in below)."""
    if platform in ACCELERATORS:
        return Block(0, num_configs)
    return choose_block(num_points, num_configs, dim)


def _local_devices(engine: Engine) -> tuple:
    """``engine.devices`` (default ``jax.local_devices()``), refused if one is another process's:
    under ``jax.distributed`` each process runs its own share of the chunks on its own devices
    (`jaxopt_lab.engine._distributed`), and a mesh with another's devices would wait for it."""
    if engine.devices is None:
        return tuple(jax.local_devices())
    foreign = [device for device in engine.devices if device.process_index != jax.process_index()]
    if foreign:
        raise EngineOptionError(
            "devices", f"devices must be devices of this process (jax.local_devices() of process "
            f"{jax.process_index()}), got {foreign[0]} of process {foreign[0].process_index}: "
            "under jax.distributed every process makes the same jl.sweep call and the engine "
            "shares the chunks between the processes itself")
    return engine.devices


def make_plan(engine: Engine, *, num_points: int, dim: int, itemsize: int, num_steps: int,
              hyperparam_names: tuple[str, ...], num_configs: int, criteria: Criteria,
              record_loss_every: int | None, takes_coordinates: bool,
              state_size: int, per_point_hyperparams: bool = False,
              divergence: object = None) -> SweepPlan:
    """The `SweepPlan` of a checked sweep: ``engine``'s choices where given, else the defaults
    above for its devices."""
    devices = _local_devices(engine)
    platform = devices[0].platform
    check_every = min(engine.check_every or choose_check_every(platform, num_steps), num_steps)
    layout = _layout(engine, platform, check_every, dim, takes_coordinates)
    records = num_steps // record_loss_every + 1 if record_loss_every else 0
    per_point = bytes_per_point(dim, state_size, itemsize, num_configs=num_configs,
                                loss_records=records)
    block = _block(platform, num_points, num_configs, dim)
    chunk_size = _chunk_size(engine, devices, num_points, per_point, num_steps * num_configs,
                             max(block.points, 1))
    if platform in ACCELERATORS:  # accelerators fill their memory with one call per chunk
        block = Block(chunk_size // len(devices), num_configs)
    calls = -(-chunk_size // (block.points * len(devices))) * -(-num_configs // block.configs)
    batches = min(engine.batches or (1 if platform in ACCELERATORS else cpu_workers()), calls)
    return SweepPlan(
        num_points=num_points, num_steps=num_steps, hyperparam_names=hyperparam_names,
        num_configs=num_configs, criteria=criteria, record_loss_every=record_loss_every,
        layout=layout, unroll=engine.unroll or choose_unroll(platform), check_every=check_every,
        chunk_size=chunk_size, block=block, batches=batches, requested_batches=engine.batches,
        blocks_per_device=platform not in ACCELERATORS and len(devices) > 1, devices=devices,
        backend=engine.backend, per_point_hyperparams=per_point_hyperparams,
        divergence=divergence)
