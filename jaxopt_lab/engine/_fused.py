"""The fused backend of `jl.sweep`: a block of points runs its whole optimization in one kernel.

The scan backend (`jaxopt_lab.engine._scan`) is ``jit(vmap(scan))``: XLA launches a few kernels
per step and keeps every point's state in device memory between them, so it is bound by launches
at small P and by memory traffic at large P. Here one `jax.experimental.pallas` program takes a block
of `BLOCK_POINTS` points, loads their starts once, runs every step of the loop with the state in
registers (a ``fori_loop`` of plain steps between checks, a ``while_loop`` over checks that ends
as soon as every point of the block has stopped: the per-block early exit), and writes the outcome
once: final params, loss, status, steps, basin. The grid is (hyperparameter configs) × (blocks).

The per-point program and its loop schedule are `jaxopt_lab.engine._program`'s, as for the
scan backend, and `jaxopt_lab.engine._lanes` turns each per-point piece's jaxpr into elementwise
operations on lane vectors: GPU kernel compilers have no slices, pads or small reductions, and
quantities common to the block (a step counter, Adam's ``1 - β₁ᵗ``, a hyperparameter) stay
scalars, computed once per step. The rules are the scan backend's with the same
``check_every``, so both give the same statuses, steps and basins up to floating-point rounding
(tests/test_sweep_fused.py compares them in Pallas' interpret mode, which is how this backend
runs on a CPU: a correctness check, not a speed-up; tests also lower every kernel for CUDA
through Pallas' Triton rules, on the CPU).
Newton's method and Levenberg-Marquardt run on 1- and 2-D surfaces (their Hessian's ``eigh``
has an elementwise closed form there); optimizers with per-point loops or indexed updates
(BFGS's line search, L-BFGS's history) raise `jaxopt_lab.engine.NotElementwise` here and
need the scan backend. As in the scan, a block's first step reuses the gradient its check
computed, and lanes divided by a block-wide value are multiplied by its reciprocal (one
division per step). Loss histories are recorded as the scan records them; trajectories of chosen
points come from the scan backend, which `jl.sweep` runs for them anyway.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as pltriton

from jaxopt_lab.engine import _lanes
from jaxopt_lab.engine._lanes import Lanes
from jaxopt_lab.surfaces import Surface
from jaxopt_lab.engine._cache import KERNELS
from jaxopt_lab.engine._program import (STOP, KernelConfig, PointProgram, checked_block,
                                        run_checked, run_schedule)
from jaxopt_lab.engine._result import POINT_FIELDS
from jaxopt_lab.engine._status import STATUS_DTYPE

#: Points per program on a GPU: a power of two (Triton's blocks are), enough lanes to fill a
#: 4-warp program twice. Smaller sweeps use the next power of two of their size.
BLOCK_POINTS = 256
#: Largest surface dimension the fused kernel takes: every number of a point's state is a
#: register per lane, and the lane evaluator writes a (dim, dim) Hessian or dot product out
#: element by element, so the kernel grows as dim² (a 1,210-parameter MLP would not compile).
MAX_DIM = 16
#: Triton, not Mosaic GPU (jax 0.10's default for Pallas on GPUs), whose lowering this kernel
#: was never checked against (it had no rule for ``is_finite`` when that was still emitted).
TRITON = pltriton.CompilerParams(num_warps=4, num_stages=1)
#: Status, steps and basin travel as int32 inside the kernel (GPU kernels load and store 8-bit
#: integers poorly); `jl.sweep` returns status as `STATUS_DTYPE`.
_INT = jnp.int32


def block_points_for(num_points: int, block_points: int = BLOCK_POINTS) -> int:
    """Points per program: ``block_points``, or the next power of two of a smaller sweep.

    >>> block_points_for(10**6), block_points_for(100), block_points_for(1)
    (256, 128, 1)
    """
    return int(min(block_points, pl.next_power_of_2(max(int(num_points), 1))))


def _materialize(tree):
    """Every element as a jax value (loop carries cannot hold NumPy constants)."""
    def one(lanes):
        return lanes.map(lambda element: jnp.asarray(element, lanes.dtype))
    return jax.tree.map(one, tree, is_leaf=lambda x: isinstance(x, Lanes))


def _settle(body: Callable, carry):
    """``carry`` with every element that ``body`` turns into lanes made lanes from the start.

    An optimizer's state starts uniform (zeros) and becomes per-point after a step; a loop needs
    one type per carry, so those elements start as ``(B,)`` broadcasts.
    """
    for _ in range(8):
        leaves, tree = jax.tree.flatten(carry)
        out = jax.tree.leaves(jax.eval_shape(body, carry))
        if [jnp.shape(x) for x in leaves] == [o.shape for o in out]:
            return carry
        leaves = [jnp.broadcast_to(x, o.shape).astype(o.dtype) if jnp.shape(x) != o.shape else x
                  for x, o in zip(leaves, out)]
        carry = jax.tree.unflatten(tree, leaves)
    raise RuntimeError("the fused loop's carry did not settle to fixed shapes")


def build(optimizer: Any, surface: Surface, config: KernelConfig, *, interpret: bool,
          mesh: jax.sharding.Mesh | None = None,
          block_points: int = BLOCK_POINTS) -> Callable:
    """The jitted ``f(starts (N, dim), hyperparams {name: (C,)}) -> dict of outputs``.

    Outputs as the scan kernel's (`jaxopt_lab.engine._scan.get_kernel`): ``params``, ``loss``,
    ``status``, ``steps``, ``basin``, with a leading C axis when ``config.hyperparam_names``.
    ``interpret`` runs the kernel in Pallas' interpreter (CPU); ``mesh`` shards the point axis.
    """
    if config.record_trajectory:
        raise ValueError("the fused backend records no trajectories (jl.sweep runs the scan "
                         "backend for the chosen points)")
    names = config.hyperparam_names
    # Params are a (dim,) vector here: the lanes hold the coordinates.
    # The lanes split every array into its elements and Triton has no argmin over a short axis:
    # the minima are compared one by one.
    program = PointProgram(optimizer, surface, config._replace(layout="array"),
                           unrolled_minima=True)
    every = config.record_loss_every
    num_records = config.num_steps // every + 1 if every else 0

    # The program's pieces with the optimizer built from a configuration's hyperparameters
    # inside each, since each becomes its own lane computation.
    def begin(start, hyperparams):
        return program.begin(start, program.optimizer(hyperparams))

    def step(params, state, hyperparams):
        return program.step(params, state, program.optimizer(hyperparams))

    def first_step(params, state, value, grad, hyperparams):
        return program.first_step(params, state, value, grad, program.optimizer(hyperparams))

    def any_running(stop: Lanes) -> jax.Array:
        return jnp.max((stop.elements[()] < 0).astype(_INT)) > 0

    def kernel(*refs):
        dim, num_names = surface.dim, len(names)
        start_refs, hyper_refs = refs[:dim], refs[dim:dim + num_names]
        params_refs = refs[dim + num_names:2 * dim + num_names]
        loss_ref, status_ref, steps_ref, basin_ref = refs[2 * dim + num_names:][:4]
        history_ref = refs[-1] if every else None
        num_lanes = start_refs[0].shape[0]
        dtype = start_refs[0].dtype
        start = Lanes.from_elements([ref[...] for ref in start_refs], dtype)
        hyperparams = {name: Lanes.from_elements(ref[0], ref.dtype)
                       for name, ref in zip(names, hyper_refs)}
        state, value, grad, stop = _lanes.call(begin, start, hyperparams)

        def one_step(_, carry):
            return _lanes.call(step, *carry, hyperparams, reciprocal_division=True)

        def steps(params, state, rest: int, params_before, stop):
            return lax.fori_loop(1, rest + 1, one_step, (params, state)), None

        def first(params, state, value, grad, stop):
            del stop  # only a divergence rule needs it, and the fused backend takes none
            return _lanes.call(first_step, params, state, value, grad, hyperparams,
                               reciprocal_division=True)

        def check(params, new_params, stop, t):
            return _lanes.call(program.check, params, new_params, stop, Lanes.uniform(t))

        def block(carry, length: int):
            return checked_block(carry, length, first, steps, check)

        def checked(carry, length: int):
            # No cond after the full blocks: a shorter last block just runs.
            return run_checked(config, block, any_running, carry, length,
                               conditional_rest=False)

        def store_loss(row, params):
            loss = _lanes.call(program.value_fn, params).elements[()]
            history_ref[row, :] = jnp.broadcast_to(loss, (num_lanes,)).astype(history_ref.dtype)

        def loop_records(stretch, carry, count: int):
            def record(row, carry):
                store_loss(row, carry[0])
                return stretch(carry)[0]

            return lax.fori_loop(0, count, record, carry), None, None

        params, state = _settle(lambda c: one_step(0, c), _materialize((start, state)))
        carry = (params, state, *_materialize((value, grad, stop)), jnp.array(0, _INT))
        carry = _settle(lambda c: block(c, config.check_every)[0], carry)
        carry, _, _ = run_schedule(config, checked, loop_records, carry)
        params, stop = carry[0], carry[STOP]
        _, loss, status, steps, basin = _lanes.call(program.finish, params, stop)
        if every:
            store_loss(num_records - 1, params)
        for ref, element in zip(params_refs, params.elements):
            ref[...] = jnp.broadcast_to(element, (num_lanes,)).astype(ref.dtype)
        for ref, lanes in ((loss_ref, loss), (status_ref, status), (steps_ref, steps),
                           (basin_ref, basin)):
            ref[...] = jnp.broadcast_to(lanes.elements[()], (num_lanes,)).astype(ref.dtype)

    def run_points(starts: jax.Array, hyperparams: dict) -> dict:
        num_points, dim = starts.shape
        lanes = block_points_for(num_points, block_points)
        padded = -(-num_points // lanes) * lanes
        if padded != num_points:  # pad with the first point; cut below
            starts = jnp.concatenate(
                [starts, jnp.broadcast_to(starts[:1], (padded - num_points, dim))])
        configs = [jnp.asarray(hyperparams[name]) for name in names]
        num_configs = configs[0].shape[0] if names else 1
        point_block = pl.BlockSpec((lanes,), lambda c, i: (i,))
        config_block = pl.BlockSpec((1,), lambda c, i: (c,))
        out_block = pl.BlockSpec((pl.squeezed, lanes), lambda c, i: (c, i))
        out_shape = ([jax.ShapeDtypeStruct((num_configs, padded), starts.dtype)] * (dim + 1)
                     + [jax.ShapeDtypeStruct((num_configs, padded), _INT)] * 3)
        out_specs = [out_block] * len(out_shape)
        if every:  # rows padded to a power of two, as Triton's blocks are; cut below
            rows = pl.next_power_of_2(num_records)
            out_shape.append(jax.ShapeDtypeStruct((num_configs, rows, padded), starts.dtype))
            out_specs.append(pl.BlockSpec((pl.squeezed, rows, lanes), lambda c, i: (c, 0, i)))
        outputs = pl.pallas_call(
            kernel, out_shape=out_shape, grid=(num_configs, padded // lanes),
            in_specs=[point_block] * dim + [config_block] * len(names),
            out_specs=out_specs, interpret=interpret,
            compiler_params=None if interpret else TRITON,
            name=f"sweep_{surface.name}")(*starts.T, *configs)
        outputs = list(outputs)
        history = outputs.pop() if every else None
        outputs = [value[:, :num_points] for value in outputs]
        result = dict(zip(POINT_FIELDS, (
            jnp.stack(outputs[:dim], axis=-1), outputs[dim],
            outputs[dim + 1].astype(STATUS_DTYPE), outputs[dim + 2], outputs[dim + 3])))
        if every:
            result["loss_history"] = jnp.swapaxes(history[:, :num_records, :num_points], 1, 2)
        if not names:
            result = {name: value[0] for name, value in result.items()}
        return result

    if mesh is not None and mesh.size > 1:
        from jax.sharding import PartitionSpec

        axis = mesh.axis_names[0]
        points, everywhere = PartitionSpec(axis), PartitionSpec()
        out_points = PartitionSpec(None, axis) if names else points
        run_points = jax.shard_map(
            run_points, mesh=mesh, in_specs=(points, everywhere),
            out_specs={name: out_points
                       for name in POINT_FIELDS + (("loss_history",) if every else ())},
            check_vma=False)
    return jax.jit(run_points)


def get_kernel(optimizer: Any, surface: Surface, config: KernelConfig, *, interpret: bool,
               mesh: jax.sharding.Mesh | None = None) -> Callable:
    """`build`, cached per (optimizer, surface, config, interpret, mesh)."""
    return KERNELS.get(("fused", optimizer, surface, config, interpret, mesh),
                       lambda: build(optimizer, surface, config, interpret=interpret, mesh=mesh))
