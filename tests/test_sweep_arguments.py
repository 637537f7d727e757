"""jl.sweep refuses bad arguments up front, naming them, and never changes an input silently.

A table of bad inputs × (expected error, the argument its message must name); the inputs that
are data rather than mistakes (NaN starts, int64 starts, repeated trajectory indices) give a
result, checked against what the input says. The memory guard: a result that cannot fit the
budget is refused before any work, with the bytes and what to change; paths recorded in pieces
under a small budget equal those recorded in one call.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _api
from jaxopt_lab.engine._arguments import ENGINE_METADATA_KEYS, MAX_NUM_STEPS, check_starts
from jaxopt_lab.engine._rules import decode_stop, stop_code

HIMMELBLAU = jl.surfaces.get("himmelblau")
SGD = jl.sgd(0.01)
STARTS = np.array([[1.0, 1.0], [-2.0, 3.0], [0.5, -0.5], [4.0, -1.0]])
NUM_STEPS = 10
#: A budget far below any real machine's, so that the guard's cases stay small and fast.
SMALL_BUDGET = 1 << 20


def run_sweep(**overrides):
    arguments = dict(optimizer=SGD, surface=HIMMELBLAU, starts=STARTS, num_steps=NUM_STEPS)
    arguments.update(overrides)
    return jl.sweep(arguments.pop("optimizer"), arguments.pop("surface"),
                    arguments.pop("starts"), arguments.pop("num_steps"), progress=False,
                    **arguments)


FACTORY = dict(optimizer=jl.sgd)
BAD_INPUTS = [
    # (case, arguments, error, text the message must hold: the argument and its allowed range)
    ("starts str", dict(starts="abc"), TypeError, "starts must be real numbers"),
    ("starts objects", dict(starts=[[object(), 1.0]]), TypeError, "starts must be real numbers"),
    ("starts complex array", dict(starts=STARTS + 1j), TypeError,
     "starts must be real numbers, got complex"),
    ("starts complex jax", dict(starts=jnp.asarray(STARTS) * 1j), TypeError,
     "starts must be real numbers, got complex"),
    ("starts python complex", dict(starts=[[1 + 1j, 0.0]]), TypeError,
     "starts must be real numbers, got complex"),
    ("starts bools", dict(starts=np.ones((2, 2), bool)), TypeError, "starts must be real"),
    ("starts int beyond float", dict(starts=[[10**400, 0]]), ValueError,
     "starts must be numbers within float64's range"),
    ("starts ragged", dict(starts=[[1.0, 2.0], [1.0]]), TypeError, "starts must be real"),
    ("starts wrong dim", dict(starts=np.zeros((4, 3))), ValueError, r"starts must be a \(P, 2\)"),
    ("starts no points", dict(starts=np.zeros((0, 2))), ValueError, "with P >= 1"),
    ("starts 1-D", dict(starts=np.zeros(2)), ValueError, r"starts must be a \(P, 2\)"),
    ("hyperparams str", dict(FACTORY, hyperparams={"learning_rate": "0.1"}), TypeError,
     r"hyperparams\['learning_rate'\] must be real numbers"),
    ("hyperparams str list", dict(FACTORY, hyperparams={"learning_rate": ["0.1"]}), TypeError,
     r"hyperparams\['learning_rate'\] must be real numbers"),
    ("hyperparams complex", dict(FACTORY, hyperparams={"learning_rate": [0.1 + 1j]}), TypeError,
     r"hyperparams\['learning_rate'\] must be real numbers, got complex"),
    ("hyperparams bools", dict(FACTORY, hyperparams={"learning_rate": [True]}), TypeError,
     r"hyperparams\['learning_rate'\] must be real numbers, got bools"),
    ("hyperparams nested", dict(FACTORY, hyperparams={"learning_rate": [[0.1, 0.2]]}),
     ValueError, r"hyperparams\['learning_rate'\] must be a 1-D array .* got shape \(1, 2\)"),
    ("hyperparams scalar", dict(FACTORY, hyperparams={"learning_rate": 0.1}), ValueError,
     r"hyperparams\['learning_rate'\] must be a 1-D array"),
    ("hyperparams empty", dict(FACTORY, hyperparams={"learning_rate": []}), ValueError,
     r"hyperparams\['learning_rate'\] must be a 1-D array of C >= 1"),
    ("hyperparams ragged", dict(FACTORY, hyperparams={"learning_rate": [[0.1], [0.1, 0.2]]}),
     TypeError, r"hyperparams\['learning_rate'\] must be real numbers in a regular"),
    ("hyperparams not a mapping", dict(FACTORY, hyperparams=[("learning_rate", [0.1])]),
     TypeError, "hyperparams must be a mapping"),
    ("hyperparams int key", dict(FACTORY, hyperparams={1: [0.1]}), TypeError,
     "hyperparams keys must be argument names"),
    ("hyperparams lengths", dict(optimizer=jl.momentum, hyperparams={
        "learning_rate": [0.1, 0.2], "momentum": [0.9]}), ValueError,
     "hyperparams must be 1-D arrays of one common length"),
    *[(f"{name} {label}", {name: value}, ValueError, rf"{name} must be a number in \[0, inf\)")
      for name in ("gtol", "xtol", "basin_radius")
      for label, value in (("nan", float("nan")), ("inf", float("inf")), ("negative", -1e-3),
                           ("str", "1e-3"), ("bool", True), ("huge int", 10**400))],
    ("num_steps above the stop code", dict(num_steps=MAX_NUM_STEPS + 1), ValueError,
     r"num_steps must be an integer in \[1, 1073741823\]"),
    ("num_steps 2**63", dict(num_steps=2**63), ValueError, r"num_steps must be an integer in"),
    ("num_steps float", dict(num_steps=10.0), ValueError, "num_steps must be an integer"),
    ("num_steps bool", dict(num_steps=True), ValueError, "num_steps must be an integer"),
    ("record_loss_every 0", dict(record_loss_every=0), ValueError,
     r"record_loss_every must be an integer in \[1, 10\]"),
    ("record_loss_every float", dict(record_loss_every=2.0), ValueError,
     r"record_loss_every must be an integer in \[1, 10\]"),
    ("trajectories bools", dict(trajectories=[True, False]), TypeError,
     r"trajectories must be integer point indices in \[0, 4\), got bools"),
    ("trajectories floats", dict(trajectories=[0.5]), TypeError,
     "trajectories must be integer point indices"),
    ("trajectories str", dict(trajectories="0"), TypeError, "trajectories must be a 1-D sequence"),
    ("trajectories negative", dict(trajectories=[-1]), ValueError,
     r"trajectories must be a 1-D sequence of point indices in \[0, 4\), got -1"),
    ("trajectories beyond", dict(trajectories=[2**70]), ValueError,
     r"trajectories must be a 1-D sequence of point indices"),
    ("trajectories empty", dict(trajectories=[]), ValueError, "at least one point index"),
    ("trajectories scalar", dict(trajectories=1), ValueError, "trajectories must be a 1-D"),
    ("metadata not a mapping", dict(metadata=[("note", 1)]), TypeError,
     "metadata must be a mapping"),
    ("metadata int key", dict(metadata={1: "a"}), TypeError, "metadata keys must be str"),
    ("metadata not JSON", dict(metadata={"note": object()}), TypeError,
     r"metadata\['note'\] must be JSON-serializable"),
    ("metadata engine key", dict(metadata={"num_steps": 999}), ValueError,
     r"metadata\['num_steps'\] is one of the engine's own entries"),
    ("metadata engine key optimizer", dict(metadata={"optimizer": "mine"}), ValueError,
     r"metadata\['optimizer'\]"),
    ("devices not devices", dict(engine=jl.Engine(devices=["cpu"])), TypeError,
     "Engine devices must be jax.Device objects"),
    ("checkpoint number", dict(checkpoint=3), TypeError, "checkpoint must be a directory path"),
    ("progress str", dict(progress="yes"), TypeError, "progress must be True or False"),
    ("surface name", dict(surface="himmelblau"), TypeError, "surface must be a"),
    ("engine dict", dict(engine={"chunk_size": 4}), TypeError, "engine must be a"),
]


@pytest.fixture
def no_work(monkeypatch):
    """Fail if a sweep reaches its chunks: every refusal here comes before any work."""
    def run_chunks(*args, **kwargs):
        raise AssertionError("the sweep ran before refusing its arguments")

    monkeypatch.setattr(_api, "run_chunks", run_chunks)


@pytest.mark.parametrize("case,arguments,error,match", BAD_INPUTS,
                         ids=[row[0] for row in BAD_INPUTS])
def test_bad_argument_is_refused_up_front_naming_it(case, arguments, error, match, no_work):
    progress = arguments.pop("progress", False)
    with pytest.raises(error, match=match) as raised:
        jl.sweep(arguments.pop("optimizer", SGD), arguments.pop("surface", HIMMELBLAU),
                 arguments.pop("starts", STARTS), arguments.pop("num_steps", NUM_STEPS),
                 progress=progress, **arguments)
    assert "allow_pickle" not in str(raised.value)


def test_empty_devices_are_refused_by_the_engine():
    with pytest.raises(ValueError, match="devices must hold at least one jax.Device, got none"):
        jl.Engine(devices=[])


def test_int64_starts_are_converted_exactly_not_wrapped():
    """2**62 through int32 is 0 (the minimum of a bowl: CONVERGED at step 0); as a float it is
    2**62, far past the escape radius: DIVERGED at step 0."""
    starts = np.array([[2**62, 0], [3, 2]], np.int64)
    points = check_starts(starts, 2)
    assert points.dtype == jnp.float64 and points.tolist() == [[2.0**62, 0.0], [3.0, 2.0]]
    result = run_sweep(starts=starts)
    assert result.status.tolist()[0] == jl.Status.DIVERGED and result.steps.tolist()[0] == 0
    # (3, 2) is one of Himmelblau's minima, given as integers.
    assert result.status.tolist()[1] == jl.Status.CONVERGED and result.steps.tolist()[1] == 0


def test_float_starts_keep_their_dtype():
    assert check_starts(STARTS.astype(np.float32), 2).dtype == jnp.float32
    assert check_starts(jnp.asarray(STARTS, jnp.float32), 2).dtype == jnp.float32
    assert check_starts(jnp.asarray(STARTS, jnp.bfloat16), 2).dtype == jnp.bfloat16


def test_nan_and_inf_starts_are_data():
    starts = np.array([[np.nan, 0.0], [np.inf, 1.0], [1.0, 1.0]])
    result = run_sweep(starts=starts)
    assert result.status.tolist() == [jl.Status.DIVERGED, jl.Status.DIVERGED,
                                      jl.Status.UNFINISHED]
    assert result.steps.tolist()[:2] == [0, 0]


def test_repeated_trajectory_indices_give_repeated_paths():
    result = run_sweep(trajectories=[2, 0, 2])
    paths = np.asarray(result.trajectories)
    assert paths.shape == (3, NUM_STEPS + 1, 2)
    np.testing.assert_array_equal(paths[0], paths[2])
    np.testing.assert_array_equal(paths[:, -1], np.asarray(result.params)[[2, 0, 2]])


def test_engine_metadata_keys_cover_every_entry_the_engine_writes():
    metadata = run_sweep(metadata={"note": "mine"}).metadata
    assert set(metadata) - {"note"} <= ENGINE_METADATA_KEYS, (
        f"engine entries missing from ENGINE_METADATA_KEYS: "
        f"{sorted(set(metadata) - {'note'} - ENGINE_METADATA_KEYS)}")
    assert metadata["note"] == "mine"


def test_stop_code_holds_the_last_step():
    steps = jnp.array([MAX_NUM_STEPS, MAX_NUM_STEPS], jnp.int32)
    diverged = jnp.array([True, False])
    status, decoded = decode_stop(stop_code(steps, diverged))
    assert status.tolist() == [jl.Status.DIVERGED, jl.Status.CONVERGED]
    assert decoded.tolist() == [MAX_NUM_STEPS, MAX_NUM_STEPS]


# The memory guard.

@pytest.mark.parametrize("arguments,largest,flag", [
    (dict(record_loss_every=1, num_steps=100,
          starts=jl.starts.grid(HIMMELBLAU, 64)), "loss_history", "record_loss_every"),
    (dict(trajectories=np.arange(1024), num_steps=100,
          starts=jl.starts.grid(HIMMELBLAU, 32)), "trajectories", "fewer trajectories"),
    (dict(starts=jl.starts.grid(HIMMELBLAU, 256)), "params", "fewer starts"),
], ids=["loss history", "trajectories", "points"])
def test_result_beyond_the_budget_is_refused_before_any_work(arguments, largest, flag, no_work):
    with pytest.raises(jl.engine.EngineOptionError, match="memory budget of 1,048,576 bytes") as raised:
        run_sweep(engine=jl.Engine(memory_budget=SMALL_BUDGET), **arguments)
    message = str(raised.value)
    assert raised.value.option == "memory_budget"
    assert f"({largest} " in message and flag in message and "Engine(memory_budget=" in message


def test_beyond_the_budget_under_several_processes_suggests_keeping_shares(monkeypatch):
    from jaxopt_lab.engine import _memory
    arguments = dict(num_points=256**2, num_configs=1, dim=2, dtype=np.float64, num_steps=100,
                     record_loss_every=None, num_paths=0)
    with pytest.raises(jl.engine.EngineOptionError) as alone:
        _memory.check_outputs_fit(jl.Engine(memory_budget=SMALL_BUDGET), **arguments)
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    with pytest.raises(jl.engine.EngineOptionError) as shared:
        _memory.check_outputs_fit(jl.Engine(memory_budget=SMALL_BUDGET), **arguments)
    assert 'gather="none"' not in str(alone.value)
    assert 'Engine(gather="none")' in str(shared.value)
    assert "SweepResult.concatenate" in str(shared.value)


def test_paths_recorded_in_pieces_equal_one_call():
    """200 paths of 200 steps: 643 kB, inside the small budget, but in pieces of 108 paths."""
    starts = jl.starts.uniform(jax.random.PRNGKey(0), HIMMELBLAU, 256)
    arguments = dict(starts=starts, num_steps=200, trajectories=np.arange(3, 203))
    pieces = run_sweep(engine=jl.Engine(memory_budget=SMALL_BUDGET), **arguments)
    whole = run_sweep(engine=jl.Engine(memory_budget=1 << 30), **arguments)
    np.testing.assert_array_equal(np.asarray(pieces.trajectories), np.asarray(whole.trajectories))
    np.testing.assert_array_equal(np.asarray(pieces.trajectories)[:, -1],
                                  np.asarray(pieces.params)[3:203])


def test_grid_paths_recorded_in_pieces_equal_one_call():
    arguments = dict(optimizer=jl.sgd, hyperparams={"learning_rate": [0.001, 0.01, 0.03]},
                     starts=jl.starts.uniform(jax.random.PRNGKey(1), HIMMELBLAU, 64),
                     num_steps=150, trajectories=np.arange(0, 64, 2))
    pieces = run_sweep(engine=jl.Engine(memory_budget=1 << 18), **arguments)
    whole = run_sweep(**arguments)
    assert pieces.trajectories.shape == (3, 32, 151, 2)
    np.testing.assert_array_equal(np.asarray(pieces.trajectories), np.asarray(whole.trajectories))
