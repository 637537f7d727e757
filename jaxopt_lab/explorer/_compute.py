"""The explorer's computations on `jl.sweep`, and their compact encodings.

Slider values reach the optimizer factory as ``hyperparams`` (a grid of one setting), so they
are traced: one compilation per (optimizer, surface, steps, resolution, dtype), whatever the
values. Map layers travel as one byte per cell (base64 in the JSON), rows from the lowest y up
(the order of `jl.starts.grid`), with a legend that says what each byte means.
"""
from __future__ import annotations

import base64
import math
import os
import tempfile
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lab as jl
from jaxopt_lab.explorer import _theory
from jaxopt_lab.explorer._models import MAX_TRAJECTORIES
from jaxopt_lab.explorer._resolve import Work

#: Byte meaning "no value" in every layer (unfinished steps, no basin, non-finite loss).
NO_VALUE = 255
#: Largest byte of a scaled value: values map linearly onto 0 … SCALE_TOP.
SCALE_TOP = 254
#: Floor of the loss gap f − f_min on the log scale (float rounding below it is noise).
LOSS_GAP_FLOOR = 1e-12


def _bytes(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).decode()


def _hyperparam_arrays(values: dict[str, float], dtype: str, length: int = 1) -> dict:
    return {name: np.full(length, value, dtype=dtype) for name, value in values.items()}


def sweep_map(work: Work, resolution: int) -> tuple[jl.SweepResult, jl.starts.Grid]:
    """The sweep behind a map: every start of a ``resolution``² grid over the surface."""
    grid = jl.starts.grid(work.surface, resolution)
    starts = jnp.asarray(grid.points, dtype=work.dtype)
    result = jl.sweep(work.factory, work.surface, starts, work.steps,
                      hyperparams=_hyperparam_arrays(work.hyperparams, work.dtype),
                      progress=False,
                      metadata={"explorer": {"optimizer": work.optimizer.name,
                                             "schedule": work.schedule,
                                             "hyperparams": work.hyperparams}})
    return result, grid


def _loss_layer(loss: np.ndarray, f_min: float | None) -> tuple[np.ndarray, dict]:
    finite = np.isfinite(loss)
    reference = f_min if f_min is not None else (loss[finite].min() if finite.any() else 0.0)
    gap = np.log10(np.maximum(np.where(finite, loss - reference, 1.0), LOSS_GAP_FLOOR))
    low, high = (float(gap[finite].min()), float(gap[finite].max())) if finite.any() else (0, 0)
    span = max(high - low, 1e-9)
    layer = np.where(finite, np.round(SCALE_TOP * (gap - low) / span), NO_VALUE)
    legend = {"quantity": "log10(loss − reference)", "reference": float(reference),
              "log10_low": low, "log10_high": high,
              "encoding": f"byte b < {NO_VALUE}: log10 gap = low + b/{SCALE_TOP}·(high − low); "
                          f"{NO_VALUE}: not finite"}
    return layer, legend


def encode_map(result: jl.SweepResult, grid, work: Work) -> dict:
    """The JSON body of a map: byte layers, counts, legend and closed forms."""
    status = np.asarray(result.status)[0]
    steps = np.asarray(result.steps)[0]
    basin = np.asarray(result.basin)[0]
    stopped = status != jl.Status.UNFINISHED
    steps_layer = np.where(stopped, np.round(SCALE_TOP * steps / work.steps), NO_VALUE)
    basin_layer = np.where(basin >= 0, np.minimum(basin, SCALE_TOP), NO_VALUE)
    loss_layer, loss_legend = _loss_layer(np.asarray(result.loss, dtype=float)[0],
                                          work.surface.f_min)
    counts = {s.name.lower(): int(np.sum(status == s)) for s in jl.Status}
    return {
        "resolution": grid.shape[0], "extent": list(grid.extent), "counts": counts,
        "layers": {"status": _bytes(status), "basin": _bytes(basin_layer),
                   "steps": _bytes(steps_layer), "loss": _bytes(loss_layer)},
        "legend": {
            "rows": "row-major, first row at the lowest y, first column at the lowest x",
            "status": {str(int(s)): s.name.lower() for s in jl.Status},
            "basin": {"minima": [list(m) for m in work.surface.minima],
                      "encoding": f"index into minima; {NO_VALUE}: in no listed minimum's basin"},
            "steps": {"num_steps": work.steps,
                      "encoding": f"byte b < {NO_VALUE}: stopped at step ≈ b/{SCALE_TOP}·"
                                  f"num_steps; {NO_VALUE}: unfinished"},
            "loss": loss_legend,
        },
        "hyperparams": work.hyperparams,
        "theory": _theory.summary(work.surface, work.optimizer, work.hyperparams),
    }


def result_npz(work: Work, resolution: int) -> bytes:
    """The map's `SweepResult` as the bytes of its ``.npz`` file (`SweepResult.save`)."""
    result, _ = sweep_map(work, resolution)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "map.npz")
        result.save(path)
        with open(path, "rb") as file:
            return file.read()


def _finite_or_none(values: np.ndarray) -> list:
    return [v if math.isfinite(v) else None for v in values.tolist()]


def trajectories(work: Work, starts: list[tuple[float, float]]) -> list[dict]:
    """Each start's path (positions and losses) and outcome.

    The starts are padded to `MAX_TRAJECTORIES` (copies of the first), so that adding a path
    runs the same compiled program as before instead of compiling one per number of paths.
    """
    padded = list(starts) + [starts[0]] * (MAX_TRAJECTORIES - len(starts))
    points = jnp.asarray(padded, dtype=work.dtype)
    result = jl.sweep(work.factory, work.surface, points, work.steps,
                      hyperparams=_hyperparam_arrays(work.hyperparams, work.dtype),
                      trajectories=list(range(len(padded))), progress=False)
    paths = np.asarray(result.trajectories, dtype=float)[0]
    losses = np.asarray(jax.vmap(jax.vmap(work.surface.fn))(jnp.asarray(paths)), dtype=float)
    status, steps = np.asarray(result.status)[0], np.asarray(result.steps)[0]
    basin = np.asarray(result.basin)[0]
    return [{"start": list(start), "status": jl.Status(int(status[i])).name.lower(),
             "steps": int(steps[i]), "basin": int(basin[i]),
             "x": _finite_or_none(paths[i, :, 0]), "y": _finite_or_none(paths[i, :, 1]),
             "loss": _finite_or_none(losses[i])}
            for i, start in enumerate(starts)]


def _axis_values(axis, count: int) -> np.ndarray:
    space = np.geomspace if axis.log else np.linspace
    return space(axis.low, axis.high, count)


def plane(work: Work, request) -> dict:
    """Share of starts that converge and their median steps, per setting of two hyperparameters."""
    count = request.plane_resolution
    xs, ys = _axis_values(request.x, count), _axis_values(request.y, count)
    grid_x, grid_y = np.meshgrid(xs, ys)  # x fastest: row i is the i-th y value
    hyperparams = _hyperparam_arrays(work.hyperparams, work.dtype, count * count)
    hyperparams[request.x.name] = grid_x.ravel().astype(work.dtype)
    hyperparams[request.y.name] = grid_y.ravel().astype(work.dtype)
    starts = jl.starts.grid(work.surface, request.start_resolution)
    result = jl.sweep(work.factory, work.surface,
                      jnp.asarray(starts.points, dtype=work.dtype), work.steps,
                      hyperparams=hyperparams, progress=False)
    status, steps = np.asarray(result.status), np.asarray(result.steps, dtype=float)
    converged = status == jl.Status.CONVERGED
    share = converged.mean(axis=1)
    with warnings.catch_warnings():  # a setting where no start converged has no median: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(np.where(converged, steps, np.nan), axis=1)
    median_layer = np.where(np.isfinite(median),
                            np.round(SCALE_TOP * np.nan_to_num(median) / work.steps), NO_VALUE)
    x_range, y_range = (request.x.low, request.x.high), (request.y.low, request.y.high)
    return {
        "resolution": count, "x": {**request.x.model_dump(), "values": xs.tolist()},
        "y": {**request.y.model_dump(), "values": ys.tolist()},
        "starts_per_setting": int(starts.points.shape[0]),
        "layers": {"converged_share": _bytes(np.round(SCALE_TOP * share)),
                   "median_steps": _bytes(median_layer)},
        "legend": {"converged_share": f"byte b: share b/{SCALE_TOP} of the starts converged",
                   "median_steps": f"byte b < {NO_VALUE}: median steps of the converged starts "
                                   f"≈ b/{SCALE_TOP}·{work.steps}; {NO_VALUE}: none converged",
                   "rows": "row-major, first row at the lowest y"},
        "boundary": _theory.boundary(work.surface, work.optimizer, work.hyperparams,
                                     request.x.name, request.y.name, x_range, y_range),
        "curvatures": _theory.curvatures_json(work.surface),
    }
