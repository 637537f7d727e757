"""Checkpoints: a directory holding one sweep's finished chunks, each verified before it is used.

A checkpoint directory holds ``manifest.json`` (the sweep's fingerprint and what it was made
of) and one ``chunk_NNNNNN.npz`` per finished chunk. The fingerprint is a SHA-256 over
everything that determines the result: the surface's function (the jaxpr of its value and
gradient, with the values of the arrays its closure holds) and its other fields, the
optimizer's update (jaxpr and constants, so ``jl.sgd(jnp.array([.1, .1]))`` and
``jl.sgd(jnp.array([.01, .02]))`` differ), the starts, the hyperparameters, the JAX version,
and every entry of the sweep's description (tolerances, dtype, steps, check interval, layout,
chunk size, backend, …) but those in `RESULT_NEUTRAL_KEYS`.

Each chunk file carries, as a JSON entry, its index, first point, number of points, the sweep's
fingerprint and the SHA-256 of its arrays. A chunk that is unreadable, of another sweep, of
another index, or of the wrong shape or content is never used: it is recomputed and
overwritten, with a warning naming the file and the reason. A directory whose manifest names
another sweep is refused, and so is one holding chunk files but no manifest (nothing then says
which sweep they belong to). Every file is written to a temporary name and renamed, so a crash
leaves whole files only.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np
import optax

from jaxopt_lab.engine._divergence import rule_digest_input
from jaxopt_lab.engine._inspect import function_digest, jaxpr_digest, update_digest
from jaxopt_lab.engine._result import POINT_FIELDS, atomic_output, write_npz_atomically

#: Keys of the sweep's description that say how the work was spread over the machine, not what
#: was computed (blocks side by side change no bit): a checkpoint made on one machine resumes on
#: another with other cores.
RESULT_NEUTRAL_KEYS = ("batches",)
MANIFEST = "manifest.json"
#: The entry of a chunk file that holds its JSON record (index, points, fingerprint, hash).
RECORD_KEY = "checkpoint"
#: Version of the files' layout: a directory written in another layout is another sweep's.
FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be used for this sweep (it holds another's chunks)."""


class ChunkLayout(NamedTuple):
    """What every chunk of a sweep must look like, to check a loaded one's shapes."""

    num_points: int
    chunk_size: int
    num_configs: int | None  # the leading axis of a grid's outputs, None without hyperparams
    dim: int
    dtype: str  # of the points (params)

    def points_of(self, index: int) -> tuple[int, int]:
        """(first point, number of points) of chunk ``index``."""
        first = index * self.chunk_size
        return first, min(self.chunk_size, self.num_points - first)


def array_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of named arrays: names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.name}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _describe_fn(what: str, digest: str | None, fallback: Any) -> str:
    """``digest``, or, when the function did not trace, its name with a warning that says so."""
    if digest is not None:
        return digest
    name = f"{getattr(fallback, '__module__', '?')}.{getattr(fallback, '__qualname__', '?')}"
    warnings.warn(f"checkpoint: {what} {name} does not trace to a jaxpr on its own, so the "
                  "checkpoint can tell it apart from another function only by its name: a "
                  "rerun with another function of the same name would resume from these chunks",
                  RuntimeWarning, stacklevel=4)
    return f"untraced {name}"


def _rule_digest(rule: Any, dtype: Any, num_steps: int) -> str | None:
    """SHA-256 of the jaxpr of ``rule``'s functions, None if it does not trace alone."""
    try:
        return jaxpr_digest(rule_digest_input(rule, dtype, num_steps))
    except Exception:  # needs more than a loss to trace: the caller says so
        return None


def sweep_parts(optimizer: Any, probe: optax.GradientTransformation, surface: Any,
                starts: jax.Array, hyperparams: dict[str, np.ndarray],
                description: dict[str, Any], divergence: Any = None) -> dict[str, Any]:
    """What a sweep is made of, as JSON: settings, the surface, digests of functions and arrays
    (the divergence rule's too, if any)."""
    dtype = starts.dtype
    rule = None if divergence is None else _describe_fn(
        "the divergence rule", _rule_digest(divergence, dtype, description["num_steps"]),
        divergence.diverged)
    fields = {field.name: getattr(surface, field.name)
              for field in dataclasses.fields(surface) if field.name != "fn"}
    return {
        "format": FORMAT,
        "settings": {key: value for key, value in description.items()
                     if key not in RESULT_NEUTRAL_KEYS},
        "surface": fields,
        "surface_fn": _describe_fn(f"the function of surface {surface.name!r},",
                                   function_digest(surface.fn, surface.dim, dtype), surface.fn),
        "update": _describe_fn("the optimizer's update",
                               update_digest(optimizer, probe, hyperparams, surface.dim, dtype),
                               probe.update),
        "starts": array_digest({"starts": np.asarray(starts)}),
        "hyperparams": array_digest({name: np.asarray(value)
                                     for name, value in hyperparams.items()}),
        "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__},
        **({} if rule is None else {"divergence": rule}),
    }


def fingerprint(parts: dict[str, Any]) -> str:
    """SHA-256 of `sweep_parts`: equal only for the same sweep."""
    text = json.dumps(parts, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def open_store(checkpoint: str | os.PathLike | None, *, optimizer: Any,
               probe: optax.GradientTransformation, surface: Any, starts: jax.Array, hyperparams: dict[str, np.ndarray],
               description: dict[str, Any], divergence: Any = None,
               per_point: bool = False) -> ChunkStore | None:
    """The `ChunkStore` of ``checkpoint`` for this sweep (None without a checkpoint).

    Raises:
      CheckpointError: (a ``ValueError``) if the directory holds another sweep, chunk files
        without a manifest, or an unreadable manifest.
    """
    if checkpoint is None:
        return None
    parts = sweep_parts(optimizer, probe, surface, starts, hyperparams, description, divergence)
    layout = ChunkLayout(int(starts.shape[0]), int(description["chunk_size"]),
                         len(next(iter(hyperparams.values())))
                         if hyperparams and not per_point else None,
                         int(starts.shape[1]), np.dtype(starts.dtype).name)
    return ChunkStore(checkpoint, parts, layout)


class ChunkStore:
    """A checkpoint directory of one sweep: see the module's description.

    ``load_chunk(index)`` returns a chunk's arrays only after checking everything its file
    carries; ``save_chunk(index, arrays)`` writes them with that record, atomically.
    """

    def __init__(self, directory: str | os.PathLike, parts: dict[str, Any], layout: ChunkLayout):
        self.directory = os.fspath(directory)
        self.fingerprint = fingerprint(parts)
        self.layout = layout
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise CheckpointError(f"checkpoint must be a directory, got the file "
                                  f"{self.directory!r}")
        os.makedirs(self.directory, exist_ok=True)
        manifest = os.path.join(self.directory, MANIFEST)
        if os.path.exists(manifest):
            self._check_manifest(manifest, parts)
            return
        if any(_is_chunk_file(name) for name in os.listdir(self.directory)):
            raise CheckpointError(
                f"checkpoint directory {self.directory!r} holds chunk files but no {MANIFEST}, "
                "so nothing says which sweep they belong to: delete the directory (or its chunk "
                "files) or pass a new one")
        with atomic_output(manifest) as partial, open(partial, "w") as handle:
            json.dump({"fingerprint": self.fingerprint, "parts": parts}, handle,
                      sort_keys=True, default=str)

    def _check_manifest(self, manifest: str, parts: dict[str, Any]) -> None:
        try:
            with open(manifest) as handle:
                found = json.load(handle)
            found_fingerprint, found_parts = found["fingerprint"], found.get("parts", {})
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"checkpoint directory {self.directory!r}: {MANIFEST} is "
                             f"unreadable ({type(error).__name__}: {error}); delete the "
                             "directory or pass a new one") from None
        if found_fingerprint != self.fingerprint:
            ours = json.loads(json.dumps(parts, sort_keys=True, default=str))
            raise CheckpointError(
                f"checkpoint directory {self.directory!r} holds a different sweep (it differs "
                f"in {_differences(found_parts, ours)}): pass a new directory, or delete this "
                "one to start over")

    def path(self, index: int) -> str:
        return os.path.join(self.directory, f"chunk_{index:06d}.npz")

    def load_chunk(self, index: int) -> dict[str, np.ndarray] | None:
        """The arrays of finished chunk ``index``, or None if it must be computed: not there
        yet, or (with a warning naming the file and why) not this chunk of this sweep."""
        path = self.path(index)
        if not os.path.exists(path):
            return None
        arrays, problem = self._verified(path, index)
        if problem:
            warnings.warn(f"checkpoint chunk {path!r} {problem}: it is not used, and is being "
                          "recomputed and overwritten", RuntimeWarning, stacklevel=3)
            return None
        return arrays

    def save_chunk(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Write chunk ``index``'s arrays with their record (atomically: whole or not at all)."""
        arrays = {name: np.asarray(value) for name, value in arrays.items()}
        first, count = self.layout.points_of(index)
        record = {"index": index, "first_point": first, "num_points": count,
                  "fingerprint": self.fingerprint, "sha256": array_digest(arrays),
                  "dtypes": {name: array.dtype.name for name, array in arrays.items()}}
        write_npz_atomically(self.path(index),
                             {**arrays, RECORD_KEY: np.asarray(json.dumps(record))})

    def _verified(self, path: str, index: int) -> tuple[dict[str, np.ndarray], str]:
        """(arrays, "") if ``path`` is chunk ``index`` of this sweep, else ({}, the reason)."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            record = json.loads(str(arrays.pop(RECORD_KEY)))
            for name, dtype in record["dtypes"].items():  # bfloat16 comes back as raw bytes
                if arrays[name].dtype.name != dtype:
                    arrays[name] = arrays[name].view(jnp.dtype(dtype))
            checks = [(record["fingerprint"] == self.fingerprint,
                       "belongs to another sweep (its fingerprint differs)"),
                      (record["index"] == index,
                       f"holds chunk {record['index']}, not chunk {index} (copied or moved)"),
                      ((record["first_point"], record["num_points"])
                       == self.layout.points_of(index),
                       (f"holds points from {record['first_point']} ({record['num_points']} "
                        f"of them), not those of chunk {index}")),
                      (record["sha256"] == array_digest(arrays),
                       "has arrays that do not match their SHA-256 (damaged or edited)")]
        except KeyError as error:
            return {}, f"lacks its entry {error} (not written by this checkpoint)"
        except Exception as error:  # truncated, random bytes, not an archive, damaged record
            reason = "holds unknown data, not an .npz archive" if "pickle" in str(error) \
                else f"is unreadable ({type(error).__name__}: {error})"
            return {}, reason
        for passed, problem in checks:
            if not passed:
                return {}, problem
        return arrays, self._shape_problem(arrays, index)

    def _shape_problem(self, arrays: dict[str, np.ndarray], index: int) -> str:
        """Why ``arrays`` cannot be chunk ``index``'s outputs, or ``""``."""
        layout = self.layout
        if not set(POINT_FIELDS) <= set(arrays):
            return f"lacks outputs {sorted(set(POINT_FIELDS) - set(arrays))}"
        grid = () if layout.num_configs is None else (layout.num_configs,)
        _, count = layout.points_of(index)
        last = index == -(-layout.num_points // layout.chunk_size) - 1
        for name, array in arrays.items():
            points = array.shape[len(grid)] if array.ndim > len(grid) else -1
            # Only the last chunk may hold padding points beyond its own.
            if array.shape[:len(grid)] != grid or points < count or (not last and points != count):
                expected = "".join(f"{n}, " for n in grid) + f"{count} points, …"
                return (f"has {name} of shape {array.shape}, where chunk {index} of this sweep "
                        f"has ({expected})")
        if arrays["params"].shape[len(grid) + 1:] != (layout.dim,) \
                or arrays["params"].dtype.name != layout.dtype:
            return (f"has params {arrays['params'].dtype.name} {arrays['params'].shape}, not "
                    f"{layout.dtype} points of dim {layout.dim}")
        return ""


def _is_chunk_file(name: str) -> bool:
    return name.startswith("chunk_") and name.endswith(".npz")


def _differences(found: Any, ours: dict[str, Any]) -> str:
    """The parts of a sweep in which a manifest's ``found`` differs from ``ours``, readably."""
    if not isinstance(found, dict) or found.get("format") != FORMAT:
        return "everything: its manifest was written by another version of jaxopt_lab"
    names = []
    for key in sorted(set(found) | set(ours)):
        mine, theirs = ours.get(key), found.get(key)
        if mine == theirs:
            continue
        if isinstance(mine, dict) and isinstance(theirs, dict):
            names += [f"{key}.{inner}" for inner in sorted(set(mine) | set(theirs))
                      if mine.get(inner) != theirs.get(inner)]
        else:
            names.append(key)
    labels = {"surface_fn": "the surface's function", "update": "the optimizer's update",
              "starts": "the starts", "hyperparams": "the hyperparameters"}
    return ", ".join(labels.get(name, name) for name in names) or "its fingerprint"


def finished_chunks(directory: str | os.PathLike) -> int:
    """How many chunk files ``directory`` holds, with those of a distributed sweep's
    ``process-K-of-N`` subdirectories (0 if it does not exist)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    return sum(_is_chunk_file(name) for name in names) + sum(
        finished_chunks(os.path.join(directory, name)) for name in names
        if name.startswith("process-") and os.path.isdir(os.path.join(directory, name)))
