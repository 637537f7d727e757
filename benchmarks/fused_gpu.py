"""Check and time the fused backend against every scan variant, in one run.

For Adam, heavy-ball momentum and Rprop on Rosenbrock (float32, T steps) and each P, in this
process and on the same starts, taking turns round after round:

- the four hand-written ``jax.jit(jax.vmap(lax.scan(optax update)))`` loops, {(P, 2) array,
  tuple of (P,) coordinates} × {unroll 1, 8}, with no bookkeeping (`jaxopt_lab.bench`);
- a hand-written Pallas kernel for Adam and momentum: the Rosenbrock gradient and the update
  written out by hand, bias corrections once per step, no bookkeeping (the ceiling for a fused
  loop in this JAX);
- ``jl.sweep`` with ``Engine(backend=...)`` ``"scan"``, ``"fused"`` and ``"auto"`` (status, steps, basin and the
  final loss included).

Checks, printed and recorded: fused against scan (status and basin identical on >= 99.9 % of
points) and both against a float64 reference (``jl.sweep`` in float64 on the first
`REFERENCE_POINTS` starts). The table printed last gives point-steps per second and the
targets: ``auto`` >= the best scan variant, and >= half the hand-written kernel.

    python benchmarks/fused_gpu.py                     # a GPU: P = 2^18, 2^20, 2^23, T = 1,000
    python benchmarks/fused_gpu.py --points 4096 --steps 100 --repeats 2   # CPU: interpreted

Writes ``benchmarks/results/fused_<platform>.json``. On a CPU the fused kernels run in Pallas'
interpreter: the checks mean something there, the speeds do not.
"""
from __future__ import annotations

import argparse
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.experimental import pallas as pl

import jaxopt_lab as jl
from jaxopt_lab.bench import environment, handwritten_sweep, timed, write_report

ADAM_LEARNING_RATE, MOMENTUM_LEARNING_RATE, MOMENTUM = 1e-3, 1e-4, 0.9
OPTIMIZERS = {
    "adam": lambda: optax.adam(ADAM_LEARNING_RATE),
    "momentum": lambda: optax.sgd(MOMENTUM_LEARNING_RATE, momentum=MOMENTUM),
    "rprop": lambda: jl.rprop(0.01, min_step_size=1e-12),
}
SCAN_VARIANTS = [(layout, unroll) for layout in ("array", "coordinates") for unroll in (1, 8)]
#: Least share of points whose fused status and basin must equal the scan's.
MIN_AGREEMENT = 0.999
#: Starts run again in float64 as the reference (a float64 sweep of all 2^23 would dominate).
REFERENCE_POINTS = 4096
ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8

#: Platforms where Pallas compiles kernels (elsewhere it interprets them: a check, not a timing).
GPU_PLATFORMS = ("gpu", "cuda", "rocm")
#: Points per program of the hand-written kernel, as `jl.sweep`'s fused backend uses.
BLOCK_POINTS = 256


def handwritten_kernel(name: str, num_points: int, num_steps: int, interpret: bool):
    """A Pallas kernel written out by hand for ``name`` on Rosenbrock: final (x, y) per point."""
    lanes = min(BLOCK_POINTS, pl.next_power_of_2(num_points))

    def gradient(x, y):
        return -2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)

    def kernel(x_ref, y_ref, x_out, y_out):
        x, y = x_ref[...], y_ref[...]
        zero = jnp.zeros_like(x)
        if name == "adam":
            def step(t, carry):
                x, y, mx, my, vx, vy = carry
                gx, gy = gradient(x, y)
                mx, my = ADAM_B1 * mx + (1 - ADAM_B1) * gx, ADAM_B1 * my + (1 - ADAM_B1) * gy
                vx = ADAM_B2 * vx + (1 - ADAM_B2) * gx * gx
                vy = ADAM_B2 * vy + (1 - ADAM_B2) * gy * gy
                count = (t + 1).astype(x.dtype)  # per step, not per point
                correction1, correction2 = 1 - ADAM_B1**count, 1 - ADAM_B2**count
                x = x - ADAM_LEARNING_RATE * (mx / correction1) / (
                    jnp.sqrt(vx / correction2) + ADAM_EPS)
                y = y - ADAM_LEARNING_RATE * (my / correction1) / (
                    jnp.sqrt(vy / correction2) + ADAM_EPS)
                return x, y, mx, my, vx, vy

            x, y, *_ = lax.fori_loop(0, num_steps, step, (x, y, zero, zero, zero, zero))
        else:
            def step(_, carry):
                x, y, ux, uy = carry
                gx, gy = gradient(x, y)
                ux, uy = MOMENTUM * ux + gx, MOMENTUM * uy + gy
                return x - MOMENTUM_LEARNING_RATE * ux, y - MOMENTUM_LEARNING_RATE * uy, ux, uy

            x, y, *_ = lax.fori_loop(0, num_steps, step, (x, y, zero, zero))
        x_out[...], y_out[...] = x, y

    block = pl.BlockSpec((lanes,), lambda i: (i,))

    @jax.jit
    def run(starts):
        shape = jax.ShapeDtypeStruct((num_points,), starts.dtype)
        x, y = pl.pallas_call(kernel, out_shape=[shape, shape], grid=(num_points // lanes,),
                              in_specs=[block, block], out_specs=[block, block],
                              interpret=interpret)(starts[:, 0], starts[:, 1])
        return jnp.stack([x, y], axis=-1)

    return run


def agreement(a, b) -> float:
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def run_case(name: str, surface, num_points: int, num_steps: int, repeats: int,
             interpret: bool) -> dict:
    optimizer = OPTIMIZERS[name]()
    starts = jl.starts.uniform(jax.random.PRNGKey(0), surface, num_points).astype(jnp.float32)
    calls = {}
    for layout, unroll in SCAN_VARIANTS:
        loop = handwritten_sweep(optimizer, surface, num_steps, layout=layout, unroll=unroll)
        calls[f"scan {layout} unroll {unroll}"] = lambda loop=loop: loop(starts)
    if name in ("adam", "momentum"):
        kernel = handwritten_kernel(name, num_points, num_steps, interpret)
        calls["hand-written pallas"] = lambda: kernel(starts)
    results = {}

    def sweep(backend):
        def call():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = jl.sweep(optimizer, surface, starts, num_steps,
                                  progress=False, engine=jl.Engine(backend=backend))
            results[backend] = (result, [str(w.message) for w in caught])
            return result.params
        return call

    for backend in ("scan", "fused", "auto"):
        calls[f"jl.sweep {backend}"] = sweep(backend)
    timings = timed(calls, repeats)
    work = float(num_points) * num_steps
    for timing in timings.values():
        timing["point_steps_per_second"] = work / timing["median_seconds"]

    scan, fused = results["scan"][0], results["fused"][0]
    auto, auto_warnings = results["auto"]
    checks = {"fused_vs_scan_status": agreement(fused.status, scan.status),
              "fused_vs_scan_basin": agreement(fused.basin, scan.basin),
              "auto_backend": auto.metadata["backend"],
              "auto_reason": auto.metadata["backend_reason"], "auto_warnings": auto_warnings}
    with jax.enable_x64(True):
        subset = np.asarray(starts[:REFERENCE_POINTS], np.float64)
        reference = jl.sweep(optimizer, surface, subset, num_steps,
                             gtol=float(scan.metadata["gtol"]), xtol=float(scan.metadata["xtol"]),
                             progress=False, engine=jl.Engine(backend="scan"))
    count = len(subset)
    for label, result in (("fused", fused), ("scan", scan)):
        checks[f"{label}_vs_float64_status"] = agreement(result.status[:count], reference.status)
        checks[f"{label}_vs_float64_basin"] = agreement(result.basin[:count], reference.basin)
    checks["passed"] = (checks["fused_vs_scan_status"] >= MIN_AGREEMENT
                        and checks["fused_vs_scan_basin"] >= MIN_AGREEMENT)
    best_scan = max((label for label in timings if label.startswith("scan ")),
                    key=lambda label: timings[label]["point_steps_per_second"])
    rate = {label: timing["point_steps_per_second"] for label, timing in timings.items()}
    targets = {"best_scan": best_scan,
               "auto_over_best_scan": rate["jl.sweep auto"] / rate[best_scan]}
    if "hand-written pallas" in rate:
        targets["auto_over_hand_written"] = rate["jl.sweep auto"] / rate["hand-written pallas"]
    return {"optimizer": name, "num_points": num_points, "num_steps": num_steps,
            "timings": timings, "checks": checks, "targets": targets}


def table(cases: list[dict]) -> str:
    lines = [("| optimizer | P | best scan (variant) | jl.sweep scan | fused | auto | hand-written "
              "| auto / best scan | auto / hand | fused = scan | fused = float64 |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for case in cases:
        rate = {k: v["point_steps_per_second"] for k, v in case["timings"].items()}
        best = case["targets"]["best_scan"]
        hand = rate.get("hand-written pallas")
        lines.append(
            f"| {case['optimizer']} | 2^{int(np.log2(case['num_points']))} | {rate[best]:.2g} "
            f"({best[5:]}) | {rate['jl.sweep scan']:.2g} | {rate['jl.sweep fused']:.2g} | "
            f"{rate['jl.sweep auto']:.2g} ({case['checks']['auto_backend']}) | "
            f"{'-' if hand is None else f'{hand:.2g}'} | "
            f"{case['targets']['auto_over_best_scan']:.2f} | "
            f"{case['targets'].get('auto_over_hand_written', float('nan')):.2f} | "
            f"{case['checks']['fused_vs_scan_status']:.4f} | "
            f"{case['checks']['fused_vs_float64_status']:.4f} |")
    return "\n".join(lines)


def main() -> None:
    platform = jax.devices()[0].platform
    on_gpu = platform in GPU_PLATFORMS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+",
                        default=[2**18, 2**20, 2**23] if on_gpu else [4096])
    parser.add_argument("--steps", type=int, default=1000 if on_gpu else 100)
    parser.add_argument("--repeats", type=int, default=5 if on_gpu else 2)
    parser.add_argument("--optimizers", nargs="+", choices=list(OPTIMIZERS),
                        default=list(OPTIMIZERS))
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      f"fused_{platform}.json"))
    args = parser.parse_args()
    surface = jl.surfaces.get("rosenbrock")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    cases = []
    for name in args.optimizers:
        for num_points in args.points:
            case = run_case(name, surface, num_points, args.steps, args.repeats,
                            interpret=not on_gpu)
            cases.append(case)
            print(f"{name} P={num_points}: checks {case['checks']}", flush=True)
            # Written after every case: a run cut short by a time limit keeps what it measured.
            report = {**environment(), "surface": surface.name, "dtype": "float32",
                      "interpreted": not on_gpu, "cases": cases}
            write_report(args.out, report)
    print(f"\nwrote {args.out}\n")
    print(table(cases))


if __name__ == "__main__":
    main()
