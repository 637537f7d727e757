"""`jl.sweep` under ``jax.distributed`` on 1, 2 and 4 processes: wall time, and the same bits?

Starts each group of CPU processes on this machine (a coordinator on a free localhost port,
gloo collectives), every process making the same ``jl.sweep`` call; each times a first call
(compiling) and the median of ``--repeats`` more, and process 0 saves its result. The report
says, per process count, those times, the launch's whole wall time (JAX's start and the
coordinator included), and whether the result equals the one-process result bit for bit.

On one machine the processes share its cores, so no speed-up can show; on a cluster, run the
same sweep under your launcher instead (every process: ``--worker``, JAX reads SLURM's or the
TPU pod's environment) and compare with one process.

    PYTHONPATH=. python benchmarks/distributed_processes.py                  # 1, 2, 4 processes
    PYTHONPATH=. python benchmarks/distributed_processes.py --resolution 64 --steps 100
    srun python benchmarks/distributed_processes.py --worker --out run.json  # on a cluster

Writes ``benchmarks/results/distributed_processes.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
#: Seconds a group of processes may take before it counts as hung.
GROUP_TIMEOUT_SECONDS = 600


def worker(args: argparse.Namespace) -> None:
    """One process of a group: join, sweep, time; process 0 saves the result and timings."""
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if args.port:
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{args.port}",
                                   num_processes=args.processes, process_id=args.process_id,
                                   heartbeat_timeout_seconds=30)
    elif args.cluster:
        jax.distributed.initialize(heartbeat_timeout_seconds=30)
    import optax

    import jaxopt_lab as jl
    from jaxopt_lab.bench import environment

    surface = jl.surfaces.get(args.surface)
    starts = jl.starts.grid(surface, args.resolution)
    optimizer = optax.sgd(args.learning_rate, momentum=0.9)  # one object: one compile

    def run() -> jl.SweepResult:
        return jl.sweep(optimizer, surface, starts, args.steps, progress=False,
                        engine=jl.Engine(chunk_size=args.chunk_size))

    began = time.perf_counter()
    result = run()
    first = time.perf_counter() - began
    seconds = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - began)
    if jax.process_index() == 0:
        if args.result:
            result.save(args.result)
        with open(args.out, "w") as handle:
            json.dump({"environment": environment(), "first_call_seconds": first,
                       "median_seconds": float(np.median(seconds)),
                       "point_steps_per_second": starts.points.shape[0] * args.steps
                       / float(np.median(seconds)),
                       "num_processes": result.metadata["num_processes"],
                       "global_device_count": result.metadata["global_device_count"],
                       "chunk_size": result.metadata["chunk_size"]}, handle, indent=2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(args: argparse.Namespace, count: int, directory: str) -> dict:
    """Run a group of ``count`` processes; its process 0's timings and the whole wall time."""
    port = _free_port() if count > 1 else 0
    out = os.path.join(directory, f"timings-{count}.json")
    result = os.path.join(directory, f"result-{count}.npz")
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--processes", str(count),
               "--port", str(port), "--out", out, "--result", result,
               "--surface", args.surface, "--resolution", str(args.resolution),
               "--steps", str(args.steps), "--learning-rate", str(args.learning_rate),
               "--chunk-size", str(args.chunk_size),
               "--repeats", str(args.repeats)]
    began = time.perf_counter()
    children = [subprocess.Popen(command + ["--process-id", str(index)], env=env)
                for index in range(count)]
    codes = [child.wait(timeout=GROUP_TIMEOUT_SECONDS) for child in children]
    wall = time.perf_counter() - began
    if any(codes):
        raise SystemExit(f"{count} processes: exit codes {codes}")
    with open(out) as handle:
        timings = json.load(handle)
    return dict(timings, processes=count, launch_wall_seconds=wall, result=result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--surface", default="rosenbrock")
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=16384,
                        help="points per chunk: the unit of work a process takes (default 16,384)")
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=os.path.join(HERE, "results",
                                                         "distributed_processes.json"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cluster", action="store_true",
                        help="with --worker: join the processes JAX finds in the environment")
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.out = args.out or args.output
        worker(args)
        return
    import jaxopt_lab as jl
    from jaxopt_lab.bench import write_report

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for count in args.counts:
            row = launch(args, count, directory)
            rows.append(row)
            print(f"{count} process(es): first call {row['first_call_seconds']:.2f} s, median "
                  f"{row['median_seconds']:.2f} s, launch {row['launch_wall_seconds']:.1f} s",
                  flush=True)
        reference = jl.SweepResult.load(rows[0].pop("result")).arrays()
        for row in rows[1:]:
            arrays = jl.SweepResult.load(row.pop("result")).arrays()
            row["identical_to_first"] = all(
                np.array_equal(arrays[name], reference[name]) and
                arrays[name].dtype == reference[name].dtype for name in reference)
    report = {"sweep": {"optimizer": f"optax.sgd({args.learning_rate}, momentum=0.9)",
                        "surface": args.surface, "points": args.resolution**2,
                        "chunk_size": args.chunk_size,
                        "steps": args.steps, "repeats": args.repeats},
              "reference_processes": args.counts[0], "results": rows}
    write_report(args.output, report)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
