"""Point-steps per second of `jl.sweep` against four hand-written jit(vmap(scan)) loops.

The hand-written variants are {(P, dim) array, tuple of (P,) coordinates} × {unroll 1, 8} of
``jax.jit(jax.vmap(lax.scan(optax update)))`` with no bookkeeping at all; `jl.sweep` also tracks
status, steps and basin, freezes diverged points and chunks. All run in this process on the same
starts; compile time (first call minus the steady median) is reported separately.

    python benchmarks/sweep_throughput.py                      # CPU: P = 65,536, T = 1,000
    python benchmarks/sweep_throughput.py --points 4096 --steps 200 --repeats 2
    python benchmarks/sweep_throughput.py --points 262144 1048576 8388608   # a GPU

Writes ``benchmarks/results/sweep_throughput_<platform>.json`` (device and versions included).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import jaxlib
import optax
from jax import lax

import jaxopt_lab as jl

OPTIMIZERS = {
    "adam": lambda: optax.adam(1e-3),
    "momentum": lambda: optax.sgd(1e-4, momentum=0.9),
}
VARIANTS = [(layout, unroll) for layout in ("array", "coordinates") for unroll in (1, 8)]


def handwritten(optimizer, fn, num_steps: int, layout: str, unroll: int):
    """``jit(vmap(scan))`` of ``optimizer`` on ``fn``, returning the final points (P, dim)."""
    value_fn = (lambda p: fn(jnp.stack(p))) if layout == "coordinates" else fn
    grad_fn = jax.grad(value_fn)

    def run_one(start):
        def step(carry, _):
            params, state = carry
            updates, state = optimizer.update(grad_fn(params), state, params)
            return (optax.apply_updates(params, updates), state), None

        (final, _), _ = lax.scan(step, (start, optimizer.init(start)), None, length=num_steps,
                                 unroll=unroll)
        return jnp.stack(final) if layout == "coordinates" else final

    if layout == "coordinates":
        return jax.jit(lambda starts: jax.vmap(run_one)(tuple(starts.T)))
    return jax.jit(jax.vmap(run_one))


def timed(call, repeats: int) -> dict:
    times = []
    for _ in range(repeats + 1):
        begin = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - begin)
    median = statistics.median(times[1:])
    return {"compile_seconds": max(times[0] - median, 0.0), "median_seconds": median,
            "min_seconds": min(times[1:]), "max_seconds": max(times[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=None,
                        help="P values (default 65536 on CPU; 2^18, 2^20, 2^23 on GPU)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=OPTIMIZERS)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    device = jax.devices()[0]
    points = args.points or ([65536] if device.platform == "cpu" else [2**18, 2**20, 2**23])
    surface = jl.surfaces.get("rosenbrock")
    rows = []
    for name in args.optimizers:
        optimizer = OPTIMIZERS[name]()
        for num_points in points:
            starts = jl.starts.uniform(jax.random.PRNGKey(0), surface, num_points)
            work = float(num_points) * args.steps
            row = {"optimizer": name, "surface": surface.name, "num_points": num_points,
                   "num_steps": args.steps, "handwritten": {}}
            for layout, unroll in VARIANTS:
                run = handwritten(optimizer, surface.fn, args.steps, layout, unroll)
                timing = timed(lambda: run(starts), args.repeats)
                timing["point_steps_per_second"] = work / timing["median_seconds"]
                row["handwritten"][f"{layout}-unroll{unroll}"] = timing
                print(f"{name} P={num_points} {layout:11s} unroll {unroll}: "
                      f"{timing['point_steps_per_second']:.3e} point-steps/s", flush=True)
            timing = timed(lambda: jl.sweep(optimizer, surface, starts, args.steps,
                                            progress=False).params, args.repeats)
            timing["point_steps_per_second"] = work / timing["median_seconds"]
            best = max(row["handwritten"], key=lambda k: row["handwritten"][k]["point_steps_per_second"])
            row.update(sweep=timing, best_handwritten=best,
                       ratio=timing["point_steps_per_second"]
                       / row["handwritten"][best]["point_steps_per_second"])
            print(f"{name} P={num_points} jl.sweep: {timing['point_steps_per_second']:.3e} "
                  f"point-steps/s, ratio {row['ratio']:.2f} vs {best}", flush=True)
            rows.append(row)
    report = {
        "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
        "num_devices": jax.device_count(), "cpu_count": os.cpu_count(),
        "machine": platform.machine(), "python": platform.python_version(),
        "jax": jax.__version__, "jaxlib": jaxlib.__version__, "optax": optax.__version__,
        "jaxopt_lab": jl.__version__, "dtype": str(jnp.zeros(()).dtype), "results": rows,
    }
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                         f"sweep_throughput_{device.platform}.json")
    partial = output + ".partial"
    with open(partial, "w") as handle:
        json.dump(report, handle, indent=2)
    os.replace(partial, output)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
