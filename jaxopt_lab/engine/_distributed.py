"""Where a sweep's chunks run across processes under ``jax.distributed``, and how they meet again.

JAX's multi-controller model: every process runs the same program, makes the same
``jl.sweep(...)`` call, and computes what its own devices own. A sweep needs no communication
while it runs (every point is independent), so each process runs a contiguous `share` of the
chunks on its local devices by the very program one process would run, and `gather` hands the
chunks' outputs to every process, to process 0 only, or to none (``Engine.gather``; a process
that receives no whole result keeps its own share, `held_chunks`). The result is therefore the
one-process result, bit for bit, by construction.

Failure: a process whose share raises tells the others through the coordination service's
key-value store (`Peers`); they stop at their next chunk and raise `DistributedSweepError`
naming it, rather than waiting forever in a collective it will never join. A process that dies
outright cannot say so: its peers' collectives fail as its connections close, and the
coordination service ends every process once the dead one has missed heartbeats for
``heartbeat_timeout_seconds`` (an argument of ``jax.distributed.initialize``; `initialize`
passes `HEARTBEAT_TIMEOUT_SECONDS`).

Checkpoints: process K of N keeps its finished chunks in ``<checkpoint>/process-K-of-N/``, so a
rerun on N processes resumes each; a rerun on another number is refused
(`checkpoint_directory`), since each process sees only its own disk.
"""
from __future__ import annotations

import contextvars
import functools
import itertools
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping

import jax
import numpy as np

from jaxopt_lab.engine._checkpoint import CheckpointError
from jaxopt_lab.engine._options import GATHER_MODES

__all__ = ["DistributedSweepError", "Peers", "checkpoint_directory", "current_peers", "gather",
           "held_chunks", "held_points", "initialize", "is_first_process", "paths_in",
           "reporting_failures", "share"]

#: Seconds after which the coordination service declares a silent process dead and ends every
#: process (jax's default is 100): a killed process stops a run within this, not after hours.
HEARTBEAT_TIMEOUT_SECONDS = 30
#: Seconds a process that finished waits at exit for the others to finish too.
SHUTDOWN_TIMEOUT_SECONDS = 60
#: Seconds between two looks at the peers' reports while waiting for them to finish: doubling
#: from the first to the last, so a short wait ends promptly and a long one costs the
#: coordinator one request per process per second.
POLL_SECONDS = (0.01, 1.0)
#: Where a process's reports live in the coordination service's key-value store.
KEY_PREFIX = "jaxopt_lab/sweep"
_PROCESS_DIRECTORY = re.compile(r"process-(\d+)-of-(\d+)$")
#: Sweeps started by this process: every process makes the same calls in the same order, so
#: the n-th sweep has the same number everywhere and the reports of two sweeps never mix.
_SWEEPS = itertools.count()


class DistributedSweepError(RuntimeError):
    """Another process of a distributed sweep failed, so this one stopped too."""


def initialize(**overrides) -> None:
    """``jax.distributed.initialize()`` with CPU collectives and bounded failure detection.

    Coordinator address, process count and id come from the environment (SLURM, TPU pods,
    ``JAX_COORDINATOR_ADDRESS``/``JAX_NUM_PROCESSES``/``JAX_PROCESS_ID``) unless given in
    ``overrides``. Must run before any JAX computation.
    """
    # CPU processes exchange arrays through gloo (jax's default where it has one).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    for name, variable in (("coordinator_address", "JAX_COORDINATOR_ADDRESS"),
                           ("num_processes", "JAX_NUM_PROCESSES"),
                           ("process_id", "JAX_PROCESS_ID")):
        if name not in overrides and os.environ.get(variable):
            value = os.environ[variable]
            overrides[name] = value if name == "coordinator_address" else _whole(variable, value)
    overrides.setdefault("heartbeat_timeout_seconds", HEARTBEAT_TIMEOUT_SECONDS)
    overrides.setdefault("shutdown_timeout_seconds", SHUTDOWN_TIMEOUT_SECONDS)
    jax.distributed.initialize(**overrides)


def _whole(variable: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number >= 0, got {text!r}") from None


def is_first_process() -> bool:
    """Whether this process prints, draws progress and writes outputs: process 0."""
    return jax.process_index() == 0


def share(num_chunks: int, process_index: int | None = None,
          process_count: int | None = None) -> range:
    """The chunks this process runs: a contiguous range, the first ``num_chunks % N`` one longer.

    Contiguous, so that a process's checkpoint holds one stretch of the points.

    >>> [list(share(5, k, 2)) for k in range(2)], [list(share(1, k, 3)) for k in range(3)]
    ([[0, 1, 2], [3, 4]], [[0], [], []])
    """
    index = jax.process_index() if process_index is None else process_index
    count = jax.process_count() if process_count is None else process_count
    base, extra = divmod(num_chunks, count)
    start = index * base + min(index, extra)
    return range(start, start + base + (index < extra))


def held_chunks(num_chunks: int, mode: str, process_index: int | None = None,
                process_count: int | None = None) -> range:
    """The chunks whose outputs this process returns under ``mode`` (``Engine.gather``): all of
    them in one process, with ``"all"`` and on process 0 with ``"first"``; else its `share`.

    >>> [held_chunks(5, "first", k, 2) for k in range(2)], held_chunks(5, "none")
    ([range(0, 5), range(3, 5)], range(0, 5))
    """
    index = jax.process_index() if process_index is None else process_index
    count = jax.process_count() if process_count is None else process_count
    if count == 1 or mode == "all" or (mode == "first" and index == 0):
        return range(num_chunks)
    return share(num_chunks, index, count)


def held_points(num_points: int, chunk_size: int, mode: str, process_index: int | None = None,
                process_count: int | None = None) -> range:
    """The starts whose outcome this process returns under ``mode``: its `held_chunks`' points
    (the last chunk's padding cut off; an empty range past the last point for no chunk).

    >>> [held_points(144, 32, "none", k, 2) for k in range(2)]
    [range(0, 96), range(96, 144)]
    >>> held_points(144, 32, "none", 7, 8)  # 5 chunks for 8 processes
    range(144, 144)
    """
    chunks = held_chunks(-(-num_points // chunk_size), mode, process_index, process_count)
    return range(num_points)[chunks.start * chunk_size:chunks.stop * chunk_size]


def paths_in(indices: np.ndarray | None, held: range) -> np.ndarray | None:
    """The points of ``indices`` (whose paths to keep) among the ``held`` ones, in their order;
    None if there are none.

    >>> paths_in(np.array([3, 100, 143]), range(96, 144)), paths_in(np.array([3]), range(96, 144))
    (array([100, 143]), None)
    """
    if indices is None:
        return None
    kept = indices[(indices >= held.start) & (indices < held.stop)]
    return kept if len(kept) else None


def checkpoint_directory(checkpoint: str | os.PathLike) -> str:
    """This process's checkpoint directory: ``checkpoint`` itself in one process, else its
    ``process-K-of-N`` subdirectory; `CheckpointError` (a ``ValueError``) if ``checkpoint``
    holds another count's."""
    checkpoint = os.fspath(checkpoint)
    count = jax.process_count()
    found = _process_counts(checkpoint)
    theirs = found - {count} if count > 1 else found
    if count > 1 and os.path.exists(os.path.join(checkpoint, "manifest.json")):
        theirs.add(1)
    if theirs:
        raise CheckpointError(
            f"checkpoint {checkpoint!r} holds chunks of a run on {min(theirs)} process(es); "
            f"this run has {count}: resume it on {min(theirs)} processes, or use a new directory")
    if count == 1:
        return checkpoint
    return os.path.join(checkpoint, f"process-{jax.process_index()}-of-{count}")


def _process_counts(checkpoint: str) -> set[int]:
    if not os.path.isdir(checkpoint):
        return set()
    return {int(match.group(2)) for match in map(_PROCESS_DIRECTORY.match, os.listdir(checkpoint))
            if match}


def _client():
    # The coordination service's client, as jax.experimental.multihost_utils reaches it.
    from jax._src import distributed

    return distributed.global_state.client


class Peers:
    """One sweep's reports between processes: each says once whether its share succeeded.

    In one process every method does nothing. ``with Peers() as peers:`` around a share reports
    an exception leaving the block as this process's failure (and re-raises it).
    """

    def __init__(self):
        self.count, self.index = jax.process_count(), jax.process_index()
        self.client = _client() if self.count > 1 else None
        self.prefix = f"{KEY_PREFIX}-{next(_SWEEPS)}/"

    def __enter__(self) -> Peers:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is not None and not isinstance(error, DistributedSweepError):
            self._report({"error": "".join(traceback.format_exception_only(kind, error)).strip()})

    def check(self) -> None:
        """Raise `DistributedSweepError` if another process has reported a failure."""
        if self.client is not None:
            self._raise_failures(self._reports())

    def finished(self, template: Mapping[str, np.ndarray] | None, loaded: int,
                 num_chunks: int) -> tuple[dict[str, tuple], int]:
        """Report success, wait until every process has; (shapes and dtypes of a chunk's
        outputs, chunks all processes loaded from checkpoints). ``template``: one chunk's
        outputs here, None for an empty share; ``loaded``: chunks this process loaded."""
        if self.client is None:
            return _describe_chunk(template), loaded
        self._report({"chunk": _describe_chunk(template), "loaded": loaded,
                      "chunks": num_chunks})
        delay = POLL_SECONDS[0]
        while True:
            reports = self._reports()
            self._raise_failures(reports)
            if len(reports) == self.count:
                break
            time.sleep(delay)
            delay = min(2 * delay, POLL_SECONDS[1])
        _check_same_sweep(reports)
        chunk = next(report["chunk"] for report in reports.values() if report["chunk"])
        return ({name: (tuple(shape), dtype) for name, (shape, dtype) in chunk.items()},
                sum(report["loaded"] for report in reports.values()))

    def _report(self, report: dict) -> None:
        if self.client is not None:
            self.client.key_value_set(self.prefix + str(self.index), json.dumps(report))

    def _reports(self) -> dict[int, dict]:
        return {int(key.rsplit("/", 1)[1]): json.loads(value)
                for key, value in self.client.key_value_dir_get(self.prefix)}

    def _raise_failures(self, reports: dict[int, dict]) -> None:
        failed = {index: report["error"] for index, report in sorted(reports.items())
                  if "error" in report and index != self.index}
        if failed:
            index, error = next(iter(failed.items()))
            raise DistributedSweepError(
                f"process {index} of {self.count} failed its share of the sweep ({error}); "
                f"process {self.index} stopped too")


def _check_same_sweep(reports: dict[int, dict]) -> None:
    """`DistributedSweepError` if the processes' sweeps were cut otherwise: not one call."""
    cuts = {(report["chunks"], json.dumps(report["chunk"], sort_keys=True))
            for report in reports.values() if report["chunk"]}
    if len({chunks for chunks, _ in cuts}) > 1 or len(cuts) > 1:
        raise DistributedSweepError(
            "the processes made different sweeps (other starts, chunks or output shapes): under "
            "jax.distributed every process must make the same jl.sweep calls in the same order")


def _describe_chunk(chunk: Mapping[str, np.ndarray] | None) -> dict[str, list]:
    if chunk is None:
        return {}
    return {name: [list(np.shape(value)), np.asarray(value).dtype.name]
            for name, value in chunk.items()}


def gather(chunks_by_index: Mapping[int, Mapping[str, np.ndarray]], num_chunks: int,
           peers: Peers, loaded: int = 0, mode: str = "all"
           ) -> tuple[range, list[Mapping[str, np.ndarray]], int]:
    """(the chunks this process returns, their outputs in order, chunks of them loaded from
    checkpoints) under ``mode`` (``Engine.gather``), from this process's ``chunks_by_index``
    (its `share`, ``loaded`` of them from its checkpoint) and the others'.

    The chunks returned are `held_chunks`: all of them, or this process's share. A process
    without a chunk of its own returns one chunk of zeros (its outputs' shapes) and no chunk
    index, so the caller can shape its empty result. Every process waits here until all have
    finished their shares (`Peers.finished`): a failure anywhere surfaces everywhere, in every
    mode.
    """
    if mode not in GATHER_MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, GATHER_MODES))}, "
                         f"got {mode!r}")
    held = held_chunks(num_chunks, mode, peers.index, peers.count)
    if peers.count == 1:
        return held, [chunks_by_index[index] for index in held], loaded
    template = next(iter(chunks_by_index.values()), None)
    shapes, loaded_everywhere = peers.finished(
        None if template is None else jax.device_get(template), loaded, num_chunks)
    receives = len(held) == num_chunks
    if mode != "none":
        gathered = _exchange(chunks_by_index, num_chunks, peers, shapes, receives)
        if receives:
            return held, [gathered[index] for index in held], loaded_everywhere
    if not held:
        return held, [{name: np.zeros(shape, dtype) for name, (shape, dtype) in shapes.items()}], 0
    return held, [chunks_by_index[index] for index in held], loaded


def _exchange(chunks_by_index: Mapping[int, Mapping[str, np.ndarray]], num_chunks: int,
              peers: Peers, shapes: dict[str, tuple], receives: bool
              ) -> dict[int, dict[str, np.ndarray]]:
    """Every chunk's outputs by index where ``receives``, else nothing; every process joins.

    Round r gathers the r-th chunk of every share (a share one shorter sends a dummy), so a
    process that does not receive holds, beside its own share, one round at a time.
    """
    from jax.experimental import multihost_utils

    shares = [share(num_chunks, index, peers.count) for index in range(peers.count)]
    gathered: dict[int, dict[str, np.ndarray]] = {}
    mine = shares[peers.index]
    for round_index in range(len(shares[0])):  # process 0's share is the longest
        local = (chunks_by_index[mine[round_index]] if round_index < len(mine) else
                 {name: np.zeros(shape, dtype) for name, (shape, dtype) in shapes.items()})
        try:
            stacked = multihost_utils.process_allgather(
                {name: np.asarray(value) for name, value in local.items()})
        except Exception as error:  # a peer died: its connection closed under the collective
            raise DistributedSweepError(
                f"gathering the sweep's chunks failed ({type(error).__name__}: {error}); "
                "another process probably died") from error
        if receives:
            gathered.update({owned[round_index]: {name: value[process]
                                                  for name, value in stacked.items()}
                             for process, owned in enumerate(shares)
                             if round_index < len(owned)})
    return gathered


_CURRENT: contextvars.ContextVar[Peers | None] = contextvars.ContextVar("peers", default=None)


def reporting_failures(function: Callable) -> Callable:
    """``function`` (a sweep) run inside its own `Peers`: an exception anywhere in it, on any
    process, stops the others at their next chunk (`current_peers` finds them)."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        with Peers() as peers:
            token = _CURRENT.set(peers)
            try:
                return function(*args, **kwargs)
            finally:
                _CURRENT.reset(token)

    return run


def current_peers() -> Peers:
    """The `Peers` of the sweep running now (`reporting_failures`), or new ones."""
    return _CURRENT.get() or Peers()
