"""What fixed blocks cost on a CPU: `jl.sweep` against one call over every point.

`jl.sweep` runs every kernel call on one fixed block of points (and of a grid's settings), so its
results do not depend on the chunk size, the threads or the devices. For each case (optimizer ×
surface × points × steps, hyperparameter grids among them) this times, in one process taking
turns round after round (`jaxopt_lab.bench.timed`): the baseline, the same scan kernel called
once on every point (what a hand-written ``jit(vmap(scan))`` does); `jl.sweep`'s default (blocks
side by side, one thread per core); its blocks on one thread (``Engine(batches=1)``); and its
blocks in chunks of a quarter of the points. Reports point-steps per second and the ratio to the
baseline, and checks that every `jl.sweep` variant gives the default's results bit for bit (and
whether the baseline does: a call of another shape may round otherwise).

    PYTHONPATH=. python benchmarks/cpu_blocks.py                 # the cases below
    PYTHONPATH=. python benchmarks/cpu_blocks.py --repeats 3 --scale 0.0625    # a quick look

Writes ``benchmarks/results/cpu_blocks_<platform>.json`` (device and versions included).
"""
from __future__ import annotations

import argparse
import functools
import os

import jax
import numpy as np
import optax

import jaxopt_lab as jl
from jaxopt_lab.bench import cpu_workers, environment, timed, write_report

#: (label, optimizer, surface, points, steps, hyperparams).
CASES = [
    ("adam-rosenbrock", optax.adam(1e-3), "rosenbrock", 65536, 1000, None),
    ("momentum-rosenbrock", optax.sgd(1e-4, momentum=0.9), "rosenbrock", 65536, 1000, None),
    ("momentum-himmelblau-early-exit", optax.sgd(5e-3, momentum=0.9), "himmelblau", 65536, 500,
     None),
    ("momentum-long-canyon", optax.sgd(1e-3, momentum=0.9), "long_canyon", 65536, 1000, None),
    ("adam-100d-quadratic", optax.adam(1e-2), "deep_learning_spectrum", 4096, 500, None),
    ("sgd-learning-rate-grid", optax.sgd, "rosenbrock", 1024, 1000,
     {"learning_rate": np.geomspace(1e-5, 1e-3, 64).astype(np.float32)}),
    # The README's grid: 64 × 64 (learning rate, momentum) over 16 starts: blocks of settings.
    ("momentum-settings-grid", jl.momentum, "long_canyon", 16, 1000,
     {"learning_rate": np.repeat(np.linspace(0.001, 0.05, 64), 64).astype(np.float32),
      "momentum": np.tile(np.linspace(0.0, 0.99, 64), 64).astype(np.float32)}),
]
FIELDS = ("params", "loss", "status", "steps", "basin")


def _baseline(optimizer, surface, starts, hyperparams, config):
    """The sweep's own scan kernel (``config``), compiled for every point at once: one call."""
    from jaxopt_lab.engine import _scan

    kernel = _scan.get_kernel(optimizer, surface, config)
    settings = {name: np.asarray(value) for name, value in (hyperparams or {}).items()}
    return lambda: jax.block_until_ready(kernel(starts, settings))


def _same(result, reference) -> bool:
    return all(np.array_equal(np.asarray(result[field]), np.asarray(getattr(reference, field)),
                              equal_nan=field in ("params", "loss")) for field in FIELDS)


def measure(label, optimizer, surface_name, num_points, num_steps, hyperparams, repeats):
    surface = jl.surfaces.get(surface_name)
    starts = jl.starts.uniform(jax.random.PRNGKey(0), surface, num_points)
    run = functools.partial(jl.sweep, optimizer, surface, starts, num_steps,
                            hyperparams=hyperparams, progress=False)
    engines = {"jl.sweep default": jl.Engine(), "blocks on one thread": jl.Engine(batches=1),
               "chunks of a quarter": jl.Engine(chunk_size=max(num_points // 4, 1))}
    default = run()
    baseline = _baseline(optimizer, surface, starts, hyperparams, _kernel_config(default))
    identical = {name: _same({field: getattr(run(engine=engine), field) for field in FIELDS},
                             default) for name, engine in engines.items()}
    identical["one call (baseline)"] = _same(baseline(), default)
    calls = {"one call (baseline)": lambda: baseline()["params"],
             **{name: functools.partial(lambda e: run(engine=e).params, engine)
                for name, engine in engines.items()}}
    timings = timed(calls, repeats)
    configs = len(next(iter(hyperparams.values()))) if hyperparams else 1
    work = float(num_points) * num_steps * configs
    base = timings["one call (baseline)"]["median_seconds"]
    row = {"case": label, "surface": surface_name, "dim": surface.dim,
           "block_points": default.metadata["block_points"],
           "block_configs": default.metadata["block_configs"],
           "batches": default.metadata["batches"], "num_points": num_points,
           "num_steps": num_steps, "num_configs": configs, "variants": {}}
    for name, timing in timings.items():
        row["variants"][name] = {
            "identical_to_default": identical[name], **timing,
            "point_steps_per_second": work / timing["median_seconds"],
            "speedup_over_one_call": base / timing["median_seconds"]}
        print(f"{label}: {name:22s} {work / timing['median_seconds']:.3e} point-steps/s, "
              f"{base / timing['median_seconds']:.2f}x one call, "
              f"identical to the default: {identical[name]}", flush=True)
    return row


def _kernel_config(result):
    """The kernel configuration `jl.sweep` compiled, read back from its metadata."""
    from jaxopt_lab.engine._program import KernelConfig

    meta = result.metadata
    return KernelConfig(meta["num_steps"], meta["gtol"], meta["xtol"], meta["basin_radius"],
                        meta["layout"], meta["unroll"], meta["record_loss_every"], False,
                        tuple(meta["hyperparams"]), meta["check_every"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every case's number of points (at least 64, or all)")
    parser.add_argument("--steps", type=int, default=None, help="every case's steps (a quick run)")
    parser.add_argument("--cases", nargs="+", default=[case[0] for case in CASES],
                        choices=[case[0] for case in CASES])
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    device = jax.devices()[0]
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                         f"cpu_blocks_{device.platform}.json")
    rows = []
    for label, optimizer, surface, num_points, num_steps, hyperparams in CASES:
        if label not in args.cases:
            continue
        points = max(int(num_points * args.scale), min(num_points, 64))
        rows.append(measure(label, optimizer, surface, points, args.steps or num_steps,
                            hyperparams, args.repeats))
        report = {**environment(), "cpu_workers": cpu_workers(), "results": rows}
        write_report(output, report)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
