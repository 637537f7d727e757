"""The memory guard of `jl.sweep`: what its result will hold, against the memory budget.

A sweep's chunks are sized to the budget (`jaxopt_lab.engine._plan`), but its result is held
whole: every point's outcome, its loss history (``C × P × R`` numbers) and the recorded paths
(``C × S × (num_steps + 1) × dim``). `check_outputs_fit` estimates those bytes before any work
and refuses a sweep whose result does not fit the budget, naming the bytes, the budget and what
to change; `path_piece_size` cuts the recording of paths into calls that fit it.

>>> sizes = output_bytes(num_points=2**24, num_configs=1, dim=2, itemsize=8, num_steps=300,
...                      record_loss_every=1, num_paths=0)
>>> sizes["loss_history"], sum(sizes.values()) // 2**30  # GiB
(40399536128, 38)
>>> path_piece_size(num_paths=1000, num_configs=1, num_steps=99, dim=2, itemsize=8,
...                 budget=2**20)
218
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jaxopt_lab.engine._errors import EngineOptionError
from jaxopt_lab.engine._options import Engine
from jaxopt_lab.engine._plan import default_memory_budget

#: Bytes per point of the int8 status and the int32 steps and basin.
STATUS_BYTES, STEPS_BYTES, BASIN_BYTES = 1, 4, 4
#: Copies of a path alive while a call records it: the scan's stacked output, the stretches
#: joined per check block, and the whole path joined with its final point.
PATH_WORKSPACE_FACTOR = 3


def memory_budget(engine: Engine | None) -> int:
    """``engine.memory_budget``, else the default for the sweep's first device."""
    engine = engine or Engine()
    if engine.memory_budget is not None:
        return engine.memory_budget
    device = engine.devices[0] if engine.devices else jax.local_devices()[0]
    return default_memory_budget(device)


def output_bytes(*, num_points: int, num_configs: int, dim: int, itemsize: int, num_steps: int,
                 record_loss_every: int | None, num_paths: int) -> dict[str, int]:
    """Bytes of each array of a sweep's result (Python ints: exact, never overflowing)."""
    points = num_configs * num_points
    records = num_steps // record_loss_every + 1 if record_loss_every else 0
    return {
        "params": points * dim * itemsize,
        "loss": points * itemsize,
        "status": points * STATUS_BYTES,
        "steps": points * STEPS_BYTES,
        "basin": points * BASIN_BYTES,
        "loss_history": points * records * itemsize,
        "trajectories": num_configs * num_paths * (num_steps + 1) * dim * itemsize,
    }


def _advice(sizes: dict[str, int]) -> str:
    """What to change, the largest array's remedy first."""
    remedies = {"loss_history": "record the loss less often (a larger record_loss_every) or not "
                                "at all",
                "trajectories": "record fewer trajectories (or sweep fewer num_steps)",
                "params": "sweep fewer starts (or fewer hyperparams configurations) per call"}
    for name in ("loss", "status", "steps", "basin"):
        remedies[name] = remedies["params"]
    ordered = sorted((name for name in sizes if sizes[name]), key=lambda n: -sizes[n])
    steps = list(dict.fromkeys(remedies[name] for name in ordered))
    if jax.process_count() > 1:  # each process may keep only its own share of the points
        steps.append('keep a share per process (Engine(gather="none"), joined later by '
                     "SweepResult.concatenate)")
    return ", ".join(steps + ["or raise Engine(memory_budget=...)"])


def check_outputs_fit(engine: Engine | None, *, num_points: int, num_configs: int, dim: int,
                      dtype: Any, num_steps: int, record_loss_every: int | None,
                      num_paths: int) -> int:
    """The memory budget, once the result is known to fit it; else `EngineOptionError`.

    >>> check_outputs_fit(Engine(memory_budget=2**20), num_points=4096, num_configs=1, dim=2,
    ...                   dtype=np.float64, num_steps=100, record_loss_every=1, num_paths=0)
    Traceback (most recent call last):
    ...
    jaxopt_lab.engine.EngineOptionError: this sweep's result needs 3,444,736 bytes (loss_history 3,309,568, params 65,536, loss 32,768, steps 16,384, basin 16,384, status 4,096), more than the memory budget of 1,048,576 bytes: record the loss less often (a larger record_loss_every) or not at all, sweep fewer starts (or fewer hyperparams configurations) per call, or raise Engine(memory_budget=...)
    """
    budget = memory_budget(engine)
    sizes = output_bytes(num_points=num_points, num_configs=num_configs, dim=dim,
                         itemsize=np.dtype(dtype).itemsize, num_steps=num_steps,
                         record_loss_every=record_loss_every, num_paths=num_paths)
    needed = sum(sizes.values())
    if needed > budget:
        parts = ", ".join(f"{name} {size:,}" for name, size in
                          sorted(sizes.items(), key=lambda item: -item[1]) if size)
        raise EngineOptionError(
            "memory_budget", f"this sweep's result needs {needed:,} bytes ({parts}), more than "
            f"the memory budget of {budget:,} bytes: {_advice(sizes)}")
    return budget


def path_piece_size(*, num_paths: int, num_configs: int, num_steps: int, dim: int,
                    itemsize: int, budget: int) -> int:
    """Paths per call recording them: as many as fit ``budget``, at least one."""
    per_path = num_configs * (num_steps + 1) * dim * itemsize * PATH_WORKSPACE_FACTOR
    return int(np.clip(budget // per_path, 1, num_paths))
