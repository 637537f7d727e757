"""`jl.sweep`: check the arguments, plan, choose a backend, run the chunks, assemble the result.

`sweep` checks its arguments, plans the run (`jaxopt_lab.engine._plan`: chunks sized from a
memory budget, blocks, layout, check interval), picks the backend that runs the per-point
program (the ``jit(vmap(scan))`` of `jaxopt_lab.engine._scan`, or, on a GPU by default, one
Pallas kernel per block of points, `jaxopt_lab.engine._fused`), runs the chunks sharded over the
devices (`jaxopt_lab.engine._chunks`), optionally checkpointing each, and returns a `SweepResult`.

Several hosts: under ``jax.distributed`` every process makes the same ``jl.sweep`` call; each
runs its share of the chunks on its own devices and every process gets the whole result (or
process 0 only, or none: ``Engine.gather``), equal bit for bit to one process's
(`jaxopt_lab.engine._distributed`; the guide's "Sweeps beyond one machine").

>>> import jax.numpy as jnp, optax, jaxopt_lab as jl
>>> bowl = jl.Surface("bowl", lambda x: jnp.sum(x**2), 2, ((-1.0, 1.0), (-1.0, 1.0)),
...                   minima=((0.0, 0.0),), f_min=0.0, escape_radius=10.0)
>>> starts = jnp.array([[1.0, -1.0], [0.5, 0.0], [jnp.nan, 0.0]])
>>> exact = jl.Engine(check_every=1)
>>> result = jl.sweep(optax.sgd(0.25), bowl, starts, 100, progress=False, engine=exact)
>>> [jl.Status(s).name for s in result.status.tolist()], result.steps.tolist()
(['CONVERGED', 'CONVERGED', 'DIVERGED'], [27, 25, 0])
>>> jl.sweep(optax.sgd(0.25), bowl, starts, 100, progress=False,
...          engine=jl.Engine(check_every=10)).steps.tolist()
[30, 30, 0]
>>> result.basin.tolist()
[0, 0, -1]
>>> grid = jl.sweep(optax.sgd, bowl, starts, 100, hyperparams={"learning_rate": [0.25, 1.5]},
...                 progress=False)
>>> grid.status.tolist()  # learning rate 1.5 overshoots farther every step: escapes
[[1, 1, 2], [2, 2, 2]]
>>> paired = jl.sweep(optax.sgd, bowl, starts[:2], 100, progress=False,
...                   hyperparams={"learning_rate": [0.25, 1.5]}, hyperparams_per_point=True)
>>> paired.status.tolist()  # start 0 with 0.25, start 1 with 1.5: the grid's diagonal
[1, 2]
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jaxlib
import numpy as np
import optax

from jaxopt_lab.engine import _distributed, _fused
from jaxopt_lab.engine._arguments import BASIN_FRACTION as BASIN_FRACTION
from jaxopt_lab.engine._arguments import check_sweep_arguments
from jaxopt_lab.engine._checkpoint import open_store
from jaxopt_lab.engine._chunks import chunk_runner, run_chunks
from jaxopt_lab.engine._divergence import DivergenceRule, state_from_outputs
from jaxopt_lab.engine._errors import EngineOptionError, NotElementwise
from jaxopt_lab.engine._inspect import check_optimizer, optimizer_facts, optimizer_name
from jaxopt_lab.engine._memory import check_outputs_fit
from jaxopt_lab.engine._options import Engine
from jaxopt_lab.engine._paths import trajectories as record_paths
from jaxopt_lab.engine._plan import SweepPlan, make_plan, point_sharding, replicated
from jaxopt_lab.engine._result import SweepResult
from jaxopt_lab.engine._scan import compiled, get_kernel
from jaxopt_lab.surfaces import Surface

__all__ = ["SweepResult", "sweep"]

#: Platforms whose Pallas kernels compile (Triton); elsewhere a fused kernel is interpreted.
FUSED_PLATFORMS = ("gpu", "cuda", "rocm")


def _fused_kernel(optimizer: Any, surface: Surface, plan: SweepPlan, mesh, interpret: bool):
    return _fused.get_kernel(optimizer, surface, plan.kernel_config(), interpret=interpret,
                             mesh=mesh)


def _select_kernel(plan: SweepPlan, optimizer: Any, surface: Surface, sharding,
                   chunk: jax.ShapeDtypeStruct, hyperparams: dict) -> tuple[Callable, str, str]:
    """(kernel, backend that runs, why) for the backend ``plan`` asks for on its devices."""
    platform, mesh = plan.platform, sharding.mesh
    scan = lambda: get_kernel(optimizer, surface, plan.kernel_config(),
                              None if plan.blocks_per_device else mesh)
    if plan.backend == "scan":
        return scan(), "scan", "backend='scan' was asked for"
    unfused = [what for what, used in (("hyperparams_per_point=True", plan.per_point_hyperparams),
                                       ("a divergence rule", plan.divergence is not None)) if used]
    if plan.backend == "fused" and unfused:
        raise EngineOptionError(
            "backend", f"backend='fused' does not take {' or '.join(unfused)} (its lanes hold "
            "one configuration and no loss curve): use backend='scan' or the default")
    if unfused:
        return scan(), "scan", f"the fused kernels take no {' or '.join(unfused)}"
    if plan.backend == "fused":
        if surface.dim > _fused.MAX_DIM:
            raise EngineOptionError(
                "backend", f"backend='fused' takes surfaces of dim <= {_fused.MAX_DIM} (every "
                f"number of a point lives in registers), got dim {surface.dim}: use "
                "backend='scan'")
        interpret = platform not in FUSED_PLATFORMS
        kernel = _fused_kernel(optimizer, surface, plan, mesh, interpret)
        try:  # traced now, so an optimizer the fused kernel cannot take fails before any work
            jax.eval_shape(kernel, chunk, hyperparams)
        except NotElementwise as error:
            raise NotElementwise(f"backend='fused' cannot run this optimizer on surface "
                                 f"{surface.name!r}: {error}") from None
        why = "backend='fused' was asked for" + (
            f" (Pallas interpreter: {platform} compiles no fused kernel)" if interpret else "")
        return kernel, "fused", why
    if platform == "tpu":
        return scan(), "scan", ("a TPU: the scan lowers there as one XLA program; the fused "
                                "kernels are written for GPUs (Triton)")
    if platform not in FUSED_PLATFORMS:
        return scan(), "scan", f"fused kernels compile on a GPU; this is {platform}"
    if surface.dim > _fused.MAX_DIM:
        return scan(), "scan", (f"dim {surface.dim} > {_fused.MAX_DIM}: too many numbers per "
                                "point for a fused kernel's registers")
    try:
        kernel = _fused_kernel(optimizer, surface, plan, mesh, interpret=False)
        return compiled(kernel, chunk, hyperparams), "fused", \
            "a GPU, and the fused kernel compiles for this optimizer and surface"
    except Exception as error:  # whatever stops the kernel compiling: say it, run the scan
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        why = f"the fused kernel does not compile here ({type(error).__name__}: {message[:200]})"
        warnings.warn(f"jl.sweep: {why}; running the scan backend", RuntimeWarning, stacklevel=3)
        return scan(), "scan", why


def _describe(plan: SweepPlan, optimizer: Any, probe: optax.GradientTransformation,
              surface: Surface, dtype, backend: str) -> dict[str, Any]:
    """The sweep's metadata as far as it determines the result (and the batches it ran)."""
    return {
        "optimizer": optimizer_name(optimizer, probe),
        "hyperparams": list(plan.hyperparam_names),
        "surface": {"name": surface.name, "dim": surface.dim, "bounds": surface.bounds,
                    "minima": surface.minima,
                    "escape_radius": surface.escape_radius if math.isfinite(surface.escape_radius)
                    else None},
        "num_points": plan.num_points, "num_steps": plan.num_steps, **plan.criteria._asdict(),
        "record_loss_every": plan.record_loss_every, "layout": plan.layout,
        "unroll": plan.unroll, "check_every": plan.check_every, "chunk_size": plan.chunk_size,
        "block_points": plan.block.points, "block_configs": plan.block.configs,
        "batches": plan.batches, "dtype": str(dtype),
        "backend": backend,
        # Only when used: a sweep without them keeps the description (and checkpoints) it had.
        **({"hyperparams_per_point": True} if plan.per_point_hyperparams else {}),
        **({} if plan.divergence is None else {"divergence": _rule_name(plan.divergence)}),
    }


def _rule_name(rule: DivergenceRule) -> str:
    """The divergence rule as metadata names it: its judgement's ``module.qualname``."""
    judge = rule.diverged
    return f"{getattr(judge, '__module__', '?')}.{getattr(judge, '__qualname__', '?')}"


def _finish_metadata(description: dict, plan: SweepPlan, loaded: int, backend_reason: str,
                     metadata: Mapping[str, Any] | None, held: range) -> dict[str, Any]:
    device = plan.devices[0]
    description = dict(
        description, num_points=len(held), first_point=held.start, total_points=plan.num_points,
        jax=jax.__version__, jaxlib=jaxlib.__version__, optax=optax.__version__,
        device=f"{device.platform}:{getattr(device, 'device_kind', '')}",
        num_devices=len(plan.devices), chunks_loaded=loaded, backend_reason=backend_reason,
        num_processes=jax.process_count(), global_device_count=jax.device_count(),
        **dict(metadata or {}))
    return json.loads(json.dumps(description))  # as `SweepResult.load` will read it


def _loss_steps(plan: SweepPlan) -> np.ndarray | None:
    every = plan.record_loss_every
    if not every:
        return None
    return np.append(np.arange(plan.num_steps // every) * every, plan.num_steps)


@_distributed.reporting_failures
def sweep(
    optimizer: optax.GradientTransformation | Callable[..., optax.GradientTransformation],
    surface: Surface,
    starts: Any,
    num_steps: int,
    *,
    hyperparams: Mapping[str, Any] | None = None,
    gtol: float | None = None,
    xtol: float | None = None,
    basin_radius: float | None = None,
    record_loss_every: int | None = None,
    trajectories: Sequence[int] | None = None,
    checkpoint: str | None = None,
    progress: bool | None = None,
    metadata: Mapping[str, Any] | None = None,
    engine: Engine | None = None,
    hyperparams_per_point: bool = False,
    divergence: DivergenceRule | None = None,
) -> SweepResult:
    """Run ``optimizer`` for ``num_steps`` from every point of ``starts`` on ``surface``.

    Args:
      optimizer: an optax transformation (extra-args ones receive ``value``, ``grad`` and
        ``value_fn=surface.fn``), or a factory such as ``optax.adam`` called with ``hyperparams``.
      surface: a `jaxopt_lab.surfaces.Surface`; its ``minima`` and ``escape_radius`` judge points.
      starts: ``(P, dim)`` points, or an object with ``.points`` (`jl.starts.grid`).
      num_steps: optimizer updates per point, >= 1.
      hyperparams: ``{name: (C,)}`` for a factory; every result field gains a leading C axis
        (the C × P product grid), or with ``hyperparams_per_point`` ``{name: (P,)}``.
      gtol: converged when ``‖∇f‖ <= gtol``. Default: √eps of the starts' dtype (1.5e-8 in
        float64, 3.5e-4 in float32), the classic tolerance for a computed gradient.
      xtol: converged when within ``xtol`` of a listed minimum. Default √eps as for ``gtol``.
      basin_radius: ``basin`` is the nearest minimum within this distance of the final point.
        Default: `BASIN_FRACTION` of the diagonal of ``surface.bounds``.
      record_loss_every: record the loss every k steps (and at the end) in ``loss_history``.
      trajectories: indices of points whose whole paths to keep (``(…, S, num_steps + 1, dim)``);
        a result of a share of the points keeps those in its share.
      checkpoint: directory; each finished chunk is saved there and a rerun of the same sweep
        loads it instead of recomputing it (under ``jax.distributed``, process K of N in its
        ``process-K-of-N`` subdirectory, resumed only on N processes).
      progress: tqdm bar over chunks; default only on a terminal with several chunks.
      metadata: extra JSON-serializable entries for ``result.metadata``.
      engine: how to run it (`jaxopt_lab.Engine`: backend, layout, unroll, check interval,
        chunks, batches, memory budget, devices); default ``Engine()``, chosen per device.
      hyperparams_per_point: pair start ``i`` with the values ``hyperparams[name][i]`` instead
        of running every start under every configuration: no C axis, and the hyperparameters
        are cut into chunks and blocks with their points (a grid of N settings over one
        repeated start runs as N points, no padding). The scan backend runs it.
      divergence: a `jaxopt_lab.engine.DivergenceRule` shown the loss before every step of a
        running point (e.g. `jaxopt_lab.engine.mean_normalized_loss_rule`, Sohl-Dickstein
        2024); a point still running after ``num_steps`` that it calls diverged is DIVERGED at
        ``num_steps``. The sweep's own failure checks stay. Its final states are
        ``result.divergence_state`` (a stopped point's as of the check that stopped it). Without
        a rule the steps between checks compute no loss. The scan backend runs it.

    Divergence is data: a point with a non-finite value, gradient or position, or beyond the
    escape radius at a check is DIVERGED (a NaN start at step 0) and frozen where it failed (at
    the previous check where its position was no longer finite). A failure that undoes itself
    between two checks (a NaN loss with a finite gradient, an excursion past the escape radius)
    is only seen with ``Engine(check_every=1)``.

    Under ``jax.distributed`` every process makes the same call and runs its share of the
    chunks; ``Engine.gather`` says who gets the whole result: every process (``"all"``, the
    default), process 0 (``"first"``), or none (``"none"``). A process that does not get it
    returns its own contiguous share of the points: ``metadata["first_point"]`` (its first
    start's index in ``starts``), ``["num_points"]`` (its points) and ``["total_points"]``
    (the sweep's), and only the ``trajectories`` of its points, with ``trajectory_indices``
    counted from its first point like every other field; `SweepResult.concatenate` of every
    process's saved share is the whole result, bit for bit. In one process every mode returns
    the whole result.

    Returns:
      A `jaxopt_lab.SweepResult` of ``jax.Array`` fields: ``params`` ``(…, P, dim)``, ``loss``,
      ``status``, ``steps`` and ``basin`` ``(…, P)``, the recorded ``loss_history`` and
      ``trajectories`` (or None) and ``metadata``; ``…`` is the C axis of ``hyperparams``, and
      ``P`` the points of the starts this process holds (all, unless ``Engine.gather`` says
      otherwise).

    Raises:
      TypeError: if ``surface`` is not a ``Surface``, ``engine`` not an ``Engine`` (or its
        ``devices`` not devices), ``starts`` not real numbers (strings, objects, bools, complex),
        a ``hyperparams`` value not real numbers, a ``trajectories`` index not an integer,
        ``divergence`` not a ``DivergenceRule``, ``hyperparams_per_point`` without hyperparams,
        ``metadata`` not a mapping of str keys to JSON values, or ``optimizer`` and
        ``hyperparams`` do not fit together (a transformation with ``hyperparams``, a factory
        without them or with other names).
      ValueError: if ``starts`` is not ``(P, dim)`` with P >= 1 or holds an integer beyond its
        float dtype's range, ``num_steps`` is not an integer in [1, 2**30 - 1] (the stop code's
        range) or ``record_loss_every`` in [1, num_steps], ``gtol``, ``xtol`` or
        ``basin_radius`` is not a finite number >= 0, the ``hyperparams`` arrays are not 1-D of
        one common length (P with ``hyperparams_per_point``), a ``trajectories`` index is not
        a point of ``starts``, or a ``metadata`` key is one of the engine's own entries; or
        ``checkpoint`` is a file, or a directory that holds another sweep, chunks without a
        manifest, or a layout of another version (a damaged or foreign chunk file in it is
        recomputed with a ``RuntimeWarning`` naming the file, never used).
      jaxopt_lab.engine.EngineOptionError: if the result (loss history and trajectories
        included; the share of it this process holds) would not fit the memory budget
        (``Engine.memory_budget``), ``Engine.devices`` holds another process's device, or
        ``backend="fused"`` is asked for with ``hyperparams_per_point`` or ``divergence``;
        raised before any work.
    """
    (starts, num_steps, hyperparams, criteria, record_loss_every, indices, metadata,
     per_point, divergence) = check_sweep_arguments(
        surface, starts, num_steps, hyperparams=hyperparams, gtol=gtol, xtol=xtol,
        basin_radius=basin_radius, record_loss_every=record_loss_every, trajectories=trajectories,
        checkpoint=checkpoint, progress=progress, metadata=metadata, engine=engine,
        hyperparams_per_point=hyperparams_per_point, divergence=divergence)
    probe, hyperparams = check_optimizer(optimizer, hyperparams)
    names = tuple(hyperparams)
    facts = optimizer_facts(optimizer, probe, names, surface.dim, starts.dtype)
    plan = make_plan(engine or Engine(), num_points=starts.shape[0], dim=surface.dim,
                     itemsize=starts.dtype.itemsize, num_steps=num_steps, hyperparam_names=names,
                     num_configs=len(next(iter(hyperparams.values())))
                     if names and not per_point else 1,
                     criteria=criteria, record_loss_every=record_loss_every,
                     takes_coordinates=facts.takes_coordinates, state_size=facts.state_size,
                     per_point_hyperparams=per_point, divergence=divergence)
    # Under jax.distributed with Engine.gather, this process holds only its share.
    gather = (engine or Engine()).gather
    held = _distributed.held_points(plan.num_points, plan.chunk_size, gather)
    indices = _distributed.paths_in(indices, held)
    budget = check_outputs_fit(engine, num_points=len(held), num_configs=plan.num_configs,
                               dim=surface.dim, dtype=starts.dtype, num_steps=num_steps,
                               record_loss_every=record_loss_every,
                               num_paths=0 if indices is None else len(indices))
    sharding = point_sharding(plan.devices)
    chunk = jax.ShapeDtypeStruct((plan.chunk_size, surface.dim), starts.dtype, sharding=sharding)
    # Per point, they travel with their points (cut, padded and placed chunk by chunk).
    placed_hyperparams = ({name: jax.numpy.asarray(value) for name, value in hyperparams.items()}
                          if per_point else jax.device_put(hyperparams, replicated(sharding)))
    kernel, backend, backend_reason = _select_kernel(plan, optimizer, surface, sharding, chunk,
                                                     placed_hyperparams)
    if backend == "fused":
        plan = plan.whole_chunks(backend)
    description = _describe(plan, optimizer, probe, surface, starts.dtype, backend)
    if checkpoint is not None:  # under jax.distributed: this process's own subdirectory
        checkpoint = _distributed.checkpoint_directory(checkpoint)
    store = open_store(checkpoint, optimizer=optimizer, probe=probe, surface=surface,
                       starts=starts, hyperparams=hyperparams, description=description,
                       divergence=divergence, per_point=per_point)
    run_chunk = chunk_runner(kernel, placed_hyperparams, plan, sharding)
    outputs, loaded = run_chunks(run_chunk, (starts, placed_hyperparams) if per_point else starts,
                                 plan.chunk_size, plan.point_axis, sharding, store, progress,
                                 gather)
    rule_state = None
    if divergence is not None:
        outputs, rule_state = state_from_outputs(outputs, divergence, starts.dtype, num_steps)
    # A share of the points (Engine.gather) holds the settings of its own points only.
    held_hyperparams = ({name: value[held.start:held.stop] for name, value in hyperparams.items()}
                        if per_point else hyperparams)
    return SweepResult.from_outputs(
        outputs, hyperparams=held_hyperparams, loss_steps=_loss_steps(plan),
        trajectories=record_paths(optimizer, surface, plan, starts, indices, hyperparams,
                                  budget),
        trajectory_indices=None if indices is None else indices - held.start,
        divergence_state=rule_state,
        metadata=_finish_metadata(description, plan, loaded, backend_reason, metadata, held))
