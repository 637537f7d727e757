"""First vs second run of the same `jaxopt-lab map`: what JAX's persistent compilation cache saves.

Each run is a fresh interpreter (as a user types the command twice): the first fills an empty
cache directory, the second finds its programs there; a third and fourth run with
``--no-compile-cache`` show the time without the cache. Wall time of the whole command
(interpreter start, imports, compile, sweep, picture) is what the user waits for.
Results go to ``benchmarks/results/compile_cache_<platform>.json``.

    PYTHONPATH=. python benchmarks/compile_cache.py               # momentum on Himmelblau, 64²
    PYTHONPATH=. python benchmarks/compile_cache.py --quick       # a smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import jax

from jaxopt_lab.bench import environment, write_report

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed_map(arguments: list[str], cache_home: str, output: str) -> float:
    """Seconds of one `jaxopt-lab map` in a fresh interpreter with ``XDG_CACHE_HOME=cache_home``."""
    env = {**os.environ, "XDG_CACHE_HOME": cache_home, "MPLBACKEND": "Agg",
           "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jaxopt_lab.cli", "map", *arguments, "-o", output],
                   check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", default="momentum")
    parser.add_argument("--surface", default="himmelblau")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="a 16² map of 100 steps")
    args = parser.parse_args()
    resolution, steps = (16, 100) if args.quick else (args.resolution, 500)
    arguments = ["--optimizer", args.optimizer, "--surface", args.surface, "--resolution",
                 str(resolution), "--steps", str(steps), "--no-progress"]
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "map.png")
        cache_home = os.path.join(scratch, "cache")
        first = timed_map(arguments, cache_home, output)
        second = timed_map(arguments, cache_home, output)
        uncached = [timed_map(arguments + ["--no-compile-cache"], cache_home, output)
                    for _ in range(2)]
    report = {**environment(), "command": "jaxopt-lab map " + " ".join(arguments),
              "first_run_seconds": first, "second_run_seconds": second,
              "no_cache_seconds": uncached, "second_over_first": second / first}
    print(json.dumps(report, indent=1))
    if not args.quick:
        os.makedirs(RESULTS, exist_ok=True)
        path = os.path.join(RESULTS, f"compile_cache_{jax.devices()[0].platform}.json")
        write_report(path, report)


if __name__ == "__main__":
    main()
