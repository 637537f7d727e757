"""SweepResult save/load, and checkpoints: a sweep killed mid-run resumes without recomputing."""
import os
import signal
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab import SweepResult

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Seconds the child may take to reach its kill (compiling included) on a busy CI box.
CHILD_TIMEOUT = 120

# The child and this process build the same sweep from this text, so fingerprints match.
SWEEP_SOURCE = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np, optax
    import jaxopt_lab as jl
    jax.config.update("jax_enable_x64", True)

    def himmelblau(w):
        return (w[0] ** 2 + w[1] - 11.0) ** 2 + (w[0] + w[1] ** 2 - 7.0) ** 2

    SURFACE = jl.Surface("himmelblau", himmelblau, 2, ((-5.0, 5.0), (-5.0, 5.0)),
                         minima=((3.0, 2.0),), escape_radius=100.0)
    STARTS = np.linspace(-4.0, 4.0, 48).reshape(24, 2)

    def run(checkpoint):
        return jl.sweep(optax.adam(0.05), SURFACE, STARTS, 40, checkpoint=checkpoint,
                        progress=False, engine=jl.Engine(chunk_size=3))
""")
CHILD = SWEEP_SOURCE + textwrap.dedent("""
    import os, signal, sys
    import jaxopt_lab.engine._checkpoint as store
    save = store.ChunkStore.save_chunk
    saved = []

    def save_then_die(self, index, arrays):  # killed right after its second chunk is on disk
        save(self, index, arrays)
        saved.append(index)
        if len(saved) == KILLED_AFTER_CHUNKS:
            os.kill(os.getpid(), signal.SIGKILL)

    store.ChunkStore.save_chunk = save_then_die
    run(sys.argv[1])
""")
#: The child kills itself once this many chunks of its 8 are written, not a guessed time later.
KILLED_AFTER_CHUNKS = 2


def _sweep_module():
    namespace: dict = {}
    exec(SWEEP_SOURCE, namespace)
    return namespace


def test_save_load_round_trip_is_exact_and_atomic(tmp_path):
    surface = jl.Surface("bowl", lambda w: jnp.sum(w**2), 2, ((-1.0, 1.0), (-1.0, 1.0)),
                         minima=((0.0, 0.0),))
    starts = np.array([[0.5, -0.5], [1.0, 0.25], [np.nan, 0.0]])
    result = jl.sweep(optax.sgd, surface, starts, 12, hyperparams={"learning_rate": [0.1, 0.3]},
                      record_loss_every=4, trajectories=[1], progress=False,
                      metadata={"note": "round trip"})
    path = tmp_path / "result.npz"
    result.save(path)
    assert sorted(os.listdir(tmp_path)) == ["result.npz"]  # no temporary file left behind
    loaded = SweepResult.load(path)
    for name in ("params", "loss", "status", "steps", "basin", "loss_history", "loss_steps",
                 "trajectories", "trajectory_indices"):
        expected = np.asarray(getattr(result, name))
        np.testing.assert_array_equal(getattr(loaded, name), expected)
        assert getattr(loaded, name).dtype == expected.dtype
    np.testing.assert_array_equal(loaded.hyperparams["learning_rate"], [0.1, 0.3])
    assert loaded.metadata == result.metadata
    for key in ("optimizer", "surface", "num_steps", "gtol", "xtol", "jax", "optax", "device"):
        assert key in loaded.metadata
    assert loaded.metadata["note"] == "round trip"


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ValueError, match="is not a SweepResult file"):
        SweepResult.load(path)


def test_killed_sweep_resumes_and_equals_an_uninterrupted_run(tmp_path):
    checkpoint = tmp_path / "checkpoint"
    environment = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
                       JAX_PLATFORMS="cpu")
    child = subprocess.run(
        [sys.executable, "-c", f"KILLED_AFTER_CHUNKS = {KILLED_AFTER_CHUNKS}\n" + CHILD,
         str(checkpoint)], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        timeout=CHILD_TIMEOUT)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    finished = sorted(f for f in os.listdir(checkpoint) if f.startswith("chunk_"))
    assert len(finished) == KILLED_AFTER_CHUNKS  # of 8: 24 points in chunks of 3
    times = {f: os.stat(checkpoint / f).st_mtime_ns for f in finished}

    sweep = _sweep_module()
    resumed = sweep["run"](str(checkpoint))
    uninterrupted = sweep["run"](None)
    assert resumed.metadata["chunks_loaded"] == len(finished)
    assert {f: os.stat(checkpoint / f).st_mtime_ns for f in finished} == times  # not recomputed
    for name in ("params", "loss", "status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(uninterrupted, name))


def test_checkpoint_of_another_sweep_is_refused(tmp_path):
    sweep = _sweep_module()
    sweep["run"](str(tmp_path))
    with pytest.raises(ValueError, match="holds a different sweep"):
        jl.sweep(optax.adam(0.07), sweep["SURFACE"], sweep["STARTS"], 40,
                 checkpoint=str(tmp_path), progress=False, engine=jl.Engine(chunk_size=3))


def test_saved_result_is_readable_by_others_as_the_umask_allows(tmp_path):
    surface = jl.Surface("bowl", lambda x: jnp.sum(x**2), 2, ((-1.0, 1.0), (-1.0, 1.0)))
    result = jl.sweep(optax.sgd(0.1), surface, jnp.zeros((4, 2)), 3, progress=False)
    umask = os.umask(0o022)
    try:
        result.save(tmp_path / "result.npz")
    finally:
        os.umask(umask)
    assert (tmp_path / "result.npz").stat().st_mode & 0o777 == 0o644
