"""Throughput of `jl.sweep` over the benchmark scenarios: optimizers × surfaces × P × T.

Each scenario is timed with `jaxopt_lab.bench.benchmark`, which measures `jl.sweep` and the
hand-written `jit(vmap(scan))` baseline of the same optimizer in the same process. Results go to
``benchmarks/results/scenarios_<platform>.json`` and a plot of point-steps/s against P (how cost
grows with work) to ``benchmarks/results/scenarios_<platform>.png``.

    python benchmarks/scenarios.py                      # CPU-sized: P = 2^12 .. 2^16
    python benchmarks/scenarios.py --max-log2-points 23 # GPU: P = 2^12 .. 2^23
    python benchmarks/scenarios.py --quick              # a smoke run (seconds)
"""
from __future__ import annotations

import argparse
import os
import sys

import jax

import jaxopt_lab as jl
from jaxopt_lab.bench import benchmark, environment, write_report

#: Each optimizer with the hyperparameters the `jaxopt-lab` command uses by default.
OPTIMIZERS = {
    "sgd": (jl.sgd, {"learning_rate": 0.01}),
    "momentum": (jl.momentum, {"learning_rate": 0.005, "momentum": 0.9}),
    "adam": (jl.adam, {"learning_rate": 0.05}),
    "rprop": (jl.rprop, {"learning_rate": 0.1, "min_step_size": 1e-12}),
}
SURFACES = ("rosenbrock", "himmelblau")
STEPS = (100, 1000)
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def run(log2_points: range, steps: tuple[int, ...], repeats: int) -> list[dict]:
    rows = []
    for optimizer_name in OPTIMIZERS:
        factory, hyperparams = OPTIMIZERS[optimizer_name]
        optimizer = factory(**hyperparams)
        for surface_name in SURFACES:
            surface = jl.surfaces.get(surface_name)
            for num_steps in steps:
                for log2 in log2_points:
                    report = benchmark(optimizer, surface, num_points=2**log2,
                                       num_steps=num_steps, repeats=repeats)
                    row = {"optimizer": optimizer_name, "hyperparams": hyperparams, **report}
                    rows.append(row)
                    print(f"{optimizer_name:>9} {surface_name:>10} T={num_steps:<5} P=2^{log2:<3}"
                          f" {row['point_steps_per_second']:.3e} pt-steps/s"
                          f"  baseline {row['baseline_point_steps_per_second']:.3e}"
                          f"  ratio {row['ratio']:.2f}", flush=True)
    return rows


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(STEPS), figsize=(6 * len(STEPS), 4.5), squeeze=False)
    for axis, num_steps in zip(axes[0], STEPS):
        for optimizer_name in OPTIMIZERS:
            for surface_name in SURFACES:
                chosen = [r for r in rows if r["optimizer"] == optimizer_name
                          and r["surface"] == surface_name and r["num_steps"] == num_steps]
                if chosen:
                    axis.loglog([r["num_points"] for r in chosen],
                                [r["point_steps_per_second"] for r in chosen],
                                marker="o", label=f"{optimizer_name} / {surface_name}")
        axis.set_xlabel("starting points P")
        axis.set_ylabel("point-steps per second")
        axis.set_title(f"jl.sweep, T = {num_steps}")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-log2-points", type=int, default=12)
    parser.add_argument("--max-log2-points", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="P = 2^10 only, T = 100, 1 repeat")
    parser.add_argument("--output", default=None, help="JSON path (default: results/scenarios_<platform>.json)")
    args = parser.parse_args(argv)
    if args.quick:
        log2_points, steps, repeats = range(10, 11), (100,), 1
    else:
        log2_points = range(args.min_log2_points, args.max_log2_points + 1)
        steps, repeats = STEPS, args.repeats
    rows = run(log2_points, steps, repeats)
    platform = jax.devices()[0].platform
    output = args.output or os.path.join(RESULTS, f"scenarios_{platform}.json")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    write_report(output, {"environment": environment(), "rows": rows})
    plot(rows, os.path.splitext(output)[0] + ".png")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
