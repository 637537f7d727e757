"""Point-steps per second of `jl.sweep` against four hand-written jit(vmap(scan)) loops.

The hand-written variants are {(P, dim) array, tuple of (P,) coordinates} × {unroll 1, 8} of
``jax.jit(jax.vmap(lax.scan(optax update)))`` with no bookkeeping at all; `jl.sweep` also tracks
status, steps and basin, freezes stopped points and chunks (at its defaults; once more as one
call per chunk, ``batches=1``, which shows what running batches side by side on the cores
brings; and once with ``check_every=1``). All run in this process on the same
starts, taking turns round after round; compile time (first call minus the steady median) is
reported separately. Ratios are medians of wall time (and, beside them, of this process's CPU
time, steadier on a shared machine).

    python benchmarks/sweep_throughput.py                      # CPU: P = 65,536, T = 1,000
    python benchmarks/sweep_throughput.py --points 4096 --steps 200 --repeats 2
    python benchmarks/sweep_throughput.py --points 262144 1048576 8388608   # a GPU

Rows of ``"case": "all_steps"`` (Rosenbrock, where points still run at the end, so every step
runs) give the engine's cost. The row of ``"case": "early_exit"`` (momentum on Himmelblau, where
every start stops long before ``num_steps``) shows the sweep's early exit instead: once every
point has stopped, the blocks left are skipped, while the hand-written loop runs all
``num_steps``; its ratio is a speed-up for the user, not a measure of the bookkeeping's cost.

Writes ``benchmarks/results/sweep_throughput_<platform>.json`` (device and versions included).
"""
from __future__ import annotations

import argparse
import functools
import os

import jax
import jax.numpy as jnp
import optax

import jaxopt_lab as jl
from jaxopt_lab.bench import environment, handwritten_sweep, timed, write_report

OPTIMIZERS = {
    "adam": lambda: optax.adam(1e-3),
    "momentum": lambda: optax.sgd(1e-4, momentum=0.9),
}
#: The early-exit row: every start converges (or escapes) by about step 200 of 500 in float32.
EARLY_EXIT = {"optimizer": "momentum", "make": lambda: optax.sgd(5e-3, momentum=0.9),
              "surface": "himmelblau", "num_steps": 500}
VARIANTS = [(layout, unroll) for layout in ("array", "coordinates") for unroll in (1, 8)]


def rates(timing: dict, work: float) -> dict:
    timing["point_steps_per_second"] = work / timing["median_seconds"]
    timing["point_steps_per_cpu_second"] = work / timing["median_cpu_seconds"]
    return timing


def measure(name: str, optimizer: optax.GradientTransformation, surface: jl.Surface,
            num_points: int, num_steps: int, repeats: int, case: str) -> dict:
    """One row: the hand-written variants and `jl.sweep` (defaults, and ``check_every=1``)."""
    starts = jl.starts.uniform(jax.random.PRNGKey(0), surface, num_points)
    work = float(num_points) * num_steps
    row = {"case": case, "optimizer": name, "surface": surface.name, "num_points": num_points,
           "num_steps": num_steps, "handwritten": {}}
    calls = {}
    for layout, unroll in VARIANTS:
        run = handwritten_sweep(optimizer, surface, num_steps, layout=layout, unroll=unroll)
        calls[f"{layout}-unroll{unroll}"] = functools.partial(run, starts)
    for label, engine in (("sweep", jl.Engine()), ("sweep_one_call", jl.Engine(batches=1)),
                          ("sweep_check_every_1", jl.Engine(check_every=1))):
        calls[label] = functools.partial(
            lambda tx, points, engine: jl.sweep(tx, surface, points, num_steps, progress=False,
                                                engine=engine).params,
            optimizer, starts, engine)
    timings = {label: rates(timing, work)
               for label, timing in timed(calls, repeats).items()}
    for layout, unroll in VARIANTS:
        timing = row["handwritten"][f"{layout}-unroll{unroll}"] = \
            timings[f"{layout}-unroll{unroll}"]
        print(f"[{case}] {name} {surface.name} P={num_points} {layout:11s} unroll {unroll}: "
              f"{timing['point_steps_per_second']:.3e} point-steps/s", flush=True)
    for label in ("sweep", "sweep_one_call", "sweep_check_every_1"):
        row[label] = timings[label]
    result = jl.sweep(optimizer, surface, starts, num_steps, progress=False)
    row["batches"] = result.metadata["batches"]
    # The step after which no point ran (the sweep's blocks stop there); num_steps if some run.
    running = bool((result.status == jl.Status.UNFINISHED).any())
    row["all_stopped_at_step"] = None if running else int(result.steps.max())
    best = max(row["handwritten"],
               key=lambda k: row["handwritten"][k]["point_steps_per_second"])
    best_cpu = max(row["handwritten"],
                   key=lambda k: row["handwritten"][k]["point_steps_per_cpu_second"])
    row.update(
        best_handwritten=best, best_handwritten_cpu_time=best_cpu,
        ratio=row["sweep"]["point_steps_per_second"]
        / row["handwritten"][best]["point_steps_per_second"],
        ratio_cpu_time=row["sweep"]["point_steps_per_cpu_second"]
        / row["handwritten"][best_cpu]["point_steps_per_cpu_second"],
        ratio_one_call=row["sweep_one_call"]["point_steps_per_second"]
        / row["handwritten"][best]["point_steps_per_second"],
        ratio_check_every_1=row["sweep_check_every_1"]["point_steps_per_second"]
        / row["handwritten"][best]["point_steps_per_second"])
    stopped = ("points still running at the end" if running
               else f"all points stopped by step {row['all_stopped_at_step']} of {num_steps}")
    print(f"[{case}] {name} {surface.name} P={num_points} jl.sweep: "
          f"{row['sweep']['point_steps_per_second']:.3e} point-steps/s, ratio {row['ratio']:.2f} "
          f"vs {best} (CPU time: {row['ratio_cpu_time']:.2f}; {row['batches']} batches); "
          f"one call: {row['ratio_one_call']:.2f}; check_every=1: "
          f"{row['ratio_check_every_1']:.2f}; {stopped}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=None,
                        help="P values (default 65536 on CPU; 2^18, 2^20, 2^23 on GPU)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=OPTIMIZERS)
    parser.add_argument("--no-early-exit", dest="early_exit", action="store_false",
                        help="skip the early-exit row (momentum on Himmelblau)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    device = jax.devices()[0]
    points = args.points or ([65536] if device.platform == "cpu" else [2**18, 2**20, 2**23])
    surface = jl.surfaces.get("rosenbrock")
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                         f"sweep_throughput_{device.platform}.json")
    rows = []

    def record(row: dict) -> None:
        """Keep ``row`` and rewrite the JSON: a run cut short by a time limit keeps its rows."""
        rows.append(row)
        report = {**environment(), "num_devices": jax.device_count(),
                  "cpu_count": os.cpu_count(), "dtype": str(jnp.zeros(()).dtype),
                  "results": rows}
        write_report(output, report)

    for name in args.optimizers:
        for num_points in points:
            record(measure(name, OPTIMIZERS[name](), surface, num_points, args.steps,
                           args.repeats, "all_steps"))
    if args.early_exit:
        for num_points in points:
            record(measure(EARLY_EXIT["optimizer"], EARLY_EXIT["make"](),
                           jl.surfaces.get(EARLY_EXIT["surface"]), num_points,
                           EARLY_EXIT["num_steps"], args.repeats, "early_exit"))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
