"""The sweep engine: run an optimizer from many starting points (× hyperparameters) at once.

`sweep` validates its arguments, splits the starts into chunks sized from a memory budget, shards
each chunk's point axis over the local devices, runs a cached kernel on it (on a CPU as batches
side by side, `jaxopt_lab.engine._chunks`), optionally checkpoints each finished chunk, and
returns a `SweepResult`. Two backends judge points by the
same rules (`jaxopt_lab.engine._rules`): the ``jit(vmap(scan))`` of `jaxopt_lab.engine._scan`,
whose layout and unroll follow `jaxopt_lab.engine._plan`'s measured per-backend defaults, and, on
a GPU by default, one Pallas kernel per block of points (`jaxopt_lab.engine._fused`).

Several hosts: a sweep is embarrassingly parallel over points, so under ``jax.distributed`` each
process runs its own share, sharded over its local devices, and writes its own file::

    jax.distributed.initialize()                       # coordinator address etc. from the env
    mine = starts[jax.process_index()::jax.process_count()]
    jl.sweep(tx, surface, mine, 1000).save(f"part-{jax.process_index()}.npz")

No step needs communication between hosts; join the parts afterwards.

>>> import jax.numpy as jnp, optax, jaxopt_lab as jl
>>> bowl = jl.Surface("bowl", lambda x: jnp.sum(x**2), 2, ((-1.0, 1.0), (-1.0, 1.0)),
...                   minima=((0.0, 0.0),), f_min=0.0, escape_radius=10.0)
>>> starts = jnp.array([[1.0, -1.0], [0.5, 0.0], [jnp.nan, 0.0]])
>>> result = jl.sweep(optax.sgd(0.25), bowl, starts, 100, check_every=1, progress=False)
>>> [jl.Status(s).name for s in result.status.tolist()], result.steps.tolist()
(['CONVERGED', 'CONVERGED', 'DIVERGED'], [27, 25, 0])
>>> jl.sweep(optax.sgd(0.25), bowl, starts, 100, check_every=10, progress=False).steps.tolist()
[30, 30, 0]
>>> result.basin.tolist()
[0, 0, -1]
>>> grid = jl.sweep(optax.sgd, bowl, starts, 100, hyperparams={"learning_rate": [0.25, 1.5]},
...                 progress=False)
>>> grid.status.tolist()  # learning rate 1.5 overshoots farther every step: escapes
[[1, 1, 2], [2, 2, 2]]
"""
from __future__ import annotations

import inspect
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np
import optax

from jaxopt_lab.engine import _fused, _plan
from jaxopt_lab._validation import check_choice, check_int, check_tolerance
from jaxopt_lab.engine._lanes import NotElementwise, mixing_primitives
from jaxopt_lab.surfaces import Surface
from jaxopt_lab.engine._chunks import chunk_runner, run_chunks
from jaxopt_lab.engine._scan import KernelConfig, compiled, get_kernel
from jaxopt_lab.engine._result import ChunkStore, SweepResult, fingerprint

__all__ = ["SweepResult", "sweep"]

#: Share of the bounds' diagonal within which a final point counts as in a minimum's basin.
BASIN_FRACTION = 0.01
#: Fields with the point axis, in the order the kernel returns them.
POINT_FIELDS = ("params", "loss", "status", "steps", "basin", "loss_history")
#: Engines that run a sweep (the ``backend`` argument).
BACKENDS = ("auto", "scan", "fused")
#: Platforms whose Pallas kernels compile (Triton); elsewhere a fused kernel is interpreted.
FUSED_PLATFORMS = ("gpu", "cuda", "rocm")


def _check_starts(starts: Any, dim: int) -> jax.Array:
    points = getattr(starts, "points", starts)
    try:
        points = points if isinstance(points, jax.Array) else jnp.asarray(points)
    except (TypeError, ValueError) as error:
        raise TypeError(f"starts must be a (P, {dim}) array of points, got {type(starts)}") from error
    if points.ndim != 2 or points.shape[1] != dim or points.shape[0] < 1:
        raise ValueError(f"starts must be a (P, {dim}) array with P >= 1 (surface dim {dim}), "
                         f"got shape {points.shape}")
    if not jnp.issubdtype(points.dtype, jnp.floating):
        points = points.astype(jnp.result_type(float))
    return points


def _check_optimizer(optimizer: Any, hyperparams: Mapping | None):
    """(a transformation for shapes and types, {name: (C,) array}); raise on a bad combination."""
    if isinstance(optimizer, optax.GradientTransformation):
        if hyperparams:
            raise TypeError("hyperparams need optimizer to be a factory (e.g. optax.adam), got an "
                            "already built transformation")
        return optimizer, {}
    if not callable(optimizer):
        raise TypeError("optimizer must be an optax.GradientTransformation or a factory returning "
                        f"one, got {type(optimizer).__name__}")
    if not hyperparams or not isinstance(hyperparams, Mapping):
        raise TypeError("optimizer is a factory: pass hyperparams={name: (C,) array}, "
                        f"got hyperparams={hyperparams!r}")
    arrays = {str(name): np.asarray(value) for name, value in hyperparams.items()}
    lengths = {name: array.shape for name, array in arrays.items()}
    if any(len(shape) != 1 for shape in lengths.values()) or len(set(lengths.values())) != 1 \
            or next(iter(lengths.values()))[0] < 1:
        raise ValueError(f"hyperparams must be 1-D arrays of one common length C >= 1, got shapes "
                         f"{lengths}")
    try:
        inspect.signature(optimizer).bind(**arrays)
    except TypeError as error:
        raise TypeError(f"hyperparams {sorted(arrays)} do not fit optimizer factory "
                        f"{getattr(optimizer, '__name__', optimizer)!r}: {error}") from None
    except ValueError:  # no signature (builtins): let the call below decide
        pass
    # Built once with every value concretely: range checks see them all and report the name.
    probe = optimizer(**{name: array[0] for name, array in arrays.items()})
    optimizer(**arrays)
    if not isinstance(probe, optax.GradientTransformation):
        raise TypeError(f"optimizer factory must return an optax transformation, got {probe!r}")
    return probe, arrays


def _update_call(probe: optax.GradientTransformation, value_fn: Callable) -> Callable:
    """One update of ``probe`` at ``params`` as the kernel calls it (gradient = params)."""
    def one_update(params):
        kwargs = {}
        if isinstance(probe, optax.GradientTransformationExtraArgs):
            kwargs = dict(value=value_fn(params), grad=params, value_fn=value_fn)
        return probe.update(params, probe.init(params), params, **kwargs)

    return one_update


def _takes_coordinates(probe: optax.GradientTransformation, dim: int, dtype) -> bool:
    """Whether ``probe`` may get params as a tuple of scalars instead of a ``(dim,)`` vector.

    It must trace with them (some user code wants arrays), and its update must treat each
    element on its own: a per-leaf norm (LAMB's or LARS's trust ratio, a global-norm clip,
    Adafactor's factored moments) over one coordinate is not the same optimizer as over the
    point. The update is inspected with a constant ``value_fn``, so that using the loss
    (reduce-on-plateau) does not count, while a Hessian of it (Newton) still does.
    """
    point = tuple(jax.ShapeDtypeStruct((), dtype) for _ in range(dim))
    value_fn = lambda params: sum(jnp.sum(p) for p in params)
    constant = lambda params: jnp.zeros((), dtype)
    try:
        jax.eval_shape(_update_call(probe, value_fn), point)
        vector = jax.ShapeDtypeStruct((dim,), dtype)
        return not mixing_primitives(jax.make_jaxpr(_update_call(probe, constant))(vector))
    except Exception:  # any failure to trace means: give it the (dim,) array it expects
        return False


def _optimizer_name(optimizer: Any, probe: optax.GradientTransformation) -> str:
    target = optimizer if not isinstance(optimizer, optax.GradientTransformation) else probe.update
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def _update_jaxpr(probe: optax.GradientTransformation, dim: int, dtype) -> str:
    """The jaxpr of one update: its constants are the hyperparameters a closure hides."""
    try:
        return str(jax.make_jaxpr(_update_call(probe, jnp.sum))(jnp.zeros(dim, dtype)))
    except Exception:  # an optimizer that needs more than a sum to trace; the name must do
        return ""


_FACTS: dict = {}


def _optimizer_facts(optimizer: Any, probe: optax.GradientTransformation, names: tuple,
                     dim: int, dtype) -> tuple[bool, int]:
    """(takes a tuple of coordinates, state numbers per point), traced once per optimizer."""
    key = (optimizer, names, dim, str(dtype))
    try:
        known = _FACTS.get(key)  # one lookup: another thread may clear the cache between two
    except TypeError:  # unhashable optimizer: work it out every time
        key = known = None
    if known is not None:
        return known
    state = jax.eval_shape(probe.init, jax.ShapeDtypeStruct((dim,), dtype))
    facts = (_takes_coordinates(probe, dim, dtype),
             sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(state)))
    if key is not None:
        if len(_FACTS) > 256:
            _FACTS.clear()
        _FACTS[key] = facts
    return facts


def _select_kernel(requested: str, optimizer: Any, surface: Surface, config: KernelConfig,
                   sharding, chunk: jax.ShapeDtypeStruct, hyperparams: dict
                   ) -> tuple[Callable, str, str]:
    """(kernel, backend that runs, why) for ``backend=requested`` on ``sharding``'s devices."""
    platform = sharding.mesh.devices.flat[0].platform
    mesh = sharding.mesh
    scan = lambda: get_kernel(optimizer, surface, config)
    if requested == "scan":
        return scan(), "scan", "backend='scan' was asked for"
    if requested == "fused":
        if surface.dim > _fused.MAX_DIM:
            raise ValueError(f"backend='fused' takes surfaces of dim <= {_fused.MAX_DIM} "
                             f"(every number of a point lives in registers), got dim "
                             f"{surface.dim}: use backend='scan'")
        interpret = platform not in FUSED_PLATFORMS
        kernel = _fused.get_kernel(optimizer, surface, config, interpret=interpret,
                                        mesh=mesh)
        try:  # traced now, so an optimizer the fused kernel cannot take fails before any work
            jax.eval_shape(kernel, chunk, hyperparams)
        except NotElementwise as error:
            raise NotElementwise(f"backend='fused' cannot run this optimizer on surface "
                                 f"{surface.name!r}: {error}") from None
        why = "backend='fused' was asked for" + (
            f" (Pallas interpreter: {platform} compiles no fused kernel)" if interpret else "")
        return kernel, "fused", why
    if platform not in FUSED_PLATFORMS:
        return scan(), "scan", f"fused kernels compile on a GPU; this is {platform}"
    if surface.dim > _fused.MAX_DIM:
        return scan(), "scan", (f"dim {surface.dim} > {_fused.MAX_DIM}: too many numbers per "
                                "point for a fused kernel's registers")
    try:
        kernel = _fused.get_kernel(optimizer, surface, config, interpret=False, mesh=mesh)
        return compiled(kernel, chunk, hyperparams), "fused", \
            "a GPU, and the fused kernel compiles for this optimizer and surface"
    except Exception as error:  # whatever stops the kernel compiling: say it, run the scan
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        why = f"the fused kernel does not compile here ({type(error).__name__}: {message[:200]})"
        warnings.warn(f"jl.sweep: {why}; running the scan backend", RuntimeWarning, stacklevel=3)
        return scan(), "scan", why


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
    layout: str | None = None,
    unroll: int | None = None,
    check_every: int | None = None,
    chunk_size: int | None = None,
    batches: int | None = None,
    memory_budget: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool | None = None,
    checkpoint: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    backend: str = "auto",
) -> SweepResult:
    """Run ``optimizer`` for ``num_steps`` from every point of ``starts`` on ``surface``.

    Args:
      optimizer: an optax transformation (extra-args ones receive ``value``, ``grad`` and
        ``value_fn=surface.fn``), or a factory such as ``optax.adam`` called with ``hyperparams``.
      surface: a `jaxopt_lab.surfaces.Surface`; its ``minima`` and ``escape_radius`` judge points.
      starts: ``(P, dim)`` points, or an object with ``.points`` (`jl.starts.grid`).
      num_steps: optimizer updates per point, >= 1.
      hyperparams: ``{name: (C,)}`` for a factory; every result field gains a leading C axis.
      gtol: converged when ``‖∇f‖ <= gtol``. Default: √eps of the starts' dtype (1.5e-8 in
        float64, 3.5e-4 in float32), the classic tolerance for a computed gradient.
      xtol: converged when within ``xtol`` of a listed minimum. Default √eps as for ``gtol``.
      basin_radius: ``basin`` is the nearest minimum within this distance of the final point.
        Default: `BASIN_FRACTION` of the diagonal of ``surface.bounds``.
      record_loss_every: record the loss every k steps (and at the end) in ``loss_history``.
      trajectories: indices of points whose whole paths to keep (``(…, S, num_steps + 1, dim)``).
      layout, unroll: ``"array"`` ((P, dim)) or ``"coordinates"`` (one (P,) array per coordinate)
        and the scan unroll; default per backend, see `jaxopt_lab.engine._plan`. The default
        is ``"array"`` for an optimizer whose update mixes a point's coordinates (a per-leaf
        norm, as in LAMB): given coordinates, it would take that norm over one coordinate.
      check_every: judge points (status, steps, freezing) only every this many steps, at step 0
        and at ``num_steps`` (and at each ``record_loss_every`` step); the steps between are the
        bare optimizer loop. ``steps`` is then the first *check* step meeting a criterion, and a
        point that went non-finite between checks is frozen at the last check where it was
        finite. ``1`` checks every step (exact steps, and several times slower on a CPU).
        Default `jaxopt_lab._plan.choose_check_every`: ``num_steps // 40`` within
        [1, 100] (exact below 80 steps; measured on a CPU), capped at ``num_steps``.
      chunk_size: points per chunk, rounded up to a multiple of the device count and at most
        ``P`` (so rounded); default from ``memory_budget`` (bytes; default a quarter of the
        device memory, or 1 GiB where the device does not say) and, on a CPU, about a second
        of work per chunk (`jaxopt_lab._plan.responsive_points`), so the progress bar
        moves and Ctrl-C is honoured between chunks.
      batches: on a CPU, run each chunk as this many batches side by side, one thread per
        core. Batches of points give one call's results bit for bit on surfaces of up to 8
        coordinates; beyond, and for batches of a grid's settings in float32, XLA may round a
        few numbers differently in the last bits, as a call on part of the points or of the
        grid already does (chaotic paths can amplify that; statuses agreed in every measured
        case). Default
        `jaxopt_lab._plan.choose_batches`: batches of about 8,192 2-D points (or, for
        a large hyperparameter grid over few starts, of its configurations), at least one per
        core (XLA runs such a batch's loop on one thread, with no per-kernel fork-join;
        measured 1.2-3x one call). ``1`` runs each chunk as one call, as on accelerators, on
        several devices and with the fused backend, where it is the only choice. Lowered
        where a batch would hold padding only; ``result.metadata["batches"]`` and
        ``["batch_axis"]`` say what ran.
      devices: devices to shard the point axis over (default all local devices).
      progress: tqdm bar over chunks; default only on a terminal with several chunks.
      checkpoint: directory; each finished chunk is saved there and a rerun of the same sweep
        loads it instead of recomputing it.
      metadata: extra JSON-serializable entries for ``result.metadata``.
      backend: ``"scan"`` (``jit(vmap(scan))``, `jaxopt_lab.engine._scan`), ``"fused"`` (each
        block of points runs every step inside one Pallas kernel, `jaxopt_lab.engine._fused`;
        elementwise optimizers only, surfaces up to 16-D; interpreted, hence slow, off a GPU)
        or ``"auto"``: fused on a GPU where the combination compiles, scan otherwise.
        ``result.metadata["backend"]`` says which ran and ``["backend_reason"]`` why; on a GPU
        a fallback to scan also warns.

    Divergence is data: a point with a non-finite value, gradient or position, or beyond the
    escape radius at a check is DIVERGED (a NaN start at step 0) and frozen where it failed (at
    the previous check where its position was no longer finite). A failure that undoes itself
    between two checks (a NaN loss with a finite gradient, an excursion past the escape radius)
    is only seen with ``check_every=1``.
    """
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a jaxopt_lab.surfaces.Surface, got {type(surface).__name__}")
    starts = _check_starts(starts, surface.dim)
    num_points = starts.shape[0]
    num_steps = check_int("num_steps", num_steps, 1)
    probe, hyperparam_arrays = _check_optimizer(optimizer, hyperparams)
    sqrt_eps = float(np.sqrt(np.finfo(starts.dtype).eps))
    gtol = check_tolerance("gtol", gtol, sqrt_eps)
    xtol = check_tolerance("xtol", xtol, sqrt_eps)
    diagonal = float(np.linalg.norm(surface.upper - surface.lower))
    basin_radius = check_tolerance("basin_radius", basin_radius, BASIN_FRACTION * diagonal)
    if record_loss_every is not None:
        record_loss_every = check_int("record_loss_every", record_loss_every, 1, num_steps)
    indices = None
    if trajectories is not None:  # checked before the run, not after it
        indices = np.asarray(trajectories)
        if indices.ndim != 1 or indices.size < 1 or not np.issubdtype(indices.dtype, np.integer) \
                or indices.min() < 0 or indices.max() >= num_points:
            raise ValueError(f"trajectories must be a 1-D sequence of point indices in [0, "
                             f"{num_points}), got {trajectories!r}")
    check_choice("backend", backend, BACKENDS)
    devices = jax.local_devices() if devices is None else list(devices)
    platform = devices[0].platform
    names = tuple(sorted(hyperparam_arrays))
    takes_coordinates, state_size = _optimizer_facts(optimizer, probe, names, surface.dim,
                                                     starts.dtype)
    if check_every is None:
        check_every = _plan.choose_check_every(platform, num_steps)
    check_every = min(check_int("check_every", check_every, 1), num_steps)
    if layout is None:
        layout = _plan.choose_layout(platform, check_every, surface.dim)
        if layout == "coordinates" and not takes_coordinates:
            layout = "array"
    if layout not in _plan.LAYOUTS:
        raise ValueError(f"layout must be one of {_plan.LAYOUTS}, got {layout!r}")
    if layout == "coordinates" and not takes_coordinates:
        raise ValueError("layout='coordinates' does not fit this optimizer: its update mixes a "
                         "point's coordinates (e.g. a norm) or needs the (dim,) array; use "
                         "layout='array' or the default")
    unroll = (_plan.choose_unroll(platform) if unroll is None
              else check_int("unroll", unroll, 1))
    hyperparam_arrays = {name: hyperparam_arrays[name] for name in names}
    num_configs = len(next(iter(hyperparam_arrays.values()))) if names else 1
    if chunk_size is None:
        records = num_steps // record_loss_every + 1 if record_loss_every else 0
        per_point = _plan.bytes_per_point(surface.dim, state_size, starts.dtype.itemsize,
                                                 num_configs=num_configs, loss_records=records)
        budget = (_plan.default_memory_budget(devices[0]) if memory_budget is None
                  else check_int("memory_budget", memory_budget, 1))
        responsive = _plan.responsive_points(platform, num_steps * num_configs)
        chunk_size = _plan.chunk_size_for(num_points, per_point, budget, len(devices),
                                                 max_points=responsive)
    else:
        chunk_size = check_int("chunk_size", chunk_size, 1)
        # A multiple of the device count, and no more than the points need: the rest would be
        # padding, computed and thrown away.
        whole = -(-num_points // len(devices)) * len(devices)
        chunk_size = min(-(-chunk_size // len(devices)) * len(devices), whole)
    config = KernelConfig(num_steps, gtol, xtol, basin_radius, layout, unroll, record_loss_every,
                          False, names, check_every)
    sharding = _plan.point_sharding(devices)
    chunk = jax.ShapeDtypeStruct((chunk_size, surface.dim), starts.dtype, sharding=sharding)
    placed_hyperparams = jax.device_put(hyperparam_arrays, _plan.replicated(sharding))
    kernel, backend, backend_reason = _select_kernel(
        backend, optimizer, surface, config, sharding, chunk, placed_hyperparams)
    if batches is not None:
        batches = check_int("batches", batches, 1)
        if batches > 1 and (backend == "fused" or len(devices) > 1):
            raise ValueError(f"batches={batches} splits chunks for the scan backend on one "
                             f"device; this sweep runs the {backend} backend on {len(devices)} "
                             f"device(s): use batches=1 or the default")
        plan = _plan.plan_batches(chunk_size, num_configs, batches)
    elif backend == "fused":
        plan = _plan.plan_batches(chunk_size, num_configs, 1)
    else:
        plan = _plan.choose_batches(platform, len(devices), chunk_size, surface.dim,
                                           num_configs, num_steps)
    description = {
        "optimizer": _optimizer_name(optimizer, probe),
        "hyperparams": list(names),
        "surface": {"name": surface.name, "dim": surface.dim, "bounds": surface.bounds,
                    "minima": surface.minima,
                    "escape_radius": surface.escape_radius if math.isfinite(surface.escape_radius)
                    else None},
        "num_points": num_points, "num_steps": num_steps, "gtol": gtol, "xtol": xtol,
        "basin_radius": basin_radius, "record_loss_every": record_loss_every,
        "layout": layout, "unroll": unroll, "check_every": check_every, "chunk_size": chunk_size,
        "batches": plan.batches, "batch_axis": plan.axis, "dtype": str(starts.dtype),
        "backend": backend,
    }
    store = None
    if checkpoint is not None:
        # Not the batches: they change no status (at most the last bits of a float32 grid's
        # points), and their default follows the cores, so another machine resumes the run.
        parts = {**{key: value for key, value in description.items()
                    if key not in ("batches", "batch_axis")},
                 "update": _update_jaxpr(probe, surface.dim, starts.dtype)}
        arrays = {"starts": np.asarray(starts), **hyperparam_arrays}
        store = ChunkStore(checkpoint, fingerprint(parts, arrays))
    point_axis = 1 if names else 0
    run_chunk, padded_size = chunk_runner(kernel, placed_hyperparams, chunk_size, plan,
                                          point_axis)
    outputs, loaded = run_chunks(run_chunk, padded_size, starts, chunk_size, point_axis, sharding,
                                 store, progress)
    fields = {name: outputs.get(name) for name in POINT_FIELDS}
    loss_steps = None
    if record_loss_every:
        loss_steps = np.append(np.arange(num_steps // record_loss_every) * record_loss_every,
                               num_steps)
    paths = None
    if indices is not None:
        # The same checks as the main run, so each path ends where its point was frozen.
        path_kernel = get_kernel(optimizer, surface, config._replace(record_trajectory=True))
        paths = path_kernel(starts[indices], hyperparam_arrays)["trajectory"]
    device = devices[0]
    description.update(
        jax=jax.__version__, jaxlib=jaxlib.__version__, optax=optax.__version__,
        device=f"{device.platform}:{getattr(device, 'device_kind', '')}", num_devices=len(devices),
        chunks_loaded=loaded, backend_reason=backend_reason, **dict(metadata or {}))
    description = json.loads(json.dumps(description))  # as `SweepResult.load` will read it
    return SweepResult(**fields, hyperparams=hyperparam_arrays, loss_steps=loss_steps,
                       trajectories=paths, trajectory_indices=indices, metadata=description)
