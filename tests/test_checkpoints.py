"""Checkpoints never mix sweeps: another sweep's directory is refused, a bad chunk is recomputed.

Every scenario starts from a checkpoint of a small sweep (several chunks), then either runs
another sweep in that directory (it must be refused, the directory left as it was) or damages
a chunk file and reruns the same sweep (the chunk must be recomputed, with a warning naming
the file, and the result must equal a sweep without any checkpoint, bit for bit).
"""
import functools
import json
import os
import shutil
import warnings

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _checkpoint

#: Points per chunk: the 8 x 8 grid of starts runs as several chunks, so one can be damaged.
CHUNK_SIZE = 16
NUM_STEPS = 30
ENGINE = jl.Engine(chunk_size=CHUNK_SIZE)
IDENTITY = [[1.0, 0.0], [0.0, 1.0]]
STRETCHED = [[1.0, 0.0], [0.0, 9.0]]
OUTPUTS = ("params", "loss", "status", "steps", "basin")


# Built once: a sweep's compiled kernel is reused for the same optimizer and surface objects.
BOWL = jl.surfaces.quadratic(IDENTITY)
STRETCHED_BOWL = jl.surfaces.quadratic(STRETCHED)
SGD = jl.sgd(0.1)
STARTS = jl.starts.grid(BOWL, 8).points  # 64 points: 4 chunks


def _run(optimizer=SGD, surface=BOWL, checkpoint=None, **options):
    options = {"engine": ENGINE, **options}
    return jl.sweep(optimizer, surface, STARTS, NUM_STEPS,
                    checkpoint=None if checkpoint is None else str(checkpoint), progress=False,
                    **options)


@functools.cache
def _uncheckpointed():
    return _run()


def _assert_same(result, expected):
    for name in OUTPUTS:
        np.testing.assert_array_equal(getattr(result, name), getattr(expected, name), name)


def _snapshot(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def _same_name_other_function():
    # Named as the catalogue's bowl, with every field equal to it: only the function differs.
    bowl = BOWL
    return jl.Surface(bowl.name, lambda x: 0.5 * jnp.sum(x**2) + 0.1 * jnp.sum(x**4), bowl.dim,
                      bowl.bounds, minima=bowl.minima, f_min=bowl.f_min,
                      escape_radius=bowl.escape_radius)


def _sgd_of_power(power):
    def sgd_of_a_power(learning_rate):  # one name and qualname, whatever the power
        return optax.sgd(learning_rate**power)

    return sgd_of_a_power


#: (what, first sweep's options, second sweep's options, words the refusal must contain).
OTHER_SWEEPS = [
    ("another matrix in the quadratic's closure", {}, {"surface": STRETCHED_BOWL},
     "the surface's function"),
    ("a same-name custom surface with another function", {},
     {"surface": _same_name_other_function()}, "the surface's function"),
    ("sgd with another array of learning rates", {"optimizer": jl.sgd(jnp.array([0.1, 0.1]))},
     {"optimizer": jl.sgd(jnp.array([0.01, 0.02]))}, "the optimizer's update"),
    ("another optimizer", {}, {"optimizer": optax.adam(0.1)}, "optimizer"),
    ("another grid of hyperparameters",
     {"optimizer": optax.sgd, "hyperparams": {"learning_rate": [0.1, 0.2]}},
     {"optimizer": optax.sgd, "hyperparams": {"learning_rate": [0.1, 0.3]}},
     "the hyperparameters"),
    ("a same-name factory that agrees with the first only at the first setting",
     {"optimizer": _sgd_of_power(1), "hyperparams": {"learning_rate": [1.0, 0.5]}},
     {"optimizer": _sgd_of_power(2), "hyperparams": {"learning_rate": [1.0, 0.5]}},
     "the optimizer's update"),
    ("another gradient tolerance", {}, {"gtol": 1e-4}, "settings.gtol"),
    ("another chunk size", {}, {"engine": jl.Engine(chunk_size=CHUNK_SIZE // 2)},
     "settings.chunk_size"),
]


@pytest.mark.parametrize("first, second, named",
                         [case[1:] for case in OTHER_SWEEPS], ids=[c[0] for c in OTHER_SWEEPS])
def test_a_directory_of_another_sweep_is_refused_and_left_alone(tmp_path, first, second, named):
    _run(checkpoint=tmp_path, **first)
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match="holds a different sweep") as refusal:
        _run(checkpoint=tmp_path, **second)
    assert str(tmp_path) in str(refusal.value) and named in str(refusal.value)
    assert "new directory" in str(refusal.value)
    assert _snapshot(tmp_path) == before
    _assert_same(_run(checkpoint=tmp_path / "fresh", **second), _run(**second))


@pytest.mark.parametrize("second", [{}, {"surface": STRETCHED_BOWL}],
                         ids=["the same sweep", "another sweep"])
def test_chunks_without_their_manifest_are_refused(tmp_path, second):
    _run(checkpoint=tmp_path)
    os.remove(tmp_path / _checkpoint.MANIFEST)
    with pytest.raises(ValueError, match="holds chunk files but no manifest.json") as refusal:
        _run(checkpoint=tmp_path, **second)
    assert str(tmp_path) in str(refusal.value)


def _copy_over_the_next(path, directory, index):
    shutil.copyfile(path.with_name("chunk_000000.npz"), path)


def _truncate_the_file(path, directory, index):
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)


def _random_bytes(path, directory, index):
    path.write_bytes(np.random.default_rng(0).bytes(os.path.getsize(path)))


def _arrays_and_record(path):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return arrays, arrays.pop(_checkpoint.RECORD_KEY)


def _truncate_the_arrays(path, directory, index):
    arrays, record = _arrays_and_record(path)
    np.savez(path, **{name: value[:-3] for name, value in arrays.items()},
             **{_checkpoint.RECORD_KEY: record})


def _edit_one_value(path, directory, index):
    arrays, record = _arrays_and_record(path)
    arrays["status"][0] = (arrays["status"][0] + 1) % len(jl.Status)
    np.savez(path, **arrays, **{_checkpoint.RECORD_KEY: record})


def _forge_a_short_chunk(path, directory, index):
    # Written by the store itself, so its record and hash agree: only its shape betrays it.
    arrays, record = _arrays_and_record(path)
    store = _checkpoint.ChunkStore.__new__(_checkpoint.ChunkStore)
    store.directory, store.fingerprint = str(directory), json.loads(str(record))["fingerprint"]
    store.layout = _checkpoint.ChunkLayout(64, CHUNK_SIZE, None, 2, "float64")
    store.save_chunk(index, {name: value[:-3] for name, value in arrays.items()})


def _plant_another_sweeps_chunk(path, directory, index):
    other = directory.parent / "other"
    _run(surface=STRETCHED_BOWL, checkpoint=other)
    shutil.copyfile(other / path.name, path)


def _drop_the_record(path, directory, index):
    arrays, _ = _arrays_and_record(path)
    np.savez(path, **arrays)


#: (damage done to chunk 1's file, words of the warning that names it).
DAMAGES = [
    (_copy_over_the_next, "holds chunk 0, not chunk 1"),
    (_truncate_the_file, "is unreadable"),
    (_random_bytes, "not an .npz archive"),
    (_truncate_the_arrays, "do not match their SHA-256"),
    (_edit_one_value, "do not match their SHA-256"),
    (_forge_a_short_chunk, "of shape (13"),
    (_plant_another_sweeps_chunk, "belongs to another sweep"),
    (_drop_the_record, "lacks its entry"),
]


@pytest.mark.parametrize("damage, reason", DAMAGES, ids=[d[0].__name__[1:] for d in DAMAGES])
def test_a_damaged_chunk_is_recomputed_with_a_warning_naming_it(tmp_path, damage, reason):
    directory = tmp_path / "checkpoint"
    _run(checkpoint=directory)
    damaged = directory / "chunk_000001.npz"
    damage(damaged, directory, 1)
    with pytest.warns(RuntimeWarning, match="recomputed") as caught:
        resumed = _run(checkpoint=directory)
    messages = [str(w.message) for w in caught if "checkpoint chunk" in str(w.message)]
    assert len(messages) == 1 and str(damaged) in messages[0] and reason in messages[0], messages
    _assert_same(resumed, _uncheckpointed())
    assert resumed.metadata["chunks_loaded"] == 3  # of 4: only the damaged one ran again
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overwritten by a good chunk: no warning any more
        assert _run(checkpoint=directory).metadata["chunks_loaded"] == 4


#: (what, sweep options): a resumed sweep equals an uninterrupted one bit for bit.
RESUMED = [
    ("float64 points", {}),
    ("float32 points", {"starts_dtype": jnp.float32}),
    ("bfloat16 points", {"starts_dtype": jnp.bfloat16}),
    ("a hyperparameter grid", {"optimizer": optax.sgd,
                               "hyperparams": {"learning_rate": [0.05, 0.1, 1.5]}}),
    ("a loss history", {"record_loss_every": 7}),
]


@pytest.mark.parametrize("options", [case[1] for case in RESUMED], ids=[c[0] for c in RESUMED])
def test_a_resumed_sweep_equals_an_uninterrupted_one(tmp_path, options):
    options = dict(options)
    starts = STARTS.astype(options.pop("starts_dtype", jnp.float64))
    optimizer = options.pop("optimizer", SGD)

    def run(checkpoint=None):
        return jl.sweep(optimizer, BOWL, starts, NUM_STEPS, checkpoint=checkpoint,
                        progress=False, engine=ENGINE, **options)

    run(str(tmp_path))
    for name in ("chunk_000000.npz", "chunk_000002.npz"):  # as if stopped before these ran
        os.remove(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = run(str(tmp_path))
    uninterrupted = run()
    assert resumed.metadata["chunks_loaded"] == 2
    for name in OUTPUTS + ("loss_history",):
        expected = getattr(uninterrupted, name)
        if expected is not None:
            assert getattr(resumed, name).dtype == expected.dtype
            np.testing.assert_array_equal(np.asarray(getattr(resumed, name), np.float64),
                                          np.asarray(expected, np.float64), name)


def test_a_function_that_does_not_trace_is_fingerprinted_by_name_with_a_warning():
    surface = jl.Surface("opaque", lambda x: float(x[0]) ** 2, 1, ((-1.0, 1.0),))
    with pytest.warns(RuntimeWarning, match="'opaque'.*does not trace.*only by its name"):
        parts = _checkpoint.sweep_parts(optax.sgd(0.1), optax.sgd(0.1), surface, jnp.zeros((2, 1)), {},
                                        {"chunk_size": 2})
    assert parts["surface_fn"].startswith("untraced ")


def test_a_directory_of_an_older_layout_is_refused(tmp_path):
    (tmp_path / _checkpoint.MANIFEST).write_text(json.dumps({"fingerprint": "0" * 64}))
    with pytest.raises(ValueError, match="written by another version of jaxopt_lab"):
        _run(checkpoint=tmp_path)


def test_a_file_is_refused_as_a_checkpoint_directory(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ValueError, match="checkpoint must be a directory, got the file"):
        _run(checkpoint=tmp_path / "file")
