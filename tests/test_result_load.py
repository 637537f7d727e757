"""`SweepResult.load`: values and dtypes round-trip; any damage is a ValueError naming the file."""
from __future__ import annotations

import os
import zipfile

import jax.numpy as jnp
import numpy as np
import pytest

from jaxopt_lab import SweepResult

POINTS = 6


def result(dtype=np.float64, **fields) -> SweepResult:
    arrays = dict(params=np.arange(2 * POINTS, dtype=dtype).reshape(POINTS, 2),
                  loss=np.linspace(0.0, 1.0, POINTS).astype(dtype),
                  status=np.arange(POINTS, dtype=np.int8) % 3,
                  steps=np.arange(POINTS, dtype=np.int32),
                  basin=np.full(POINTS, -1, np.int32))
    arrays.update(fields)
    return SweepResult(**arrays, metadata={"surface": {"name": "bowl"}})


@pytest.mark.parametrize("dtype", [np.float32, np.float64, jnp.bfloat16])
def test_round_trip_keeps_values_and_dtypes(tmp_path, dtype):
    saved = result(dtype, loss_history=np.ones((POINTS, 3), dtype),
                   loss_steps=np.array([0, 5, 10]))
    saved.save(tmp_path / "r.npz")
    loaded = SweepResult.load(tmp_path / "r.npz")
    for name, array in saved.arrays().items():
        assert getattr(loaded, name).dtype == array.dtype, name
        np.testing.assert_array_equal(getattr(loaded, name), array, err_msg=name)
    assert loaded.metadata == saved.metadata


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _member_damaged(path):
    # Overwrite the middle of the archive: a member's compressed or stored bytes, or the index.
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 64] = bytes(64)
    path.write_bytes(bytes(data))


def _without(name):
    def damage(path):
        with np.load(path) as archive:
            arrays = {key: archive[key] for key in archive.files if key != name}
        np.savez(path, **arrays)
    return damage


def _replaced(name, value):
    def damage(path):
        with np.load(path) as archive:
            arrays = {key: archive[key] for key in archive.files}
        arrays[name] = value
        np.savez(path, **arrays)
    return damage


DAMAGES = {
    "empty file": lambda path: path.write_bytes(b""),
    "random bytes": lambda path: path.write_bytes(np.random.default_rng(0).bytes(512)),
    "truncated": _truncated,
    "bytes overwritten": _member_damaged,
    "a bare .npy array": lambda path: np.save(open(path, "wb"), np.zeros(3)),
    "not a zip but a text": lambda path: path.write_text("params,loss\n1,2\n"),
    "missing steps": _without("steps"),
    "status of 3 entries beside 6 points": _replaced("status", np.zeros(3, np.int8)),
    "status as floats": _replaced("status", np.zeros(POINTS)),
    "params without a dim axis": _replaced("params", np.zeros(POINTS)),
    "metadata not JSON": _replaced("metadata", np.asarray("{not json")),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_file_is_refused_naming_it(tmp_path, damage):
    path = tmp_path / "result.npz"
    result().save(path)
    damage(path)
    with pytest.raises(ValueError) as error:
        SweepResult.load(path)
    assert str(path) in str(error.value)
    assert "pickle" not in str(error.value)  # never suggest loading pickles


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        SweepResult.load(tmp_path / "missing.npz")


def test_zip_with_a_foreign_member_is_refused(tmp_path):
    path = tmp_path / "result.npz"
    result().save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("other.npy", b"junk")
    with pytest.raises(ValueError, match=os.path.basename(path)):
        SweepResult.load(path)


def _full_result() -> SweepResult:
    """A sweep over 2 hyperparameter settings with loss histories and 2 recorded paths."""
    settings, steps = 2, 4
    return SweepResult(
        params=np.zeros((settings, POINTS, 2)), loss=np.zeros((settings, POINTS)),
        status=np.zeros((settings, POINTS), np.int8), steps=np.zeros((settings, POINTS), np.int32),
        basin=np.zeros((settings, POINTS), np.int32), hyperparams={"learning_rate": np.ones(2)},
        loss_history=np.zeros((settings, POINTS, 3)), loss_steps=np.array([0, 2, 4]),
        trajectories=np.zeros((settings, 2, steps + 1, 2)), trajectory_indices=np.array([0, 5]))


@pytest.mark.parametrize("name, value, match", [
    ("trajectories", np.zeros((2, 2, 5, 3)), "trajectories has shape"),
    ("trajectory_indices", np.array([0, 1, 2]), "trajectories has shape"),
    ("loss_history", np.zeros((2, POINTS, 4)), "loss_history has shape"),
    ("hyperparams/learning_rate", np.ones(3), "hyperparameter 'learning_rate' has shape"),
])
def test_inconsistent_optional_arrays_are_refused(tmp_path, name, value, match):
    path = tmp_path / "result.npz"
    _full_result().save(path)
    loaded = SweepResult.load(path)  # consistent: loads
    assert loaded.trajectories.shape == (2, 2, 5, 2)
    _replaced(name, value)(path)
    with pytest.raises(ValueError, match=match):
        SweepResult.load(path)
