"""The scan driver of the per-point program: ``jit(vmap(loop over checks(scan of plain steps)))``.

The program and its loop schedule are `jaxopt_lab.engine._program`'s; here they run under
``vmap`` over the points (and over the configurations of a hyperparameter grid), the plain steps
between checks as a ``lax.scan`` (with the chosen unroll), and the early exit asks the whole
batch through a `lax.psum` over the named point axis, which is the same for every point, so the
loop over blocks stays a real loop under ``vmap`` (per configuration of a grid: there ``vmap``
holds a finished configuration's carry). Only this driver records trajectories. Kernels are
cached per (optimizer, surface, configuration); jax's own cache then compiles once per shape.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, PartitionSpec

from jaxopt_lab.engine._cache import KERNELS
from jaxopt_lab.engine._divergence import state_outputs
from jaxopt_lab.engine._program import (STOP, KernelConfig, PointProgram, checked_block,
                                        run_checked, run_schedule, where)
from jaxopt_lab.engine._status import STATUS_DTYPE
from jaxopt_lab.surfaces import Surface

__all__ = ["KernelConfig", "compiled", "get_kernel"]

#: Name of the vmapped point axis, so that a check can ask whether any point of the batch runs.
VMAP_AXIS = "points"


def _outputs(program: PointProgram, carry, history, paths) -> dict:
    """The per-point outputs of a finished carry (and its loss history and path stretches)."""
    config = program.config
    stop = program.judged_by_rule(carry[1], carry[STOP])
    vector, loss, status, steps, basin = program.finish(carry[0], stop)
    outputs = {} if config.divergence is None else state_outputs(carry[1][1])
    if config.report_steps_run:
        outputs["steps_run"] = carry[5]
    if config.record_trajectory:
        outputs["trajectory"] = jnp.concatenate(paths + [vector[None]], axis=0)
    if config.record_loss_every:
        outputs["loss_history"] = jnp.append(history, loss)
    outputs.update(params=vector, loss=loss, status=status.astype(STATUS_DTYPE), steps=steps,
                   basin=basin)
    return outputs


def _build(optimizer: Any, surface: Surface, config: KernelConfig,
           mesh: Mesh | None) -> Callable:
    program = PointProgram(optimizer, surface, config)
    unroll = lambda length: max(min(config.unroll, length), 1)

    def any_running(stop: jax.Array) -> jax.Array:
        """Whether some point of the batch still runs: unbatched, so loops can stop."""
        return lax.psum((stop < 0).astype(jnp.int32), VMAP_AXIS) > 0

    def run_one(start, hyperparams):
        tx = program.optimizer(hyperparams)

        def traced_step(carry, _):
            """A plain step, also recording the path (a frozen point's stays where it froze)."""
            (params, state), (frozen, running) = carry
            params_next, state = program.step(params, state, tx, running)
            return ((params_next, state), (frozen, running)), program.as_vector(
                where(running, params, frozen))

        def steps(params, state, rest: int, params_before, stop):
            if config.record_trajectory:
                path = program.as_vector(params_before)[None]
                if not rest:
                    return (params, state), path
                ((params, state), _), rest_path = lax.scan(
                    traced_step, ((params, state), (params_before, stop < 0)), None,
                    length=rest, unroll=unroll(rest))
                return (params, state), jnp.concatenate([path, rest_path])
            if rest:
                running = stop < 0
                (params, state), _ = lax.scan(
                    lambda carry, _: (program.step(*carry, tx, running), None), (params, state),
                    None, length=rest, unroll=unroll(rest))
            return (params, state), None

        def first_step(params, state, value, grad, stop):
            return program.first_step(params, state, value, grad, tx, stop < 0)

        def block(carry, length: int):
            return checked_block(carry, length, first_step, steps, program.check)

        def checked(carry, length: int):
            return run_checked(config, block, any_running, carry, length, conditional_rest=True)

        def loop_records(stretch, carry, count: int):
            def record_block(carry, _):
                loss = program.value_fn(carry[0])
                carry, path = stretch(carry)
                return carry, (loss, path)

            carry, (history, path) = lax.scan(record_block, carry, None, length=count)
            return carry, history, path

        state, value, grad, stop = program.begin(start, tx)
        carry = (start, state, value, grad, stop, jnp.array(0, jnp.int32))
        return _outputs(program, *run_schedule(config, checked, loop_records, carry))

    per_point = config.per_point_hyperparams

    def run_points(starts, hyperparams):
        if config.layout == "coordinates":
            starts = tuple(starts[:, i] for i in range(starts.shape[1]))
        return jax.vmap(run_one, in_axes=(0, 0 if per_point else None),
                        axis_name=VMAP_AXIS)(starts, hyperparams)

    grid = config.hyperparam_names and not per_point
    if grid:
        run_points = jax.vmap(run_points, in_axes=(None, 0))
    if mesh is not None and mesh.size > 1:
        # Each device runs the one-device program on its share (the vmap's psum stays within it).
        axis = mesh.axis_names[0]
        run_points = jax.shard_map(
            run_points, mesh=mesh,
            in_specs=(PartitionSpec(axis), PartitionSpec(axis) if per_point else PartitionSpec()),
            out_specs=PartitionSpec(None, axis) if grid else PartitionSpec(axis),
            check_vma=False)
    return jax.jit(run_points)


def get_kernel(optimizer: Any, surface: Surface, config: KernelConfig,
               mesh: Mesh | None = None) -> Callable:
    """The jitted ``f(starts (N, dim), hyperparams {name: (C,)}) -> dict of outputs``, cached
    (``{name: (N,)}``, one value per start, under ``config.per_point_hyperparams``); with a
    ``mesh`` of several devices the points are split over them (N a multiple of its size)."""
    return KERNELS.get((optimizer, surface, config, mesh),
                       lambda: _build(optimizer, surface, config, mesh))


def compiled(kernel: Callable, starts: jax.ShapeDtypeStruct, hyperparams: dict) -> Callable:
    """``kernel`` compiled ahead of time for these shapes: raises where it does not lower.

    `jl.sweep` calls this on a GPU to decide between fused and scan (``backend="auto"``), and
    before running blocks side by side on a CPU (so threads never race to compile the same
    shapes). The executable is cached: a second sweep of the same shapes compiles nothing.
    """
    shapes = {name: jax.ShapeDtypeStruct(np.shape(value), value.dtype,
                                         sharding=getattr(value, "sharding", None))
              for name, value in hyperparams.items()}
    key = ("compiled", kernel, starts.shape, str(starts.dtype), starts.sharding,
           tuple((name, s.shape, str(s.dtype), s.sharding) for name, s in sorted(shapes.items())))
    return KERNELS.get(key, lambda: kernel.lower(starts, shapes).compile())
