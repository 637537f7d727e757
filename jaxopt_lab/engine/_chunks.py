"""Running a sweep's chunks: one after another, each as fixed blocks run side by side.

`run_chunks` walks the starts chunk by chunk (padding the last to the chunk's shape), waits for
each (so the tqdm bar moves and Ctrl-C is honoured between chunks), saves each finished chunk to
the checkpoint and loads those already there. `chunk_runner` runs a chunk as calls of one
executable on one fixed block of points and settings (`jaxopt_lab.engine._plan.choose_block`),
side by side on a thread per core: XLA's code for a loop depends on the array's shape, so one
block shape for every call is what makes a point's bits independent of the chunk size, the
threads and the devices; and a small block's loop runs on one thread without the fork and join
XLA's CPU backend puts in every kernel of a large loop (benchmarks/README.md).
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
from jax.sharding import NamedSharding, SingleDeviceSharding

from jaxopt_lab.engine import _distributed, _plan
from jaxopt_lab.engine._checkpoint import ChunkStore
from jaxopt_lab.engine._scan import compiled

_POOLS: dict[int, concurrent.futures.ThreadPoolExecutor] = {}


def _pool(threads: int) -> concurrent.futures.ThreadPoolExecutor:
    """``threads`` threads that run a chunk's blocks side by side, made once per count."""
    if threads not in _POOLS:
        _POOLS[threads] = concurrent.futures.ThreadPoolExecutor(
            threads, thread_name_prefix="jaxopt_lab-sweep")
    return _POOLS[threads]


def _forget_pools() -> None:
    """A forked child has none of its parent's threads: it must not wait on the old pools."""
    _POOLS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _split(tree: Any, parts: int, length: int) -> list:
    """Every leaf of ``tree`` padded along its first axis to ``parts`` × ``length`` (with its
    first entry) and cut into ``parts`` pieces, in one dispatch: a list of ``parts`` trees."""
    def pieces(leaf):
        padding = jnp.broadcast_to(leaf[:1], (parts * length - leaf.shape[0],) + leaf.shape[1:])
        return jnp.split(jnp.concatenate([leaf, padding]), parts)

    leaves, structure = jax.tree.flatten(tree)
    split = [pieces(leaf) for leaf in leaves]
    return [jax.tree.unflatten(structure, [piece[index] for piece in split])
            for index in range(parts)]


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _join(parts: list[list[dict]], point_axis: int, num_configs: int, num_points: int) -> dict:
    """The outputs of a chunk's calls (``parts[i][j]``: points piece i, configurations piece j)
    joined and cut to ``num_configs`` × ``num_points``: one dispatch."""
    def join_configs(row: list[dict]) -> dict:
        if point_axis == 0:
            return row[0]
        return {name: jnp.concatenate([part[name] for part in row])[:num_configs]
                for name in row[0]}

    rows = [join_configs(row) for row in parts]
    cut = (slice(None),) * point_axis + (slice(0, num_points),)
    return {name: jnp.concatenate([row[name] for row in rows], axis=point_axis)[cut]
            for name in rows[0]}


def _side_by_side(call: Callable[[Any, Any], dict], pairs: list, threads: int) -> list[dict]:
    """``call(*pair)`` for every pair, ``threads`` at a time; on an error or an interrupt the
    calls not yet started are cancelled (those running finish first) and it is raised."""
    if threads == 1:
        return [jax.block_until_ready(call(*pair)) for pair in pairs]
    futures = [_pool(threads).submit(lambda pair: jax.block_until_ready(call(*pair)), pair)
               for pair in pairs]
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _targets(plan: _plan.SweepPlan, sharding: NamedSharding) -> tuple[list, int]:
    """(where each call runs, points per call): each device on its own (`SweepPlan
    .blocks_per_device`), or the whole mesh with a block per device."""
    if plan.blocks_per_device:
        return [SingleDeviceSharding(device) for device in plan.devices], plan.block.points
    return [sharding], plan.block.points * sharding.mesh.size


def _placed(tree: Any, target) -> Any:
    """``tree`` on ``target``, every device of it holding all of it."""
    where = _plan.replicated(target) if isinstance(target, NamedSharding) else target
    return jax.device_put(tree, where)


def _per_point_runner(kernel: Callable, plan: _plan.SweepPlan, targets: list,
                      width: int) -> Callable[[tuple], dict]:
    """`chunk_runner` for a chunk ``(points, {name: (N,)})`` whose hyperparameters go with its
    points: both are cut into the same blocks, so no block runs padding a grid's would not."""
    parts = -(-plan.chunk_size // width)
    home = plan.devices[0]

    def call(piece: tuple, index: int) -> dict:
        target = targets[index % len(targets)]
        # Split over a mesh's devices like the points (a point sharding), or on one device.
        points, settings = jax.device_put(piece, target)
        executable = compiled(kernel, jax.ShapeDtypeStruct(
            points.shape, points.dtype, sharding=points.sharding), settings)
        outputs = executable(points, settings)
        return outputs if len(targets) == 1 else jax.device_put(outputs, home)

    def run(chunk: tuple) -> dict:
        pieces = _split(chunk, parts, width)
        outputs = _side_by_side(call, [(piece, index) for index, piece in enumerate(pieces)],
                                plan.batches)
        return _join([[part] for part in outputs], 0, 1, plan.chunk_size)

    return run


def chunk_runner(kernel: Callable, hyperparams: dict, plan: _plan.SweepPlan,
                 sharding: NamedSharding) -> Callable[[jax.Array], dict]:
    """``run(chunk) -> outputs`` for a chunk of ``plan.chunk_size`` points.

    The chunk is cut into ``plan.block``'s pieces: points (``block.points`` per device) and,
    for a grid, configurations (``block.configs``), the last of each padded with its first
    entry; every piece runs through an executable compiled beforehand (threads never race to
    compile), ``plan.batches`` side by side, and the outputs are joined. Each point therefore
    runs the same code whatever the chunk size, the batches or the devices.
    """
    targets, width = _targets(plan, sharding)
    if plan.per_point_hyperparams:
        return _per_point_runner(kernel, plan, targets, width)
    point_parts = -(-plan.chunk_size // width)
    config_parts = -(-plan.num_configs // plan.block.configs) if plan.hyperparam_names else 1
    settings = (_split(hyperparams, config_parts, plan.block.configs) if plan.hyperparam_names
                else [hyperparams])
    settings = [[_placed(part, target) for part in settings] for target in targets]
    if (len(targets), point_parts, config_parts) == (1, 1, 1) and plan.chunk_size == width:
        return lambda chunk: jax.block_until_ready(kernel(chunk, settings[0][0]))
    home = plan.devices[0]

    def call(piece: jax.Array, index: int, config_part: int) -> dict:
        target = index % len(targets)
        executable = compiled(kernel, jax.ShapeDtypeStruct(
            (width, piece.shape[1]), piece.dtype, sharding=targets[target]), settings[target][0])
        outputs = executable(jax.device_put(piece, targets[target]),
                             settings[target][config_part])
        return outputs if len(targets) == 1 else jax.device_put(outputs, home)

    def run(chunk: jax.Array) -> dict:
        pieces = _split(chunk, point_parts, width)
        outputs = _side_by_side(call, [(piece, index, part) for index, piece in enumerate(pieces)
                                       for part in range(config_parts)], plan.batches)
        rows = [outputs[i * config_parts:(i + 1) * config_parts] for i in range(point_parts)]
        return _join(rows, plan.point_axis, plan.num_configs, plan.chunk_size)

    return run


def _padded_and_placed(leaf: jax.Array, size: int, sharding) -> jax.Array:
    """``leaf`` padded to ``size`` along its point axis with its first entry (one shape, one
    compile), on ``sharding``."""
    if leaf.shape[0] < size:
        padding = jnp.broadcast_to(leaf[:1], (size - leaf.shape[0],) + leaf.shape[1:])
        leaf = jnp.concatenate([leaf, padding])
    if not leaf.sharding.is_equivalent_to(sharding, leaf.ndim):  # else no copy needed
        leaf = jax.device_put(leaf, sharding)
    return leaf


def run_chunks(run_chunk: Callable[[jax.Array], dict], starts: jax.Array, chunk_size: int,
               point_axis: int, sharding, store: ChunkStore | None,
               progress: bool | None, gather: str = "all") -> tuple[dict, int]:
    """(outputs of every start, chunks loaded from ``store``): ``run_chunk`` on each chunk of
    ``chunk_size`` starts (the last padded to ``chunk_size`` with its first point), placed on
    ``sharding``, each saved to ``store`` when it finishes and loaded from it where it already
    did, with a tqdm bar over the chunks (``progress``; default on a terminal, several chunks).
    Under ``jax.distributed``, the outputs of `_distributed.held_points` only (``gather``).
    """
    # ``starts`` may be a tree of arrays sharing the point axis: (points, hyperparams per point).
    num_points = jax.tree.leaves(starts)[0].shape[0]
    num_chunks = -(-num_points // chunk_size)
    show = progress if progress is not None else (num_chunks > 1 and sys.stderr.isatty())
    chunks, loaded = {}, 0
    # Under jax.distributed this process runs only its share, then all meet in the gather.
    indices, peers = _distributed.share(num_chunks), _distributed.current_peers()
    if show and _distributed.is_first_process():
        from tqdm.auto import tqdm

        indices = tqdm(indices, desc="sweep", unit="chunk")
    for index in indices:
        peers.check()
        saved = store.load_chunk(index) if store is not None else None
        if saved is not None:
            chunks[index] = {name: jnp.asarray(value) for name, value in saved.items()}
            loaded += 1
            continue
        # One whole chunk: no slice (a copy of every start).
        chunk = starts if num_chunks == 1 else jax.tree.map(
            lambda leaf: leaf[index * chunk_size:(index + 1) * chunk_size], starts)
        chunk = jax.tree.map(functools.partial(_padded_and_placed, size=chunk_size,
                                               sharding=sharding), chunk)
        # Each chunk is waited for: jax dispatches asynchronously, and without this the progress
        # bar would race to the end and Ctrl-C would be honoured only after the last chunk.
        outputs = run_chunk(chunk)
        if store is not None:
            store.save_chunk(index, jax.device_get(outputs))
        chunks[index] = outputs
    held, chunks, loaded = _distributed.gather(chunks, num_chunks, peers, loaded, gather)
    if len(chunks) == 1:  # a received chunk is NumPy: a result's fields are jax.Arrays
        joined = {name: jnp.asarray(value) for name, value in chunks[0].items()}
    else:
        joined = {name: jnp.concatenate([chunk[name] for chunk in chunks], axis=point_axis)
                  for name in chunks[0]}
    points = len(range(num_points)[held.start * chunk_size:held.stop * chunk_size])
    if len(chunks) * chunk_size != points:
        cut = (slice(None),) * point_axis + (slice(0, points),)
        joined = {name: value[cut] for name, value in joined.items()}
    return joined, loaded
