"""Bad inputs through the public API, each sorted into one of five outcomes; writes the counts.

A fixed list of mistakes a user makes (wrong types, complex numbers, integers past a dtype,
NaN and ±inf where ranges are open, empty devices, engine keys in metadata, results too large
for memory, damaged files) and of inputs that are data rather than mistakes (NaN starts, int64
starts, repeated trajectory indices). Each case is run once and counted as

- **clear error**: a ``ValueError``/``TypeError`` raised by jaxopt_lab whose message names the
  argument (or the file) it is about, and never suggests ``allow_pickle``;
- **documented result**: the call returned what the documentation promises for that input;
- **crash**: any other exception (from inside JAX or NumPy, an IndexError, a message that names
  nothing it was given);
- **wrong**: the call returned where it should have refused, or returned something other than
  the documented outcome (an input silently changed).

Results go to ``benchmarks/results/robustness.json`` (counts, then each case's outcome).

    PYTHONPATH=. python benchmarks/robustness_table.py
"""
from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import traceback
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lab as jl
from jaxopt_lab.bench import environment, write_report

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PACKAGE_DIR = os.path.dirname(os.path.abspath(jl.__file__))
OUTCOMES = ("clear error", "documented result", "crash", "wrong")

H = jl.surfaces.get("himmelblau")
S = jl.starts.grid(H, 16).points
SCRATCH = tempfile.mkdtemp(prefix="robustness-")


def sweep(*args: Any, **kwargs: Any) -> jl.SweepResult:
    return jl.sweep(*args, progress=False, **kwargs)


def statuses(result: jl.SweepResult) -> list[int]:
    return np.asarray(result.status).ravel().tolist()


def saved_file(name: str, content: bytes | None = None, *, status_entries: int | None = None,
               bfloat16: bool = False) -> str:
    """A file at ``SCRATCH/name``: ``content`` as is, or a result with ``status_entries``
    statuses beside 256 points, or a result of bfloat16 params."""
    path = os.path.join(SCRATCH, name)
    if content is not None:
        with open(path, "wb") as handle:
            handle.write(content)
        return path
    points = 256
    dtype = jnp.bfloat16 if bfloat16 else np.float32
    result = jl.SweepResult(params=np.zeros((points, 2), dtype), loss=np.zeros(points, dtype),
                            status=np.ones(status_entries or points, np.int8),
                            steps=np.zeros(points, np.int32), basin=np.zeros(points, np.int32),
                            metadata={"surface": {"name": "himmelblau"}})
    result.save(path)
    return path


def truncated_result() -> str:
    path = saved_file("whole.npz")
    with open(path, "rb") as handle:
        content = handle.read()
    return saved_file("truncated.npz", content[: len(content) // 2])


def error(*names: str) -> tuple[str, tuple[str, ...]]:
    """Expect a clear error naming one of ``names``."""
    return "error", names


def result(check: Callable[[Any], bool]) -> tuple[str, Callable[[Any], bool]]:
    """Expect a result for which ``check`` holds."""
    return "result", check


#: (case, call, expectation). Sweeps are small (16 x 16 starts, tens of steps).
CASES: list[tuple[str, Callable[[], Any], tuple]] = [
    # Inputs silently changed.
    ("sweep: int64 start 2**62", lambda: sweep(jl.sgd(0.01), H, np.array([[2**62, 0]]), 50),
     result(lambda r: statuses(r) == [jl.Status.DIVERGED] and r.steps.tolist() == [0])),
    ("sweep: int start past float range",
     lambda: sweep(jl.sgd(0.01), H, [[10**400, 0]], 50), error("starts")),
    ("sweep: complex starts", lambda: sweep(jl.sgd(0.01), H, S + 1j, 50), error("starts")),
    ("sweep: complex hyperparams", lambda: sweep(jl.sgd, H, S, 50, hyperparams={
        "learning_rate": [0.01 + 1j]}), error("hyperparams")),
    ("sweep: bool starts", lambda: sweep(jl.sgd(0.01), H, np.ones((4, 2), bool), 50),
     error("starts")),
    ("sgd: learning rate inf", lambda: jl.sgd(float("inf")), error("learning_rate")),
    ("adam: b1 NaN", lambda: jl.adam(0.1, b1=float("nan")), error("b1")),
    ("Surface: escape_radius -1", lambda: jl.Surface("s", jnp.sum, 2, ((-1, 1), (-1, 1)),
                                                     escape_radius=-1.0), error("escape_radius")),
    ("Surface: escape_radius NaN", lambda: jl.Surface(
        "s", jnp.sum, 2, ((-1, 1), (-1, 1)), escape_radius=float("nan")), error("escape_radius")),
    ("Surface: inverted bounds", lambda: jl.Surface("s", jnp.sum, 2, ((1, -1), (-1, 1))),
     error("bounds")),
    ("sweep: metadata num_steps", lambda: sweep(jl.sgd(0.01), H, S, 50,
                                                metadata={"num_steps": 999}), error("metadata")),
    ("sweep: metadata backend", lambda: sweep(jl.sgd(0.01), H, S, 50,
                                              metadata={"backend": "mine"}), error("metadata")),
    ("load: 3 statuses beside 256 points",
     lambda: jl.SweepResult.load(saved_file("short.npz", status_entries=3)), error("short.npz")),
    ("load: bfloat16 round trip",
     lambda: jl.SweepResult.load(saved_file("bf16.npz", bfloat16=True)),
     result(lambda r: r.params.dtype == jnp.bfloat16)),
    # Errors late or misleading.
    ("adam: learning rate str", lambda: jl.adam("0.1"), error("learning_rate")),
    ("lbfgs: memory_size 2.0", lambda: jl.lbfgs(1.0, 2.0), error("memory_size")),
    ("momentum: momentum list", lambda: jl.momentum(0.1, [0.9, 0.5]), error("momentum")),
    ("sweep: per-coordinate learning rate",
     lambda: sweep(jl.sgd(jnp.array([0.01, 0.01])), H, S, 50),
     result(lambda r: r.params.shape == (256, 2) and jl.Status.CONVERGED in statuses(r))),
    ("sweep: learning rate of the wrong shape",
     lambda: sweep(jl.sgd(jnp.array([0.01, 0.01, 0.01])), H, S, 50), error("learning_rate")),
    ("Engine: devices=[]", lambda: jl.Engine(devices=[]), error("devices")),
    ("sweep: devices not devices", lambda: sweep(jl.sgd(0.01), H, S, 50,
                                                 engine=jl.Engine(devices=["cpu"])),
     error("devices")),
    ("sweep: metadata not JSON", lambda: sweep(jl.sgd(0.01), H, S, 50,
                                               metadata={"note": object()}), error("metadata")),
    ("sweep: metadata int key", lambda: sweep(jl.sgd(0.01), H, S, 50, metadata={1: "a"}),
     error("metadata")),
    ("Surface: dim '2'", lambda: jl.Surface("s", jnp.sum, "2", ((-1, 1), (-1, 1))),
     error("dim")),
    ("load: random bytes", lambda: jl.SweepResult.load(saved_file(
        "noise.npz", np.random.default_rng(0).bytes(4096))), error("noise.npz")),
    ("load: truncated archive", lambda: jl.SweepResult.load(truncated_result()),
     error("truncated.npz")),
    ("load: missing file", lambda: jl.SweepResult.load(os.path.join(SCRATCH, "none.npz")),
     error("none.npz")),
    ("sweep: starts str", lambda: sweep(jl.sgd(0.01), H, "0,0", 50), error("starts")),
    ("sweep: starts of dim 3", lambda: sweep(jl.sgd(0.01), H, np.zeros((4, 3)), 50),
     error("starts")),
    ("sweep: hyperparams str", lambda: sweep(jl.sgd, H, S, 50, hyperparams={
        "learning_rate": "0.1"}), error("hyperparams")),
    ("sweep: hyperparams nested", lambda: sweep(jl.sgd, H, S, 50, hyperparams={
        "learning_rate": [[0.1, 0.2]]}), error("hyperparams")),
    ("sweep: hyperparams of two lengths", lambda: sweep(jl.momentum, H, S, 50, hyperparams={
        "learning_rate": [0.1, 0.2], "momentum": [0.9]}), error("hyperparams")),
    ("sweep: gtol NaN", lambda: sweep(jl.sgd(0.01), H, S, 50, gtol=float("nan")),
     error("gtol")),
    ("sweep: xtol inf", lambda: sweep(jl.sgd(0.01), H, S, 50, xtol=float("inf")),
     error("xtol")),
    ("sweep: basin_radius -1", lambda: sweep(jl.sgd(0.01), H, S, 50, basin_radius=-1.0),
     error("basin_radius")),
    ("sweep: gtol str", lambda: sweep(jl.sgd(0.01), H, S, 50, gtol="1e-3"), error("gtol")),
    ("sweep: record_loss_every 0", lambda: sweep(jl.sgd(0.01), H, S, 50, record_loss_every=0),
     error("record_loss_every")),
    ("sweep: trajectories bools", lambda: sweep(jl.sgd(0.01), H, S, 50,
                                                trajectories=[True, False]),
     error("trajectories")),
    ("sweep: trajectories floats", lambda: sweep(jl.sgd(0.01), H, S, 50, trajectories=[0.5]),
     error("trajectories")),
    ("sweep: trajectories negative", lambda: sweep(jl.sgd(0.01), H, S, 50, trajectories=[-1]),
     error("trajectories")),
    ("sweep: trajectories repeated", lambda: sweep(jl.sgd(0.01), H, S, 50,
                                                   trajectories=[3, 3]),
     result(lambda r: r.trajectories.shape == (2, 51, 2)
            and bool(jnp.all(r.trajectories[0] == r.trajectories[1])))),
    ("sweep: NaN start", lambda: sweep(jl.sgd(0.01), H, np.array([[np.nan, 0.0]]), 50),
     result(lambda r: statuses(r) == [jl.Status.DIVERGED] and r.steps.tolist() == [0])),
    ("sweep: optimizer str", lambda: sweep("adam", H, S, 50), error("optimizer")),
    ("sweep: surface str", lambda: sweep(jl.sgd(0.01), "himmelblau", S, 50), error("surface")),
    ("sweep: checkpoint number", lambda: sweep(jl.sgd(0.01), H, S, 50, checkpoint=3),
     error("checkpoint")),
    # No memory guard on outputs.
    ("sweep: loss history of 2**24 points under 64 MiB",
     lambda: sweep(jl.sgd(0.01), H, jl.starts.grid(H, 4096), 300, record_loss_every=1,
                   engine=jl.Engine(memory_budget=64 << 20)), error("record_loss_every")),
    ("sweep: 2**22 trajectories", lambda: sweep(jl.sgd(0.01), H, jl.starts.grid(H, 2048), 50,
                                                trajectories=np.arange(2**22)),
     error("trajectories")),
    ("sweep: trajectories in pieces under 1 MiB",
     lambda: sweep(jl.sgd(0.01), H, S, 200, trajectories=np.arange(200),
                   engine=jl.Engine(memory_budget=1 << 20)),
     result(lambda r: r.trajectories.shape == (200, 201, 2)
            and bool(jnp.all(r.trajectories[:, -1] == r.params[:200])))),
    # The stop code.
    ("sweep: num_steps 2**30", lambda: sweep(jl.sgd(0.01), H, S, 2**30), error("num_steps")),
    ("sweep: num_steps 2**63", lambda: sweep(jl.sgd(0.01), H, S, 2**63), error("num_steps")),
    ("sweep: num_steps 2.0", lambda: sweep(jl.sgd(0.01), H, S, 2.0), error("num_steps")),
    ("sweep: optax factory without hyperparams", lambda: sweep(optax.adam, H, S, 50),
     error("hyperparams")),
]


def classify(call: Callable[[], Any], expectation: tuple) -> tuple[str, str]:
    """(outcome, what happened) of one case."""
    kind, detail = expectation
    try:
        value = call()
    except Exception as caught:  # every exception is a finding here, sorted below
        message = str(caught).replace(SCRATCH, "<tmp>")  # the same record on every run
        raised_in = traceback.extract_tb(caught.__traceback__)[-1].filename
        happened = f"{type(caught).__name__}: {message[:200]}"
        clear = (isinstance(caught, (ValueError, TypeError, FileNotFoundError))
                 and raised_in.startswith(PACKAGE_DIR) and "allow_pickle" not in message)
        if kind == "error" and clear and any(re.search(re.escape(name), message)
                                             for name in detail):
            return "clear error", happened
        return ("wrong" if clear else "crash"), happened
    if kind == "result" and detail(value):
        return "documented result", "returned as documented"
    return "wrong", "returned" + ("" if kind == "result" else " instead of refusing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.path.join(RESULTS, "robustness.json"))
    args = parser.parse_args()
    rows = []
    for case, call, expectation in CASES:
        outcome, happened = classify(call, expectation)
        rows.append({"case": case, "outcome": outcome, "happened": happened})
        print(f"{outcome:17s} {case}: {happened}", flush=True)
    counts = {"tried": len(rows), **{name: sum(row["outcome"] == name for row in rows)
                                     for name in OUTCOMES}}
    print(json.dumps(counts))
    write_report(args.output, {"environment": environment(), "counts": counts, "cases": rows})


if __name__ == "__main__":
    main()
