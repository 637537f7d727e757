"""Running a sweep's chunks: one after another, each as one call or as batches side by side.

`run_chunks` walks the starts chunk by chunk (padding the last to the chunk's shape, so one
compile serves all), waits for each (so the tqdm bar moves and Ctrl-C is honoured between
chunks), saves each finished chunk to the checkpoint and loads those already there.
`chunk_runner` decides how a chunk runs: one kernel call, or, on a CPU
(`jaxopt_lab.engine._plan.choose_batches`), batches of points or of a grid's settings run side
by side on a thread per core. XLA's CPU backend splits a large fused loop over its threads with
a fork and a join in every kernel of every step; a small batch's loop runs on one thread, so
batches side by side keep the cores busy without that cost (benchmarks/README.md).
"""
from __future__ import annotations

import concurrent.futures
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_lab.engine import _plan
from jaxopt_lab.engine._checkpoint import ChunkStore
from jaxopt_lab.engine._scan import compiled

_POOL: concurrent.futures.ThreadPoolExecutor | None = None


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """Threads that run a chunk's batches side by side on a CPU, one per core, made once."""
    global _POOL
    if _POOL is None:
        _POOL = concurrent.futures.ThreadPoolExecutor(_plan.cpu_workers(),
                                                      thread_name_prefix="jaxopt_lab-sweep")
    return _POOL


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it must not wait on the old pool."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


@functools.partial(jax.jit, static_argnums=1)
def _split(tree: Any, batches: int) -> list:
    """Every leaf of ``tree`` cut along its first axis into ``batches`` equal parts, in one
    dispatch rather than one per slice: a list of ``batches`` trees."""
    leaves, structure = jax.tree.flatten(tree)
    pieces = [jnp.split(leaf, batches) for leaf in leaves]
    return [jax.tree.unflatten(structure, [piece[index] for piece in pieces])
            for index in range(batches)]


@functools.partial(jax.jit, static_argnums=(1, 2))
def _join(parts: list[dict], axis: int, length: int) -> dict:
    """The parts' outputs end to end along ``axis``, cut to ``length``: one dispatch."""
    cut = (slice(None),) * axis + (slice(0, length),)
    return {name: jnp.concatenate([part[name] for part in parts], axis=axis)[cut]
            for name in parts[0]}


def _side_by_side(call: Callable[[Any, Any], dict], pairs: list) -> list[dict]:
    """``call(*pair)`` for every pair, on `_pool`'s threads; on an error or an interrupt the
    calls not yet started are cancelled (those running finish first) and it is raised."""
    futures = [_pool().submit(lambda pair: jax.block_until_ready(call(*pair)), pair)
               for pair in pairs]
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def chunk_runner(kernel: Callable, hyperparams: dict, chunk_size: int,
                 plan: _plan.BatchPlan, point_axis: int
                 ) -> tuple[Callable[[jax.Array], dict], int]:
    """(``run(chunk) -> outputs`` for ``chunk_size`` points, points ``run`` takes: padded).

    With ``plan.batches > 1`` (on a CPU, `jaxopt_lab.engine._plan.choose_batches`) each chunk
    runs as that many batches side by side on `_pool`'s threads, by one executable compiled
    beforehand (threads never race to compile), and their outputs are joined: batches of
    ``plan.size`` points, or, for a grid of many configurations over few points, of
    ``plan.size`` configurations (padded with the first). Every point is computed as in one
    call, up to the rounding described under ``batches`` in `jaxopt_lab.Engine`; only more
    cores are busy.
    """
    if plan.batches == 1:
        return lambda chunk: jax.block_until_ready(kernel(chunk, hyperparams)), chunk_size
    if plan.axis == "points":
        def run(chunk: jax.Array) -> dict:
            executable = compiled(
                kernel, jax.ShapeDtypeStruct((plan.size, chunk.shape[1]), chunk.dtype),
                hyperparams)
            parts = _side_by_side(executable, [(part, hyperparams)
                                               for part in _split(chunk, plan.batches)])
            return _join(parts, point_axis, chunk_size)

        return run, plan.batches * plan.size
    num_configs = len(next(iter(hyperparams.values())))
    padded = {name: jnp.concatenate([value, jnp.repeat(
                  value[:1], plan.batches * plan.size - num_configs)])
              for name, value in hyperparams.items()}
    settings = _split(padded, plan.batches)

    def run_configs(chunk: jax.Array) -> dict:
        executable = compiled(kernel, jax.ShapeDtypeStruct(chunk.shape, chunk.dtype),
                              settings[0])
        parts = _side_by_side(executable, [(chunk, part) for part in settings])
        return _join(parts, 0, num_configs)

    return run_configs, chunk_size


def run_chunks(run_chunk: Callable[[jax.Array], dict], padded_size: int, starts: jax.Array,
               chunk_size: int, point_axis: int, sharding, store: ChunkStore | None,
               progress: bool | None) -> tuple[dict, int]:
    """(outputs of every start, chunks loaded from ``store``): ``run_chunk`` on each chunk of
    ``chunk_size`` starts (the last padded to ``padded_size`` with its first point), placed on
    ``sharding``, each saved to ``store`` when it finishes and loaded from it where it already
    did, with a tqdm bar over the chunks (``progress``; default on a terminal, several chunks).
    """
    num_points = starts.shape[0]
    num_chunks = -(-num_points // chunk_size)
    show = progress if progress is not None else (num_chunks > 1 and sys.stderr.isatty())
    chunks, loaded = [], 0
    indices = range(num_chunks)
    if show:
        from tqdm.auto import tqdm

        indices = tqdm(indices, desc="sweep", unit="chunk")
    for index in indices:
        saved = store.load_chunk(index) if store is not None else None
        if saved is not None:
            chunks.append({name: jnp.asarray(value) for name, value in saved.items()})
            loaded += 1
            continue
        # One whole chunk: no slice (a copy of every start).
        chunk = starts if num_chunks == 1 else starts[index * chunk_size:(index + 1) * chunk_size]
        if chunk.shape[0] < padded_size:  # pad with the first point: one shape, one compile
            padding = jnp.broadcast_to(chunk[:1], (padded_size - chunk.shape[0], chunk.shape[1]))
            chunk = jnp.concatenate([chunk, padding])
        if not chunk.sharding.is_equivalent_to(sharding, chunk.ndim):  # else no copy needed
            chunk = jax.device_put(chunk, sharding)
        # Each chunk is waited for: jax dispatches asynchronously, and without this the progress
        # bar would race to the end and Ctrl-C would be honoured only after the last chunk.
        outputs = run_chunk(chunk)
        if store is not None:
            store.save_chunk(index, jax.device_get(outputs))
        chunks.append(outputs)
    if len(chunks) == 1:
        joined = chunks[0]
    else:
        joined = {name: jnp.concatenate([chunk[name] for chunk in chunks], axis=point_axis)
                  for name in chunks[0]}
    if num_chunks * chunk_size != num_points:
        cut = (slice(None),) * point_axis + (slice(0, num_points),)
        joined = {name: value[cut] for name, value in joined.items()}
    return joined, loaded
