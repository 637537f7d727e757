"""The per-point program of a sweep and its loop schedule, written once for both backends.

Every point runs the loop a user would write by hand, ``params ← params + update(∇f(params))``,
and is *judged* only at check steps: ``t = 0``, every ``check_every``-th step, and ``num_steps``
(with ``record_loss_every``, the count restarts at each recorded step). A check at ``params_t``:

1. the point *fails* if ``f(params_t)``, ``∇f(params_t)`` or ``params_t`` is not finite or
   ``‖params_t‖ > surface.escape_radius``; it *converges* if ``‖∇f(params_t)‖ <= gtol`` or
   ``params_t`` is within ``xtol`` of one of ``surface.minima`` (`jaxopt_lab.engine._rules`);
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
one array). A frozen point keeps computing inside a block and is put back at each check
(masking every step would cost what checking every step costs); its optimizer state runs on
unused.

**Early exit.** Once no point of a batch runs (every one CONVERGED or DIVERGED), the check blocks
left are skipped: the loop over blocks is a ``while_loop`` whose condition asks the whole batch
(the driver's ``any_running``), so it stays a real loop. Skipping changes no output, since a
stopped point's params, status and steps never change again. With a trajectory to record the
blocks stay a fixed-length scan.

**Divergence rule.** With ``config.divergence`` (a `jaxopt_lab.engine.DivergenceRule`) a
point's optimizer state travels as ``(optimizer state, rule state, step)``: every step, the
first of a block with its check's value and the others through ``value_and_grad`` instead of
``grad``, shows the rule the loss before it while the point runs (a point stopped at the block's
start keeps its rule state), and after the last step a point still running that the rule calls
diverged becomes DIVERGED at ``num_steps``. Without a rule nothing of this is traced.

`PointProgram` holds the per-point pieces (start, step, check, finish) for one point, whose
params are a ``(dim,)`` vector or, in the ``"coordinates"`` layout, a tuple of scalars;
`checked_block`, `run_checked` and `run_schedule` are the loop schedule. A driver supplies only
what differs between backends: how a per-point piece is applied to its batch and how the plain
steps between checks loop (`jaxopt_lab.engine._scan`: ``vmap`` and ``lax.scan``;
`jaxopt_lab.engine._fused`: lane vectors and ``fori_loop`` inside one Pallas kernel).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxopt_lab.engine._rules import (decode_stop, judged_stop, make_judge, nearest_basin,
                                      nearest_basin_unrolled)
from jaxopt_lab.surfaces import Surface

#: A point's loop state between blocks: (params, optimizer state, value and gradient at
#: params, stop code, steps taken).
Carry = tuple
#: ``stop`` sits here in a `Carry`.
STOP = 4


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
    #: The hyperparameters hold one value per point (``(P,)``) instead of a grid of
    #: configurations: no configuration axis, each point built from its own values.
    per_point_hyperparams: bool = False
    #: A `jaxopt_lab.engine.DivergenceRule` fed every step's loss, or None (the bare steps then
    #: compute only gradients).
    divergence: Any = None


def where(mask: jax.Array, new, old):
    """``new`` where ``mask``, else ``old``, leaf by leaf (a point's params in either layout)."""
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


class PointProgram:
    """One point's program on ``surface`` under ``config``: start, step, check, finish.

    Every method is written for a single point; a driver maps it over its batch.
    ``unrolled_minima`` compares a point with the surface's minima one by one instead of as
    one array: for a driver that evaluates a program element by element anyway.
    """

    def __init__(self, optimizer: Any, surface: Surface, config: KernelConfig, *,
                 unrolled_minima: bool = False):
        self.config = config
        coordinates = config.layout == "coordinates"
        self.value_fn = (lambda p: surface.fn(jnp.stack(p))) if coordinates else surface.fn
        self.value_and_grad = jax.value_and_grad(self.value_fn)
        self.as_vector = (lambda p: jnp.stack(p)) if coordinates else (lambda p: p)
        self.judge = make_judge(surface, config.gtol, config.xtol, config.layout,
                                unrolled_minima=unrolled_minima)
        self.minima = surface.minima_array
        self.nearest_basin = nearest_basin_unrolled if unrolled_minima else nearest_basin
        self._optimizer = optimizer
        self.rule = config.divergence

    def optimizer(self, hyperparams: dict) -> optax.GradientTransformation:
        """The transformation itself, or the factory's for one configuration of the grid."""
        if not self.config.hyperparam_names:
            return self._optimizer
        tx = self._optimizer(**hyperparams)
        if not isinstance(tx, optax.GradientTransformation):
            raise TypeError(f"optimizer factory must return an optax transformation, got {tx!r}")
        return tx

    def begin(self, start, tx: optax.GradientTransformation):
        """(optimizer state, value, gradient, stop code) at ``start``, judged at step 0.

        With a divergence rule the state is ``(optimizer state, rule state, step)``.
        """
        value, grad = self.value_and_grad(start)
        ok, converged, _ = self.judge(start, value, grad)
        stop = judged_stop(jnp.array(-1, jnp.int32), ok, converged, jnp.array(0, jnp.int32))
        state = tx.init(start)
        if self.rule is not None:
            state = (state, self.rule.init(value, self.config.num_steps),
                     jnp.array(0, jnp.int32))
        return state, value, grad, stop

    def _observed(self, state, value, running):
        """``state`` having shown the rule the loss ``value`` before its step (a running
        point's; a stopped one keeps its rule state): (optimizer state, the rest after)."""
        inner, rule_state, index = state
        seen = self.rule.update(rule_state, value, index, self.config.num_steps)
        return inner, (where(running, seen, rule_state), index + 1)

    def first_step(self, params, state, value, grad, tx: optax.GradientTransformation,
                   running=True):
        """A block's first step, from the value and gradient its check computed at ``params``."""
        extra_args = isinstance(tx, optax.GradientTransformationExtraArgs)
        if self.rule is None:
            return optimizer_step(tx, self.value_fn, extra_args, params, state,
                                  value if extra_args else None, grad)
        inner, rest = self._observed(state, value, running)
        params, inner = optimizer_step(tx, self.value_fn, extra_args, params, inner,
                                       value if extra_args else None, grad)
        return params, (inner, *rest)

    def step(self, params, state, tx: optax.GradientTransformation, running=True):
        """One plain step: the hand-written loop's (with a rule, also its loss shown to it)."""
        if self.rule is None:
            (params, state), _ = bare_step(tx, self.value_fn)((params, state), None)
            return params, state
        value, grad = self.value_and_grad(params)
        return self.first_step(params, state, value, grad, tx, running)

    def judged_by_rule(self, state, stop):
        """The stop code after the rule's judgement at the end: a point still running that the
        rule calls diverged is DIVERGED at ``num_steps``."""
        if self.rule is None:
            return stop
        diverged = jnp.asarray(self.rule.diverged(state[1]), bool)
        return judged_stop(stop, ~diverged, jnp.zeros((), bool),
                           jnp.array(self.config.num_steps, jnp.int32))

    def check(self, params, new_params, stop, t):
        """Judge ``new_params`` at step ``t``: (params kept, value, gradient, stop code).

        A running point that stays finite moves to ``new_params``; a stopped one, or one whose
        params are no longer finite, keeps ``params`` (those of the previous check).
        """
        value, grad = self.value_and_grad(new_params)
        ok, converged, finite = self.judge(new_params, value, grad)
        running = stop < 0
        stop = judged_stop(stop, ok, converged, t)
        return where(running & finite, new_params, params), value, grad, stop

    def finish(self, params, stop):
        """(final point as a vector, loss, status (int32), steps, basin) of a point's run."""
        status, steps = decode_stop(stop)
        vector = self.as_vector(params)
        basin = self.nearest_basin(vector, status, self.minima, self.config.basin_radius)
        return vector, self.value_fn(params), status, steps, basin


def checked_block(carry: Carry, length: int, first_step: Callable, steps: Callable,
                  check: Callable) -> tuple[Carry, Any]:
    """``length`` steps, then a check: (carry, path of the block, or None).

    The first step ``first_step(params, state, value, grad, stop)`` takes the value and gradient
    the previous check computed at the same params (for a running point; a stopped one's are
    discarded), so a check costs no gradient of its own;
    ``steps(params, state, rest, params_before, stop)`` runs the ``length - 1`` plain steps left
    (and records their path, if the driver does).
    """
    params, state, value, grad, stop, t = carry
    new_params, state = first_step(params, state, value, grad, stop)
    (new_params, state), path = steps(new_params, state, length - 1, params, stop)
    t = t + length
    params, value, grad, stop = check(params, new_params, stop, t)
    return (params, state, value, grad, stop, t), path


def run_checked(config: KernelConfig, block: Callable, any_running: Callable, carry: Carry,
                length: int, *, conditional_rest: bool) -> tuple[Carry, Any]:
    """``length`` steps, checked every ``check_every`` and at the end: (carry, path or None).

    Without a trajectory to record, the blocks stop as soon as ``any_running(stop)`` says no
    point of the batch runs: a stopped point's params, status and steps never change again, so
    the blocks left would change none of the outputs. ``conditional_rest`` skips a last, shorter
    block the same way (a driver whose compiler takes no ``cond`` runs it).
    """
    every = config.check_every
    full, rest = divmod(length, every)
    if not config.record_trajectory:
        if full:
            _, carry = lax.while_loop(
                lambda indexed: (indexed[0] < full) & any_running(indexed[1][STOP]),
                lambda indexed: (indexed[0] + 1, block(indexed[1], every)[0]),
                (jnp.array(0, jnp.int32), carry))
        if rest and conditional_rest:
            carry = lax.cond(any_running(carry[STOP]), lambda carry: block(carry, rest)[0],
                             lambda carry: carry, carry)
        elif rest:
            carry = block(carry, rest)[0]
        return carry, None
    paths = []
    if full:
        carry, path = lax.scan(lambda carry, _: block(carry, every), carry, None, length=full)
        paths.append(path.reshape((-1,) + path.shape[2:]))
    if rest:
        carry, path = block(carry, rest)
        paths.append(path)
    return carry, jnp.concatenate(paths)


def run_schedule(config: KernelConfig, run_checked: Callable[[Carry, int], tuple[Carry, Any]],
                 loop_records: Callable, carry: Carry) -> tuple[Carry, Any, list]:
    """All ``num_steps``: (carry, loss history or None, paths of the stretches).

    With ``record_loss_every = k``, ``loop_records(stretch, carry, count)`` runs ``count``
    stretches of k steps, recording the loss at each one's start (the check interval counted
    afresh in each), and returns (carry, history or None, paths or None); the steps left over
    follow.
    """
    every = config.record_loss_every
    if not every:
        carry, path = run_checked(carry, config.num_steps)
        return carry, None, [path]
    carry, history, path = loop_records(lambda carry: run_checked(carry, every), carry,
                                        config.num_steps // every)
    paths = [] if path is None else [path.reshape((-1,) + path.shape[2:])]
    if config.num_steps % every:
        carry, path = run_checked(carry, config.num_steps % every)
        paths += [] if path is None else [path]
    return carry, history, paths
