"""What running a chunk as batches side by side brings on a CPU: `jl.sweep` against itself.

For each case (optimizer × surface × points × steps, a hyperparameter grid among them), times
`jl.sweep` as one call per chunk (``Engine(batches=1)``), with one batch per core, with the
default (batches of about 16,384 numbers, at least one per core; of points, or of the settings
of a large grid over few starts), and with half and twice the default's batch size; all in this
process, taking turns round after round (`jaxopt_lab.bench.timed`). Reports point-steps per second and the
speed-up over one call, and whether every variant's results equal one call's bit for bit (else
whether statuses, steps and basins do, and how far the final points moved).

    PYTHONPATH=. python benchmarks/cpu_batches.py                 # the cases below, ~2 minutes
    PYTHONPATH=. python benchmarks/cpu_batches.py --repeats 3 --scale 0.0625    # a quick look
    PYTHONPATH=. python benchmarks/cpu_batches.py --cases adam-rosenbrock --steps 100

Writes ``benchmarks/results/cpu_batches_<platform>.json`` (device and versions included).
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
    # The README's grid: 64 × 64 (learning rate, momentum) over 16 starts; batches of settings.
    ("momentum-settings-grid", jl.momentum, "long_canyon", 16, 1000,
     {"learning_rate": np.repeat(np.linspace(0.001, 0.05, 64), 64).astype(np.float32),
      "momentum": np.tile(np.linspace(0.0, 0.99, 64), 64).astype(np.float32)}),
]
FIELDS = ("params", "loss", "status", "steps", "basin")


def measure(label, optimizer, surface_name, num_points, num_steps, hyperparams, repeats):
    surface = jl.surfaces.get(surface_name)
    starts = jl.starts.uniform(jax.random.PRNGKey(0), surface, num_points)
    run = functools.partial(jl.sweep, optimizer, surface, starts, num_steps,
                            hyperparams=hyperparams, progress=False)
    default_run = run()
    default = default_run.metadata["batches"]
    variants = {"one call": 1, "one per core": cpu_workers(), "default": default,
                "half-size batches": 2 * default, "double-size batches": max(default // 2, 1)}
    results = {name: default_run if name == "default" else run(engine=jl.Engine(batches=batches))
               for name, batches in variants.items()}
    reference = run(engine=jl.Engine(batches=1))  # a second one-call run: "one call" then checks determinism
    identical, same_outcomes, largest_difference = {}, {}, {}
    for name, result in results.items():
        identical[name] = all(np.array_equal(np.asarray(getattr(result, field)),
                                             np.asarray(getattr(reference, field)),
                                             equal_nan=field in ("params", "loss"))
                              for field in FIELDS)
        same_outcomes[name] = all(np.array_equal(np.asarray(getattr(result, field)),
                                                 np.asarray(getattr(reference, field)))
                                  for field in ("status", "steps", "basin"))
        # Largest relative difference of a final point's coordinates (float rounding, when any).
        mine, theirs = np.asarray(result.params, float), np.asarray(reference.params, float)
        finite = np.isfinite(mine) & np.isfinite(theirs)
        scale = np.maximum(np.abs(theirs[finite]), np.finfo(np.float32).tiny)
        largest_difference[name] = float(np.max(np.abs(mine[finite] - theirs[finite]) / scale,
                                                initial=0.0))
    calls = {name: functools.partial(lambda b: run(engine=jl.Engine(batches=b)).params, batches)
             for name, batches in variants.items()}
    timings = timed(calls, repeats)
    configs = len(next(iter(hyperparams.values()))) if hyperparams else 1
    work = float(num_points) * num_steps * configs
    one_call = timings["one call"]["median_seconds"]
    row = {"case": label, "surface": surface_name, "dim": surface.dim,
           "batch_axis": default_run.metadata["batch_axis"],
           "num_points": num_points, "num_steps": num_steps, "num_configs": configs,
           "variants": {}}
    for name, batches in variants.items():
        timing = timings[name]
        row["variants"][name] = {
            "batches": batches, "identical_to_one_call": identical[name],
            "same_status_steps_basin": same_outcomes[name],
            "largest_relative_params_difference": largest_difference[name], **timing,
            "point_steps_per_second": work / timing["median_seconds"],
            "speedup_over_one_call": one_call / timing["median_seconds"]}
        print(f"{label}: {name:20s} ({batches:3d} batches) "
              f"{work / timing['median_seconds']:.3e} point-steps/s, "
              f"{one_call / timing['median_seconds']:.2f}x one call, "
              f"identical: {identical[name]}" + ("" if identical[name] else
              f" (status/steps/basin: {same_outcomes[name]}, params within "
              f"{largest_difference[name]:.1e} relative)"), flush=True)
    return row


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
                                         f"cpu_batches_{device.platform}.json")
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
