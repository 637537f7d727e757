"""The compiled core of `jl.sweep`: ``jit(vmap(loop over checks(scan of plain optimizer steps)))``.

Every point runs the loop a user would write by hand, ``params ← params + update(∇f(params))``,
and is *judged* only at check steps: ``t = 0``, every ``check_every``-th step, and ``num_steps``
(with ``record_loss_every``, the count restarts at each recorded step). A check at ``params_t``:

1. the point *fails* if ``f(params_t)``, ``∇f(params_t)`` or ``params_t`` is not finite or
   ``‖params_t‖ > surface.escape_radius``; it *converges* if ``‖∇f(params_t)‖ <= gtol`` or
   ``params_t`` is within ``xtol`` of one of ``surface.minima``;
2. a point that fails or converges stops: its status (DIVERGED wins over CONVERGED) and step ``t``
   are recorded and its params are frozen: those of step ``t``, or, where they are no longer
   finite, those of the previous check (the last where they were). A diverged point therefore
   never overflows further, and a NaN start is DIVERGED at step 0.

With ``check_every = 1`` every step is checked, exactly the rules of tests/reference/sweep_loops.py.
With ``check_every = K`` ``steps`` is the first *check* step meeting a criterion: a multiple of K
(or ``num_steps``), at or after the first step that met one, usually within K of it, later if the
criterion held only for a while (a point passing through the ``xtol`` ball, a NaN loss that turns
finite again) — such transients are seen only with K = 1. The K steps between checks are the bare
loop (one gradient each). A check's value-and-gradient is the one the next block's first step
uses (a running point's params are exactly those it was taken at), so a check costs no gradient
of its own, only the tests, the freeze and one int32 "stop code" per point (status and step in
one array); what is left is mostly XLA's fixed cost per kernel (measured on the 2-core CPU: about
5-8 momentum steps or 2 Adam steps on Rosenbrock; benchmarks/README.md). A frozen point
keeps computing inside a block and is put back at each check (masking every step would cost
what checking every step costs); its optimizer state runs on unused.

**Early exit.** Once no point of the batch runs (every one CONVERGED or DIVERGED), the check
blocks left are skipped: the loop over blocks is a ``while_loop`` whose condition, a `lax.psum`
over the named point axis, is the same for the whole batch, so it stays a real loop under
``vmap`` (per configuration of a hyperparameter grid: there ``vmap`` holds a finished
configuration's carry). Skipping changes no output, since a stopped point's params, status and
steps never change again. With a trajectory to record the blocks stay a fixed-length scan.
Kernels are cached per (optimizer, surface, configuration); jax's own cache then compiles once
per shape.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jaxopt_lab.surfaces import Surface
from jaxopt_lab.engine._cache import KERNELS
from jaxopt_lab.engine._rules import decode_stop, judged_stop, make_judge, nearest_basin
from jaxopt_lab.engine._status import STATUS_DTYPE

#: The vmapped point axis, named so that a check can ask whether any point of the batch runs.
POINTS_AXIS = "points"

class KernelConfig(NamedTuple):
    """Everything static about a sweep besides the optimizer, the surface and the shapes."""

    num_steps: int
    gtol: float
    xtol: float
    basin_radius: float
    layout: str  # "array" | "coordinates"
    unroll: int
    record_loss_every: int | None
    record_trajectory: bool
    hyperparam_names: tuple[str, ...]  # empty: ``optimizer`` is a transformation, not a factory
    check_every: int = 1
    #: Also return ``steps_run``: the steps the batch actually ran (less than ``num_steps`` where
    #: every point stopped early and the blocks left were skipped; per configuration of a grid),
    #: repeated for each point. For tests and benchmarks; `jl.sweep` does not ask for it.
    report_steps_run: bool = False


def _where(mask: jax.Array, new, old):
    return jax.tree.map(lambda a, b: jnp.where(mask, a, b), new, old)


def optimizer_step(tx: optax.GradientTransformation, value_fn: Callable, extra_args: bool,
                   params, state, value: jax.Array | None, grad):
    """``(params + update, state)`` from the gradient (and, for extra-args ones, the value)."""
    if extra_args:
        updates, state = tx.update(grad, state, params, value=value, grad=grad,
                                   value_fn=value_fn)
    else:
        updates, state = tx.update(grad, state, params)
    return optax.apply_updates(params, updates), state


def bare_step(tx: optax.GradientTransformation, value_fn: Callable) -> Callable:
    """The hand-written loop's scan step ``(params, state) -> (params + update, state)``.

    Extra-args transformations get ``value``, ``grad`` and ``value_fn``; the others only the
    gradient. The sweep's blocks and `jaxopt_lab.bench`'s baseline both run exactly this.
    """
    value_and_grad = jax.value_and_grad(value_fn)
    extra_args = isinstance(tx, optax.GradientTransformationExtraArgs)

    def step(carry, _):
        params, state = carry
        if extra_args:
            value, grad = value_and_grad(params)
        else:
            value, grad = None, jax.grad(value_fn)(params)
        return optimizer_step(tx, value_fn, extra_args, params, state, value, grad), None

    return step


def _build(optimizer: Any, surface: Surface, config: KernelConfig) -> Callable:
    minima = surface.minima_array
    coordinates = config.layout == "coordinates"
    value_fn = (lambda p: surface.fn(jnp.stack(p))) if coordinates else surface.fn
    value_and_grad = jax.value_and_grad(value_fn)
    as_vector = (lambda p: jnp.stack(p)) if coordinates else (lambda p: p)

    def make_optimizer(hyperparams):
        if not config.hyperparam_names:
            return optimizer
        tx = optimizer(**hyperparams)
        if not isinstance(tx, optax.GradientTransformation):
            raise TypeError(f"optimizer factory must return an optax transformation, got {tx!r}")
        return tx

    judge = make_judge(surface, config.gtol, config.xtol, config.layout)

    def run_one(start, hyperparams):
        tx = make_optimizer(hyperparams)
        extra_args = isinstance(tx, optax.GradientTransformationExtraArgs)
        plain_step = bare_step(tx, value_fn)

        def any_running(stop: jax.Array) -> jax.Array:
            """Whether some point of the batch still runs: unbatched, so loops can stop."""
            return lax.psum((stop < 0).astype(jnp.int32), POINTS_AXIS) > 0

        def traced_step(carry, _):
            """`plain_step`, also recording the path (a frozen point's stays where it froze)."""
            (params, state), (frozen, running) = carry
            (params_next, state), _ = plain_step((params, state), None)
            return ((params_next, state), (frozen, running)), as_vector(
                _where(running, params, frozen))

        def checked_block(carry, length):
            """``length`` plain steps, then a check; (carry, path of the block or None).

            The first step takes the value and gradient the previous check computed at the
            same params (for a running point; a stopped one's are discarded), so a check costs
            no gradient of its own. Measured against one scan of all ``length`` steps (the
            previous form): 3-5 % faster on Rosenbrock, 11-15 % on a Himmelblau sweep that
            exits early (2-core CPU). The step peeled out of the scan is fused differently by
            XLA, so results agree with the plain loop to float rounding, not always to the bit
            (float32, 65,536 points: momentum identical; Adam differs in the last bits of
            5-40 % of the points, and one Himmelblau point in 65,536 stopped one check apart;
            with a grid's traced learning rate, momentum as well: 7 points in 65,536).
            """
            params, state, value, grad, stop, t = carry
            running = stop < 0
            first_params, state = optimizer_step(tx, value_fn, extra_args, params, state,
                                                 value if extra_args else None, grad)
            rest = length - 1
            path = None
            if config.record_trajectory:
                path = as_vector(params)[None]
                if rest:
                    ((new_params, state), _), rest_path = lax.scan(
                        traced_step, ((first_params, state), (params, running)), None,
                        length=rest, unroll=max(min(config.unroll, rest), 1))
                    path = jnp.concatenate([path, rest_path])
                else:
                    new_params = first_params
            elif rest:
                (new_params, state), _ = lax.scan(plain_step, (first_params, state), None,
                                                  length=rest,
                                                  unroll=max(min(config.unroll, rest), 1))
            else:
                new_params = first_params
            t = t + length
            value, grad = value_and_grad(new_params)
            ok, converged, finite = judge(new_params, value, grad)
            stop = judged_stop(stop, ok, converged, t)
            params = _where(running & finite, new_params, params)
            return (params, state, value, grad, stop, t), path

        def run_checked(carry, length):
            """``length`` steps, checked every ``check_every`` and at the end.

            Without a trajectory to record, the blocks stop as soon as no point of the batch
            runs: a stopped point's params, status and steps never change again, so the blocks
            left would change none of the outputs.
            """
            every = config.check_every
            if not config.record_trajectory:
                if length // every:
                    def unfinished(indexed):
                        index, carry = indexed
                        return (index < length // every) & any_running(carry[4])

                    _, carry = lax.while_loop(
                        unfinished, lambda indexed: (indexed[0] + 1,
                                                     checked_block(indexed[1], every)[0]),
                        (jnp.array(0, jnp.int32), carry))
                if length % every:
                    carry = lax.cond(any_running(carry[4]),
                                     lambda carry: checked_block(carry, length % every)[0],
                                     lambda carry: carry, carry)
                return carry, None
            paths = []
            if length // every:
                carry, path = lax.scan(lambda c, _: checked_block(c, every), carry, None,
                                       length=length // every)
                paths.append(path.reshape((-1,) + path.shape[2:]))
            if length % every:
                carry, path = checked_block(carry, length % every)
                paths.append(path)
            return carry, jnp.concatenate(paths)

        value, grad = value_and_grad(start)
        ok, converged, _ = judge(start, value, grad)
        t = jnp.array(0, jnp.int32)
        stop = judged_stop(jnp.array(-1, jnp.int32), ok, converged, t)
        carry = (start, tx.init(start), value, grad, stop, t)
        outputs = {}
        every = config.record_loss_every
        if every:
            def record_block(carry, _):
                loss = value_fn(carry[0])
                carry, path = run_checked(carry, every)
                return carry, (loss, path)

            carry, (history, path) = lax.scan(record_block, carry, None,
                                              length=config.num_steps // every)
            paths = [] if path is None else [path.reshape((-1,) + path.shape[2:])]
            if config.num_steps % every:
                carry, path = run_checked(carry, config.num_steps % every)
                paths += [] if path is None else [path]
        else:
            carry, path = run_checked(carry, config.num_steps)
            paths = [path]
        params, _, _, _, stop, steps_run = carry
        status, steps = decode_stop(stop)
        if config.report_steps_run:
            outputs["steps_run"] = steps_run
        vector = as_vector(params)
        value = value_fn(params)
        basin = nearest_basin(vector, status, minima, config.basin_radius)
        if config.record_trajectory:
            outputs["trajectory"] = jnp.concatenate(paths + [vector[None]], axis=0)
        if every:
            outputs["loss_history"] = jnp.append(history, value)
        outputs.update(params=vector, loss=value, status=status.astype(STATUS_DTYPE), steps=steps,
                       basin=basin)
        return outputs

    def run_points(starts, hyperparams):
        if coordinates:
            starts = tuple(starts[:, i] for i in range(starts.shape[1]))
        return jax.vmap(run_one, in_axes=(0, None), axis_name=POINTS_AXIS)(starts, hyperparams)

    if config.hyperparam_names:
        run_points = jax.vmap(run_points, in_axes=(None, 0))
    return jax.jit(run_points)


def get_kernel(optimizer: Any, surface: Surface, config: KernelConfig) -> Callable:
    """The jitted ``f(starts (N, dim), hyperparams {name: (C,)}) -> dict of outputs``, cached."""
    return KERNELS.get((optimizer, surface, config), lambda: _build(optimizer, surface, config))


def compiled(kernel: Callable, starts: jax.ShapeDtypeStruct, hyperparams: dict) -> Callable:
    """``kernel`` compiled ahead of time for these shapes: raises where it does not lower.

    `jl.sweep` calls this on a GPU to decide between fused and scan (``backend="auto"``), and
    before running batches side by side on a CPU (so threads never race to compile the same
    shapes). The executable is cached: a second sweep of the same shapes compiles nothing.
    """
    shapes = {name: jax.ShapeDtypeStruct(np.shape(value), value.dtype,
                                         sharding=getattr(value, "sharding", None))
              for name, value in hyperparams.items()}
    key = ("compiled", kernel, starts.shape, str(starts.dtype), starts.sharding,
           tuple((name, s.shape, str(s.dtype), s.sharding) for name, s in sorted(shapes.items())))
    return KERNELS.get(key, lambda: kernel.lower(starts, shapes).compile())
