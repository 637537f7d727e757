"""`SweepResult`: the per-point outcome of `jl.sweep` and its .npz persistence.

A result file is one ``.npz`` archive holding the arrays and, under the key ``metadata``, a JSON
document (optimizer, hyperparameter names, surface, steps, tolerances, layout, versions, device).
It is written to a temporary file in the target's directory and renamed over the target, so a
crash leaves either the old file or the new one, never half of one.

>>> import tempfile, os, numpy as np
>>> result = SweepResult(params=np.zeros((2, 2)), loss=np.zeros(2),
...                      status=np.ones(2, np.int8), steps=np.array([3, 4]), basin=np.zeros(2, int),
...                      metadata={"surface": {"name": "bowl"}})
>>> path = os.path.join(tempfile.mkdtemp(), "bowl.npz")
>>> result.save(path)
>>> loaded = SweepResult.load(path)
>>> loaded.steps.tolist(), loaded.metadata["surface"]["name"]
([3, 4], 'bowl')
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab.engine._status import Status as _Status

#: The outcome of every point, as both backends return it (with ``loss_history`` when recorded).
POINT_FIELDS = ("params", "loss", "status", "steps", "basin")
ARRAY_FIELDS = POINT_FIELDS + ("loss_history", "loss_steps", "trajectories", "trajectory_indices")
HYPERPARAM_PREFIX = "hyperparams/"
#: Metadata entries equal in every part of one sweep (`SweepResult.concatenate`): what is
#: computed, not how many points or on what machine.
SWEEP_IDENTITY = ("optimizer", "hyperparams", "surface", "num_steps", "gtol", "xtol",
                  "basin_radius", "record_loss_every", "check_every", "dtype",
                  "hyperparams_per_point", "divergence")
METADATA_KEY = "metadata"
#: `SweepResult.summary` names the most visited basins, this many; the rest as one count.
_BASINS_SHOWN = 8
DTYPES_KEY = "dtypes"
#: Dtypes that .npy files hold only as raw bytes, by name.
_EXTENDED_DTYPES = {"bfloat16": np.dtype(jnp.bfloat16)}


@dataclasses.dataclass
class SweepResult:
    """Outcome of a sweep over ``P`` starting points (and ``C`` hyperparameter settings).

    Every field has a leading ``C`` axis when the sweep had ``hyperparams`` (shown as ``…``).
    `jl.sweep` returns ``jax.Array`` fields; `load` returns NumPy arrays with the same values.

    Attributes:
      params: ``(…, P, dim)`` final points (a diverged point: where it failed).
      loss: ``(…, P)`` loss at ``params``.
      status: ``(…, P)`` int8 `jaxopt_lab.Status`.
      steps: ``(…, P)`` int32 step at which the point converged or diverged, −1 if neither.
      basin: ``(…, P)`` int32 index into ``surface.minima`` of the minimum within the basin radius
        of ``params``, −1 if none (always −1 for diverged points).
      hyperparams: ``{name: (C,)}``, empty when the optimizer was a transformation.
      loss_history: ``(…, P, R)`` loss at steps ``loss_steps`` (``record_loss_every``), or None.
      loss_steps: ``(R,)`` steps of ``loss_history``: 0, k, 2k, … and ``num_steps``.
      trajectories: ``(…, S, num_steps + 1, dim)`` whole paths of the points
        ``trajectory_indices`` (``(S,)``), or None.
      divergence_state: the final states of the sweep's divergence rule, every leaf with a
        leading P axis, or None without a rule (not saved by `save`).
      metadata: JSON-serializable description of the sweep.
    """

    params: Any
    loss: Any
    status: Any
    steps: Any
    basin: Any
    hyperparams: dict[str, Any] = dataclasses.field(default_factory=dict)
    loss_history: Any = None
    loss_steps: Any = None
    trajectories: Any = None
    trajectory_indices: Any = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    divergence_state: Any = None

    @property
    def point_axis(self) -> int:
        """The points' axis in every field, 1 after a grid's configurations, else 0 (with
        ``hyperparams`` given per point, or none)."""
        per_point = self.metadata.get("hyperparams_per_point", False)
        return 1 if self.hyperparams and not per_point else 0

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any], **fields: Any) -> SweepResult:
        """A result from a kernel's per-point ``outputs`` and the other ``fields``."""
        return cls(**{name: outputs.get(name) for name in POINT_FIELDS + ("loss_history",)},
                   **fields)

    @classmethod
    def concatenate(cls, parts: Sequence[SweepResult]) -> SweepResult:
        """One result from ``parts`` of one sweep over consecutive stretches of its starts.

        Each part is a sweep of the same optimizer, hyperparameters, surface, steps, criteria,
        check interval and dtype (`SWEEP_IDENTITY` in the metadata) over its own points: the
        share each process returned under ``jax.distributed`` with ``Engine(gather="none")``,
        or a whole sweep of its own over a slice of the starts (run anywhere, e.g. one per
        machine). The points are joined in the order of ``parts``, and ``trajectory_indices``
        shifted to index the joined points; so are the settings of a sweep with
        ``hyperparams_per_point`` and the divergence rule's states, where every part has them. Metadata: the first part's, with ``num_points`` and
        ``chunks_loaded`` summed (and ``total_points``: the shares' sweep's, or the sum).

        >>> import numpy as np
        >>> def part(steps):
        ...     return SweepResult(params=np.zeros((len(steps), 2)), loss=np.zeros(len(steps)),
        ...                        status=np.ones(len(steps), np.int8), steps=np.array(steps),
        ...                        basin=np.zeros(len(steps), int),
        ...                        metadata={"num_steps": 50, "num_points": len(steps)})
        >>> joined = SweepResult.concatenate([part([3, 4]), part([5])])
        >>> joined.steps.tolist(), joined.metadata["num_points"]
        ([3, 4, 5], 3)

        Raises:
          ValueError: if ``parts`` is empty or the parts are not of one sweep (another entry
            of `SWEEP_IDENTITY`, other hyperparameter values, other recorded loss steps), or
            shares of a distributed sweep do not follow one another (``metadata["first_point"]``
            of each is where the one before ends).
        """
        parts = list(parts)
        if not parts:
            raise ValueError("parts must hold at least one SweepResult, got none")
        _check_one_sweep(parts)
        first = parts[0]
        axis = first.point_axis
        fields = {name: np.concatenate([np.asarray(getattr(part, name)) for part in parts],
                                       axis=axis)
                  for name in POINT_FIELDS + ("loss_history",)
                  if getattr(first, name) is not None}
        metadata = dict(first.metadata)
        for key in ("num_points", "chunks_loaded"):
            if all(key in part.metadata for part in parts):
                metadata[key] = sum(part.metadata[key] for part in parts)
        for key in ("first_point", "total_points"):  # the first part's would be wrong
            metadata.pop(key, None)
        metadata.update(_joined_stretch(parts))
        hyperparams = dict(first.hyperparams)
        if first.metadata.get("hyperparams_per_point", False):
            hyperparams = {name: np.concatenate([np.asarray(part.hyperparams[name])
                                                 for part in parts]) for name in hyperparams}
        states = [part.divergence_state for part in parts]
        state = (None if any(state is None for state in states) else
                 jax.tree.map(lambda *leaves: np.concatenate([np.asarray(leaf) for leaf in leaves]),
                              *states))
        return cls(**fields, hyperparams=hyperparams, loss_steps=first.loss_steps,
                   **_joined_trajectories(parts, axis), divergence_state=state,
                   metadata=metadata)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array field (and each hyperparameter) as NumPy, by its name in the .npz file."""
        arrays = {name: np.asarray(getattr(self, name)) for name in ARRAY_FIELDS
                  if getattr(self, name) is not None}
        arrays.update({HYPERPARAM_PREFIX + name: np.asarray(value)
                       for name, value in self.hyperparams.items()})
        return arrays

    def save(self, path: str | os.PathLike) -> None:
        """Write the arrays and the JSON metadata to ``path`` (.npz), atomically."""
        arrays = self.arrays()
        arrays[METADATA_KEY] = np.asarray(json.dumps(self.metadata, sort_keys=True))
        # .npy stores dtypes NumPy does not know (bfloat16) as raw bytes: keep their names.
        extended = {name: array.dtype.name for name, array in arrays.items()
                    if array.dtype.kind == "V"}
        if extended:
            arrays[DTYPES_KEY] = np.asarray(json.dumps(extended, sort_keys=True))
        write_npz_atomically(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SweepResult:
        """Read a file written by `save` (NumPy arrays; no pickles are loaded).

        A file that is damaged, truncated, not an archive, or holds arrays of the wrong shapes
        or dtypes raises ``ValueError`` naming it.
        """
        arrays = _read_archive(path)
        try:
            metadata = json.loads(str(arrays.pop(METADATA_KEY, "{}")))
            dtypes = json.loads(str(arrays.pop(DTYPES_KEY, "{}")))
            for name, dtype in dtypes.items():
                arrays[name] = arrays[name].view(_EXTENDED_DTYPES[dtype])
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{os.fspath(path)!r} is not a valid SweepResult file: damaged "
                             f"metadata ({type(error).__name__}: {error})") from None
        hyperparams = {name[len(HYPERPARAM_PREFIX):]: arrays.pop(name) for name in list(arrays)
                       if name.startswith(HYPERPARAM_PREFIX)}
        unknown = set(arrays) - set(ARRAY_FIELDS)
        if unknown or not set(POINT_FIELDS) <= set(arrays):
            raise ValueError(f"path {os.fspath(path)!r} is not a SweepResult file "
                             f"(arrays {sorted(arrays)})")
        problem = _layout_problem(arrays, hyperparams)
        if problem:
            raise ValueError(f"{os.fspath(path)!r} is not a valid SweepResult file: {problem}")
        return cls(**arrays, hyperparams=hyperparams, metadata=metadata)

    def summary_dict(self) -> dict[str, Any]:
        """Counts per status, percentiles of the converged points' steps, points per basin.

        Over every point of every hyperparameter setting; plain JSON numbers. ``basins`` maps a
        minimum's index (as a string, a JSON key) to the converged points that reached it.
        """
        status, steps = np.asarray(self.status).ravel(), np.asarray(self.steps).ravel()
        basin = np.asarray(self.basin).ravel()
        counts = {kind.name.lower(): int(np.sum(status == kind.value)) for kind in _Status}
        converged = status == _Status.CONVERGED
        percentiles = ({f"p{q}": float(np.percentile(steps[converged], q)) for q in (10, 50, 90)}
                       if converged.any() else {})
        reached, number = np.unique(basin[converged & (basin >= 0)], return_counts=True)
        basins = {str(int(k)): int(n) for k, n in zip(reached, number)}
        elsewhere = int(np.sum(converged & (basin < 0)))
        settings = len(next(iter(self.hyperparams.values()))) if self.point_axis else 1
        return {"points": int(status.size), "settings": settings, "status": counts,
                "converged_steps": percentiles, "basins": basins,
                "converged_elsewhere": elsewhere}

    def summary(self) -> str:
        """A few lines for a person: what ran, status shares, steps to converge, basins.

        >>> import numpy as np
        >>> result = SweepResult(params=np.zeros((4, 2)), loss=np.zeros(4),
        ...                      status=np.array([1, 1, 0, 2], np.int8),
        ...                      steps=np.array([10, 30, -1, 2]), basin=np.array([0, 1, -1, -1]))
        >>> print(result.summary())
        4 points: converged 2 (50.0%), unfinished 1 (25.0%), diverged 1 (25.0%)
        steps to converge: p10 12, p50 20, p90 28
        basins reached: #0 1, #1 1
        """
        numbers = self.summary_dict()
        total = max(numbers["points"], 1)
        head = f"{numbers['points']} points" + (
            f" ({numbers['settings']} settings)" if numbers["settings"] > 1 else "")
        order = ("converged", "unfinished", "diverged")
        lines = [head + ": " + ", ".join(
            f"{name} {numbers['status'][name]} ({numbers['status'][name] / total:.1%})"
            for name in order)]
        if numbers["converged_steps"]:
            lines.append("steps to converge: " + ", ".join(
                f"{name} {value:g}" for name, value in numbers["converged_steps"].items()))
        if numbers["basins"] or numbers["converged_elsewhere"]:
            ranked = sorted(numbers["basins"].items(), key=lambda item: -item[1])
            reached = [f"#{k} {n}" for k, n in ranked[:_BASINS_SHOWN]]
            if len(ranked) > _BASINS_SHOWN:
                rest = ranked[_BASINS_SHOWN:]
                reached.append(f"{len(rest)} more basins {sum(n for _, n in rest)}")
            if numbers["converged_elsewhere"]:
                reached.append(f"elsewhere {numbers['converged_elsewhere']}")
            lines.append("basins reached: " + ", ".join(reached))
        return "\n".join(lines)

    def __repr__(self) -> str:
        # The dataclass repr would print every array: one line of shapes and counts instead.
        counts = self.summary_dict()["status"]
        shape = tuple(np.shape(self.status))
        settings = f", hyperparams={sorted(self.hyperparams)}" if self.hyperparams else ""
        return (f"SweepResult(status shape {shape}{settings}: " + ", ".join(
            f"{name} {number}" for name, number in counts.items()) + ")")


def _check_one_sweep(parts: list[SweepResult]) -> None:
    """``ValueError`` naming the first difference that makes ``parts`` not parts of one sweep."""
    first = parts[0]
    for number, part in enumerate(parts[1:], start=1):
        for key in SWEEP_IDENTITY:
            if first.metadata.get(key) != part.metadata.get(key):
                raise ValueError(
                    f"parts[{number}] is not part of the sweep of parts[0]: metadata {key!r} is "
                    f"{part.metadata.get(key)!r}, not {first.metadata.get(key)!r}")
        # Settings paired with the points are the parts' own, joined like their points.
        per_point = first.metadata.get("hyperparams_per_point", False)
        if sorted(part.hyperparams) != sorted(first.hyperparams) or not per_point and not all(
                np.array_equal(np.asarray(part.hyperparams[name]), np.asarray(value))
                for name, value in first.hyperparams.items()):
            raise ValueError(f"parts[{number}] has other hyperparameter values than parts[0]")
        if (part.loss_steps is None) != (first.loss_steps is None) or (
                part.loss_steps is not None
                and not np.array_equal(part.loss_steps, first.loss_steps)):
            raise ValueError(f"parts[{number}] recorded the loss at other steps than parts[0]")
        if np.shape(part.params)[-1] != np.shape(first.params)[-1]:
            raise ValueError(f"parts[{number}] has points of dim {np.shape(part.params)[-1]}, "
                             f"parts[0] of dim {np.shape(first.params)[-1]}")


def _stretch(part: SweepResult) -> tuple[int, int, int] | None:
    """(first point, points, the sweep's points) of a result; None if saved without them."""
    try:
        return tuple(int(part.metadata[key]) for key in ("first_point", "num_points",
                                                         "total_points"))
    except (KeyError, TypeError, ValueError):
        return None


def _joined_stretch(parts: list[SweepResult]) -> dict[str, int]:
    """The joined result's ``first_point`` and ``total_points``.

    Whole sweeps (each over a slice of the starts) join as one sweep of all their points. If a
    part is a share of a distributed sweep, every part must be one of that sweep, each starting
    where the one before ends (an empty share included); else ``ValueError``.
    """
    stretches = [_stretch(part) for part in parts]
    if all(stretch is not None and stretch[0] == 0 and stretch[1] == stretch[2]
           for stretch in stretches):
        return {"first_point": 0, "total_points": sum(stretch[1] for stretch in stretches)}
    if all(stretch is None or stretch[0] == 0 and stretch[1] == stretch[2]
           for stretch in stretches):
        return {}  # results saved without their stretch: nothing to check or say
    first, _, total = next(stretch for stretch in stretches if stretch is not None)
    end = first
    for number, stretch in enumerate(stretches):
        if stretch is None:
            raise ValueError(f"parts[{number}] does not say which points of a sweep it holds "
                             "(metadata first_point, num_points, total_points); the other "
                             "parts are shares of a distributed sweep")
        start, points, sweep_points = stretch
        if sweep_points != total or start != end:
            raise ValueError(
                f"parts[{number}] holds points [{start}, {start + points}) of a sweep of "
                f"{sweep_points} starts, not the next share, from point {end} of a sweep of "
                f"{total}: pass every process's share once, in the order of the processes")
        end = start + points
    return {"first_point": first, "total_points": total}


def _joined_trajectories(parts: list[SweepResult], axis: int) -> dict[str, Any]:
    """The parts' kept paths end to end, their indices shifted past the points before them."""
    kept = [(offset, part) for offset, part in zip(
        np.cumsum([0] + [np.shape(part.status)[-1] for part in parts[:-1]]), parts)
        if part.trajectories is not None]
    if not kept:
        return {}
    return {"trajectories": np.concatenate([np.asarray(part.trajectories) for _, part in kept],
                                           axis=axis),
            "trajectory_indices": np.concatenate([np.asarray(part.trajectory_indices) + offset
                                                  for offset, part in kept])}


def _read_archive(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of the .npz at ``path``; ``ValueError`` naming the file on any damage."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        # NumPy's own text for a non-archive suggests loading it with pickles allowed: never.
        reason = "unknown data, not an .npz archive" if "pickle" in str(error) else \
            f"{type(error).__name__}: {error}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"no SweepResult file at {os.fspath(path)!r}")
    raise ValueError(f"{os.fspath(path)!r} is not a readable SweepResult file ({reason}); "
                     "it may be truncated or damaged: run the sweep again")


def _layout_problem(arrays: dict[str, np.ndarray], hyperparams: dict[str, np.ndarray]) -> str:
    """What is wrong with the shapes and dtypes of a loaded result, or ``""``."""
    params = arrays["params"]
    if params.ndim < 2 or not _is_float(params):
        return f"params must be a float (…, P, dim) array, got {params.dtype} {params.shape}"
    points = params.shape[:-1]
    for name in ("loss", "status", "steps", "basin"):
        if arrays[name].shape != points:
            return f"{name} has shape {arrays[name].shape}, params {params.shape} need {points}"
    if not _is_float(arrays["loss"]):
        return f"loss must be floating point, got {arrays['loss'].dtype}"
    for name in ("status", "steps", "basin", "loss_steps", "trajectory_indices"):
        if name in arrays and arrays[name].dtype.kind not in "iu":
            return f"{name} must hold integers, got {arrays[name].dtype}"
    if ("loss_history" in arrays) != ("loss_steps" in arrays):
        return "loss_history and loss_steps come together, got only one of them"
    if "loss_history" in arrays:
        steps = arrays["loss_steps"].shape
        if len(steps) != 1 or arrays["loss_history"].shape != points + steps:
            return (f"loss_history has shape {arrays['loss_history'].shape}, need "
                    f"{points} + loss_steps' {steps}")
    if ("trajectories" in arrays) != ("trajectory_indices" in arrays):
        return "trajectories and trajectory_indices come together, got only one of them"
    if "trajectories" in arrays:
        paths, indices = arrays["trajectories"].shape, arrays["trajectory_indices"].shape
        expected = points[:-1] + indices + params.shape[-1:]  # (…, S, dim) around the steps axis
        if len(indices) != 1 or len(paths) != len(points) + 2 \
                or paths[:-3] + paths[-3:-2] + paths[-1:] != expected:
            return f"trajectories has shape {paths}, not (…, {indices}, steps, dim) for params"
    for name, values in hyperparams.items():
        if values.ndim != 1 or points[:1] != values.shape:
            return f"hyperparameter {name!r} has shape {values.shape}, need ({points[0]},)"
    return ""


def _is_float(array: np.ndarray) -> bool:
    return array.dtype.kind == "f" or array.dtype in _EXTENDED_DTYPES.values()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds.

    A crash or Ctrl-C inside the block leaves the old file (or none), never half of a new one;
    the temporary file is removed. The file gets the umask's permissions (0666 & ~umask).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, partial = tempfile.mkstemp(dir=directory, prefix=".partial-", suffix=suffix)
    os.close(descriptor)
    try:
        yield partial
        # mkstemp creates 0600 files; an output is ordinary data, so honour the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def write_npz_atomically(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` to a temporary file beside ``path``, flushed to disk, then renamed."""
    with atomic_output(path, suffix=".npz") as partial, open(partial, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())

