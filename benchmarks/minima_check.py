"""What comparing a point with a surface's minima as one array brings: compile and run time.

At every check `jl.sweep` asks whether a point lies within ``xtol`` of a listed minimum, and at
the end which minimum's basin it ended in. The scan backend compares the point with all the
minima as one ``(M, dim)`` array (one broadcast, one min, one argmin); written one minimum at a
time instead (as the fused backend's element-by-element kernels still do), the program grows
with M, and so does its compile time: Rastrigin and Ackley list 121 minima, Levi N.13 1,179.
This script times `jl.sweep` (scan backend) both ways in one process, taking turns round after
round (`jaxopt_lab.bench.timed`), and checks that both give the same results bit for bit.

    PYTHONPATH=. python benchmarks/minima_check.py             # Adam, 64 x 64 starts, 300 steps
    PYTHONPATH=. python benchmarks/minima_check.py --surfaces himmelblau --resolution 8 --repeats 1

Writes ``benchmarks/results/minima_check_<platform>.json`` (device and versions included).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
from unittest import mock

import jax
import numpy as np
import optax

import jaxopt_lab as jl
from jaxopt_lab.bench import environment, timed, write_report
from jaxopt_lab.engine import _program

SURFACES = ("himmelblau", "rastrigin", "ackley", "levi_n13")
FIELDS = ("params", "loss", "status", "steps", "basin")
#: Adam's step on a box of side ~10: large enough that most starts settle in some basin.
LEARNING_RATE = 0.05


def one_by_one(surface: jl.Surface) -> jl.Surface:
    """The same surface under another name: its own compiled kernel, built one minimum at a time
    (a sweep's kernels are cached per surface, so the two variants must not share one)."""
    return dataclasses.replace(surface, name=surface.name + " (one minimum at a time)")


def measure(surface_name: str, resolution: int, num_steps: int, repeats: int,
            max_unrolled: int | None = None) -> dict:
    surface = jl.surfaces.get(surface_name)
    if max_unrolled is not None and len(surface.minima) > max_unrolled:
        return measure_one_array(surface, resolution, num_steps, repeats)
    starts = jl.starts.grid(surface, resolution).points
    run = functools.partial(jl.sweep, optax.adam(LEARNING_RATE), starts=starts,
                            num_steps=num_steps, progress=False,
                            engine=jl.Engine(backend="scan"))
    unrolled = one_by_one(surface)

    def run_unrolled():
        with mock.patch.dict(_program.PointProgram.__init__.__kwdefaults__,
                             unrolled_minima=True):
            return run(surface=unrolled)

    calls = {"one array": lambda: run(surface=surface).params,
             "one minimum at a time": lambda: run_unrolled().params}
    timings = timed(calls, repeats)
    array_result, unrolled_result = run(surface=surface), run_unrolled()
    identical = all(np.array_equal(np.asarray(getattr(array_result, field)),
                                   np.asarray(getattr(unrolled_result, field)), equal_nan=True)
                    for field in FIELDS)
    statuses = np.asarray(array_result.status)
    return {
        "surface": surface_name, "minima": len(surface.minima), "optimizer": "adam",
        "learning_rate": LEARNING_RATE, "points": int(starts.shape[0]), "steps": num_steps,
        "check_every": array_result.metadata["check_every"],
        "identical": bool(identical),
        "share_converged": float(np.mean(statuses == jl.Status.CONVERGED)),
        "timings": timings,
        "compile_speedup": timings["one minimum at a time"]["compile_seconds"]
        / max(timings["one array"]["compile_seconds"], 1e-9),
        "run_speedup": timings["one minimum at a time"]["median_seconds"]
        / timings["one array"]["median_seconds"],
    }


def measure_one_array(surface: jl.Surface, resolution: int, num_steps: int,
                      repeats: int) -> dict:
    """The one-array comparison alone (its one-at-a-time twin takes too long to compile)."""
    starts = jl.starts.grid(surface, resolution).points
    run = functools.partial(jl.sweep, optax.adam(LEARNING_RATE), surface, starts, num_steps,
                            progress=False, engine=jl.Engine(backend="scan"))
    timings = timed({"one array": lambda: run().params}, repeats)
    result = run()
    return {
        "surface": surface.name, "minima": len(surface.minima), "optimizer": "adam",
        "learning_rate": LEARNING_RATE, "points": int(starts.shape[0]), "steps": num_steps,
        "check_every": result.metadata["check_every"], "identical": None,
        "share_converged": float(np.mean(np.asarray(result.status) == jl.Status.CONVERGED)),
        "timings": timings, "compile_speedup": None, "run_speedup": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surfaces", nargs="+", default=list(SURFACES), choices=SURFACES)
    parser.add_argument("--resolution", type=int, default=64, help="starts per axis")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-unrolled-minima", type=int, default=None,
                        help="time only the one-array check on surfaces with more minima")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    # Every first call must compile: no kernel read back from a persistent cache.
    jax.config.update("jax_enable_compilation_cache", False)
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                         f"minima_check_{jax.devices()[0].platform}.json")
    report = {"environment": environment(), "results": []}
    print("| surface | minima | compile: one array / one at a time (s) | run (s) | identical |")
    print("|---|---|---|---|---|")
    for name in args.surfaces:
        row = measure(name, args.resolution, args.steps, args.repeats, args.max_unrolled_minima)
        report["results"].append(row)
        write_report(output, report)
        array = row["timings"]["one array"]
        unrolled = row["timings"].get("one minimum at a time",
                                      {"compile_seconds": math.nan, "median_seconds": math.nan})
        print(f"| {name} | {row['minima']} | {array['compile_seconds']:.2f} / "
              f"{unrolled['compile_seconds']:.2f} | {array['median_seconds']:.3f} / "
              f"{unrolled['median_seconds']:.3f} | {row['identical']} |", flush=True)


if __name__ == "__main__":
    main()
