"""The command line shared by the trainability benchmarks: a table of cases, one JSON file."""
from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxopt_lab.bench import environment

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def run_cases(name: str, description: str, case: Callable[..., dict], window: tuple, *,
              steps: int, rounds: int) -> None:
    """Parse widths, resolutions, steps, dtypes, rounds and --out; run ``case(width,
    resolution, steps, dtype, rounds)`` for each combination; write the rows to
    ``results/<name>_<platform>.json`` (or --out)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    rows = [case(width, resolution, args.steps, jnp.dtype(dtype), args.rounds)
            for dtype in args.dtypes for width in args.widths for resolution in args.resolutions]
    out = args.out or os.path.join(RESULTS, f"{name}_{jax.default_backend()}.json")
    with open(out, "w") as file:
        json.dump({"environment": environment(), "window": window, "rounds": args.rounds,
                   "cases": rows}, file, indent=1)
    print(f"wrote {out}")
