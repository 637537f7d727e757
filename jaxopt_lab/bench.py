"""Timing `jl.sweep` against the loop a user would write by hand, in the same process.

Speed is reported as point-steps per second (starting points × optimizer steps / seconds) and as
a ratio against a baseline measured in the same run, never as an absolute number alone: the
baseline is `jax.jit(jax.vmap(lax.scan(optimizer update)))` over a ``(P, dim)`` array, with no
bookkeeping (no status, no steps, no basin), which is what `jl.sweep` must not be slower than.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import jaxlib
import optax
from jax import lax

import jaxopt_lab as jl
from jaxopt_lab._validation import check_choice, check_int
from jaxopt_lab.surfaces import Surface
from jaxopt_lab.engine._options import BACKENDS as SWEEP_BACKENDS
from jaxopt_lab.engine._options import LAYOUTS
from jaxopt_lab.engine._plan import cpu_workers  # noqa: F401  (benchmarks size runs by it)
from jaxopt_lab.engine._result import atomic_output
from jaxopt_lab.engine._program import bare_step


#: Engines `benchmark` can time: those of `jl.sweep` (``backend=``).
BACKENDS = SWEEP_BACKENDS


def handwritten_sweep(
    optimizer: optax.GradientTransformation, surface: Surface, num_steps: int, *,
    layout: str = "array", unroll: int = 1,
) -> Callable[[jax.Array], jax.Array]:
    """The baseline: a jitted, vmapped scan of ``optimizer`` on ``surface`` returning final points.

    ``layout`` is that of `jaxopt_lab.engine._plan`: ``"array"`` steps each point as a ``(dim,)``
    vector, ``"coordinates"`` as a tuple of scalars; either way it takes and returns ``(P, dim)``.

    Args:
      optimizer: an optax transformation taking only the gradient.
      surface: the `Surface` to minimize.
      num_steps: >= 1 steps per point.
      layout: ``"array"`` or ``"coordinates"``.
      unroll: the scan's unroll, >= 1.

    Returns:
      A jitted function from ``(P, dim)`` starting points to the ``(P, dim)`` points after
      ``num_steps`` steps of ``optimizer``.

    Raises:
      ValueError: for an unknown ``layout``.

    >>> import jax.numpy as jnp, optax, jaxopt_lab as jl
    >>> bowl = jl.Surface("bowl", lambda x: jnp.sum(x**2), 2, ((-1.0, 1.0), (-1.0, 1.0)))
    >>> run = handwritten_sweep(optax.sgd(0.25), bowl, num_steps=2)
    >>> run(jnp.array([[1.0, -1.0], [0.5, 0.0]])).tolist()
    [[0.25, -0.25], [0.125, 0.0]]
    >>> handwritten_sweep(optax.sgd(0.25), bowl, 2, layout="coordinates")(jnp.ones((1, 2))).tolist()
    [[0.25, 0.25]]
    >>> handwritten_sweep(optax.sgd(0.25), bowl, 2, layout="rows")
    Traceback (most recent call last):
    ...
    ValueError: layout must be one of 'array', 'coordinates', got 'rows'
    """
    check_choice("layout", layout, LAYOUTS)
    coordinates = layout == "coordinates"
    value_fn = (lambda p: surface.fn(jnp.stack(p))) if coordinates else surface.fn
    step = bare_step(optimizer, value_fn)

    def run_one(start):
        (final, _), _ = lax.scan(step, (start, optimizer.init(start)), None, length=num_steps,
                                 unroll=unroll)
        return jnp.stack(final) if coordinates else final

    if coordinates:
        return jax.jit(lambda starts: jax.vmap(run_one)(tuple(starts.T)))
    return jax.jit(jax.vmap(run_one))


def _seconds(call: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - begin)
    return times


def timed(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict[str, float]]:
    """Wall and CPU (this process, all threads) seconds of each call; the first call compiles.

    Per label: ``compile_seconds`` (first call minus the median), ``median_seconds``,
    ``min_seconds``, ``max_seconds`` and ``median_cpu_seconds`` of ``repeats`` calls.

    The calls take turns, round after round, so that a change in the machine's load (the CPU
    runs are on a shared box) hits every variant alike instead of whichever ran at that moment.

    Args:
      calls: ``{label: call}``, functions of no arguments returning JAX arrays (or pytrees of
        them), each waited on with ``jax.block_until_ready``.
      repeats: timed calls of each after the first (compiling) one, >= 1.

    Returns:
      ``{label: {name: seconds}}`` with the five timings above, as floats.
    """
    first = {}
    for label, call in calls.items():
        begin = time.perf_counter()
        jax.block_until_ready(call())
        first[label] = time.perf_counter() - begin
    times = {label: [] for label in calls}
    cpu_times = {label: [] for label in calls}
    for _ in range(repeats):
        for label, call in calls.items():
            begin, cpu_begin = time.perf_counter(), time.process_time()
            jax.block_until_ready(call())
            times[label].append(time.perf_counter() - begin)
            cpu_times[label].append(time.process_time() - cpu_begin)
    timings = {}
    for label in calls:
        median = statistics.median(times[label])
        timings[label] = {
            "compile_seconds": max(first[label] - median, 0.0), "median_seconds": median,
            "min_seconds": min(times[label]), "max_seconds": max(times[label]),
            "median_cpu_seconds": statistics.median(cpu_times[label])}
    return timings


def write_report(path: str | os.PathLike, report: dict) -> None:
    """``report`` as indented JSON at ``path``, written atomically (a cut-short run leaves the
    previous file whole).

    Args:
      path: the JSON file to write (replaced if it exists).
      report: a JSON-serializable dict, such as `benchmark` returns.
    """
    with atomic_output(path) as partial, open(partial, "w") as handle:
        json.dump(report, handle, indent=2)


def environment() -> dict[str, Any]:
    """Device and versions, recorded with every timing so results can be compared honestly.

    Returns:
      A JSON-serializable dict of strings and ints: ``device`` (``"platform:kind"`` of the
      first device), ``num_devices``, ``machine``, ``python`` and the versions of ``jax``,
      ``jaxlib``, ``optax`` and ``jaxopt_lab``.
    """
    device = jax.devices()[0]
    return {
        "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
        "num_devices": jax.device_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "optax": optax.__version__,
        "jaxopt_lab": jl.__version__,
    }


def benchmark(
    optimizer: optax.GradientTransformation,
    surface: Surface,
    *,
    num_points: int,
    num_steps: int,
    repeats: int = 3,
    backend: str = "auto",
    seed: int = 0,
    batches: int | None = None,
) -> dict[str, Any]:
    """Compile time, steady-state times and point-steps/s of `jl.sweep` and of the baseline.

    ``backend`` and ``batches`` are passed to `jl.sweep`; the report's ``backend_used``,
    ``backend_reason`` and ``batches`` say how it ran (``"auto"`` picks the fused kernel only
    on a GPU; blocks side by side run only on a CPU).

    Args:
      optimizer: an optax transformation, as `jl.sweep` takes it.
      surface: the `Surface` to minimize.
      num_points: >= 1 starts, drawn uniformly from the surface's bounds with ``seed``.
      num_steps: >= 1 optimizer steps per start.
      repeats: >= 1 timed calls of each after the first (compiling) one.
      backend: ``"auto"``, ``"scan"`` or ``"fused"``.
      seed: seeds the starts.
      batches: blocks run side by side on a CPU, or None for one per core.

    Returns:
      A JSON-serializable dict: the run's settings (``surface``, ``num_points``, ``num_steps``,
      ``repeats``, ``backend``, ``backend_used``, ``backend_reason``, ``batches``), the
      `environment`, the sweep's ``compile_seconds``, ``median_seconds``, ``min_seconds``,
      ``max_seconds`` and ``point_steps_per_second``, the baseline's
      ``baseline_compile_seconds``, ``baseline_median_seconds`` and
      ``baseline_point_steps_per_second``, and ``ratio`` (baseline median / sweep median, > 1
      when `jl.sweep` is faster).

    Raises:
      ValueError: if ``num_points``, ``num_steps`` or ``repeats`` is not an integer >= 1, or
        ``backend`` is not one of `BACKENDS`.
    """
    for name, value in (("num_points", num_points), ("num_steps", num_steps),
                        ("repeats", repeats)):
        check_int(name, value, 1)
    check_choice("backend", backend, BACKENDS)
    starts = jl.starts.uniform(jax.random.PRNGKey(seed), surface, num_points)

    used = {}

    def run_sweep():
        result = jl.sweep(optimizer, surface, starts, num_steps, progress=False,
                          engine=jl.Engine(backend=backend, batches=batches))
        used.update(backend_used=result.metadata["backend"],
                    backend_reason=result.metadata["backend_reason"],
                    batches=result.metadata["batches"])
        return result.params

    first = _seconds(run_sweep, 1)[0]
    steady = _seconds(run_sweep, repeats)

    baseline = handwritten_sweep(optimizer, surface, num_steps)
    baseline_first = _seconds(lambda: baseline(starts), 1)[0]
    baseline_steady = _seconds(lambda: baseline(starts), repeats)

    work = float(num_points) * num_steps
    median = statistics.median(steady)
    baseline_median = statistics.median(baseline_steady)
    return {
        "surface": surface.name,
        "num_points": num_points,
        "num_steps": num_steps,
        "repeats": repeats,
        "backend": backend,
        **used,
        **environment(),
        "compile_seconds": max(first - median, 0.0),
        "median_seconds": median,
        "min_seconds": min(steady),
        "max_seconds": max(steady),
        "point_steps_per_second": work / median,
        "baseline_compile_seconds": max(baseline_first - baseline_median, 0.0),
        "baseline_median_seconds": baseline_median,
        "baseline_point_steps_per_second": work / baseline_median,
        "ratio": baseline_median / median,
    }
