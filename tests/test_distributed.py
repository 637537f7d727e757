"""`jl.sweep` under ``jax.distributed``: several CPU processes on this machine, and the parts.

Every process of a distributed test is a child Python joined to the others through a
coordinator on a free localhost port (CPU collectives over gloo); each saves what its
``jl.sweep`` returned, and the test compares it with the same sweep in this one process, bit
for bit. `SweepResult.concatenate` is tested here too: it joins parts run anywhere.
"""
from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _distributed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Seconds a whole group of child processes may take: JAX's import and the coordinator's
#: start dominate (a few seconds each on two busy cores); far beyond that is a hang.
GROUP_TIMEOUT_SECONDS = 120
#: Heartbeat timeout the children pass to ``jax.distributed.initialize``: after a process is
#: killed, the others are ended within this (plus the coordinator's polling).
CHILD_HEARTBEAT_SECONDS = 5
SURFACE = "himmelblau"
NUM_STEPS = 40
RESOLUTION = 12          # 144 starts
CHUNK_SIZE = 32          # 5 chunks: unequal shares on 2 and 4 processes, an empty one on 8
LEARNING_RATES = (0.003, 0.01, 0.03)
#: Points whose whole paths the shares' sweeps keep: in process 0's share (points 0-95 of 2
#: processes' shares of 3 and 2 chunks) and in process 1's, its last point included.
PATHS = (3, 100, 143)
#: One learning rate per start (geometric), from safe to far past Himmelblau's stability limit,
#: so that the divergence rule labels some of each share's points.
PAIRED_RATE_RANGE = (1e-3, 0.1)

CHILD = rf"""
import json, os, sys
import jax
import numpy as np
jax.config.update("jax_enable_x64", True)
from jaxopt_lab.engine import _distributed
port, count, index, scenario, out, checkpoint = sys.argv[1:7]
_distributed.initialize(coordinator_address=f"127.0.0.1:{{port}}", num_processes=int(count),
                        process_id=int(index), heartbeat_timeout_seconds=int(sys.argv[7]),
                        shutdown_timeout_seconds=int(sys.argv[7]))
import optax, jaxopt_lab as jl
surface = jl.surfaces.get({SURFACE!r})
starts = jl.starts.grid(surface, {RESOLUTION})
engine = jl.Engine(chunk_size={CHUNK_SIZE}, batches=1)
checkpoint = None if checkpoint == "-" else checkpoint
if scenario == "die" and index == "1":  # killed outright as it saves its first chunk
    import signal
    from jaxopt_lab.engine import _checkpoint
    _checkpoint.ChunkStore.save_chunk = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
if scenario == "fail" and index == "1":  # a stale checkpoint on one host only
    checkpoint = os.path.join(out, "stale")
    os.makedirs(os.path.join(checkpoint, "plain", "process-1-of-2"))
    stale = os.path.join(checkpoint, "plain", "process-1-of-2", "manifest.json")
    with open(stale, "w") as handle:
        json.dump({{"fingerprint": "another sweep"}}, handle)
if scenario == "shares":
    from jaxopt_lab.engine import EngineOptionError
    try:  # refused before any work: the engine shares the chunks between processes itself
        jl.sweep(optax.sgd(0.01), surface, starts, 1, engine=jl.Engine(devices=jax.devices()))
    except EngineOptionError as error:
        print("REFUSED", error.option, error, flush=True)
    momentum = optax.sgd(0.01, momentum=0.9)
    for mode in ("none", "first"):
        engine = jl.Engine(chunk_size={CHUNK_SIZE}, batches=1, gather=mode)
        plain = jl.sweep(momentum, surface, starts, {NUM_STEPS}, progress=False, engine=engine,
                         trajectories={list(PATHS)!r}, checkpoint=os.path.join(checkpoint, "plain"))
        plain.save(os.path.join(out, f"plain-{{mode}}-{{index}}.npz"))
        grid = jl.sweep(optax.adam, surface, starts, {NUM_STEPS}, progress=False, engine=engine,
                        hyperparams={{"learning_rate": {list(LEARNING_RATES)!r}}},
                        record_loss_every=10, trajectories={list(PATHS)!r})
        grid.save(os.path.join(out, f"grid-{{mode}}-{{index}}.npz"))
    # Settings paired with the points and the paper's rule: each share holds its points' own.
    jl.sweep(optax.sgd, surface, starts, {NUM_STEPS}, progress=False,
             engine=jl.Engine(chunk_size={CHUNK_SIZE}, batches=1, gather="none"),
             hyperparams={{"learning_rate": np.geomspace(*{PAIRED_RATE_RANGE!r},
                                                         {RESOLUTION**2})}},
             hyperparams_per_point=True,
             divergence=jl.engine.mean_normalized_loss_rule()
             ).save(os.path.join(out, f"paired-{{index}}.npz"))
    # One chunk for two processes: process 1's share is empty.
    jl.sweep(momentum, surface, starts.points[:{CHUNK_SIZE}], {NUM_STEPS}, progress=False,
             engine=jl.Engine(chunk_size={CHUNK_SIZE}, batches=1, gather="none")
             ).save(os.path.join(out, f"one-chunk-{{index}}.npz"))
    sys.exit()
plain = jl.sweep(optax.sgd(0.01, momentum=0.9), surface, starts, {NUM_STEPS}, progress=False,
                 engine=engine, checkpoint=checkpoint and os.path.join(checkpoint, "plain"))
plain.save(os.path.join(out, f"plain-{{index}}.npz"))
if scenario != "ok":
    sys.exit()
grid = jl.sweep(optax.adam, surface, starts, {NUM_STEPS}, progress=False, engine=engine,
                hyperparams={{"learning_rate": {list(LEARNING_RATES)!r}}}, record_loss_every=10)
grid.save(os.path.join(out, f"grid-{{index}}.npz"))
"""


GATHER_CHILD = r"""
import sys
import numpy as np
from jaxopt_lab.engine import _distributed
port, count, index = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
_distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=count,
                        process_id=index)
for num_chunks in (5, 2):  # 3 processes: shares of 2, 2, 1 chunks, then of 1, 1, 0
    mine = {chunk: {"x": np.full((2, 3), chunk, np.float64), "status": np.int8([chunk, -chunk])}
            for chunk in _distributed.share(num_chunks)}
    for mode in ("all", "first", "none"):
        with _distributed.Peers() as peers:
            held, chunks, _ = _distributed.gather(mine, num_chunks, peers, mode=mode)
        got = [(int(chunk["x"][0, 0]), chunk["x"].shape, chunk["status"].tolist())
               for chunk in chunks]
        print("GATHERED", num_chunks, mode, list(held), got, flush=True)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(count: int, scenario: str, out: str, checkpoint: str | None = None,
            devices_each: int = 1) -> list[subprocess.Popen]:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO, PYTHONUNBUFFERED="1",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices_each}")
    port = _free_port()
    return [subprocess.Popen(
        [sys.executable, "-c", CHILD, str(port), str(count), str(index), scenario, out,
         checkpoint or "-", str(CHILD_HEARTBEAT_SECONDS)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for index in range(count)]


def _finish(children: list[subprocess.Popen]) -> list[tuple[int, str]]:
    """(exit code, output) of every child; kills all and fails if they outlive the timeout."""
    deadline = time.monotonic() + GROUP_TIMEOUT_SECONDS
    results = []
    for child in children:
        try:
            output, _ = child.communicate(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            for other in children:
                other.kill()
            pytest.fail(f"distributed children still ran after {GROUP_TIMEOUT_SECONDS} s: a hang")
        results.append((child.returncode, output))
    return results


def _run(count: int, scenario: str, out: str, checkpoint: str | None = None,
         devices_each: int = 1) -> list[tuple[int, str]]:
    results = _finish(_launch(count, scenario, out, checkpoint, devices_each))
    if scenario in ("ok", "plain", "shares"):
        for index, (code, output) in enumerate(results):
            assert code == 0, f"process {index} of {count} failed:\n{output[-3000:]}"
    return results


def _one_process_sweeps(trajectories=None) -> dict[str, jl.SweepResult]:
    """The children's two sweeps (plain and grid), here in one process."""
    surface = jl.surfaces.get(SURFACE)
    starts = jl.starts.grid(surface, RESOLUTION)
    options = dict(progress=False, engine=jl.Engine(chunk_size=CHUNK_SIZE, batches=1),
                   trajectories=trajectories)
    return {
        "plain": jl.sweep(optax.sgd(0.01, momentum=0.9), surface, starts, NUM_STEPS, **options),
        "grid": jl.sweep(optax.adam, surface, starts, NUM_STEPS,
                         hyperparams={"learning_rate": LEARNING_RATES}, record_loss_every=10,
                         **options),
    }


@pytest.fixture(scope="module")
def one_process() -> dict[str, jl.SweepResult]:
    """The two sweeps of the children, here in one process."""
    return _one_process_sweeps()


@pytest.fixture(scope="module")
def with_paths() -> dict[str, jl.SweepResult]:
    """The shares' sweeps of the children, here in one process, keeping the paths of `PATHS`."""
    return _one_process_sweeps(PATHS)


def _assert_identical(result: jl.SweepResult, expected: jl.SweepResult) -> None:
    actual, wanted = result.arrays(), expected.arrays()
    assert sorted(actual) == sorted(wanted)
    for name in wanted:
        np.testing.assert_array_equal(actual[name], wanted[name], err_msg=name, strict=True)


def _assert_every_process_has(directory, expected: dict[str, jl.SweepResult], count: int,
                              devices_each: int = 1) -> list[jl.SweepResult]:
    results = []
    for index in range(count):
        for name, wanted in expected.items():
            result = jl.SweepResult.load(os.path.join(directory, f"{name}-{index}.npz"))
            _assert_identical(result, wanted)
            assert result.metadata["num_processes"] == count
            assert result.metadata["global_device_count"] == count * devices_each
            results.append(result)
    return results


def test_two_processes_give_the_one_process_results_and_resume_from_checkpoints(tmp_path,
                                                                                one_process):
    checkpoint = str(tmp_path / "checkpoint")
    _run(2, "ok", str(tmp_path), checkpoint)
    first = _assert_every_process_has(tmp_path, one_process, 2)
    assert all(result.metadata["chunks_loaded"] == 0 for result in first)
    assert sorted(os.listdir(os.path.join(checkpoint, "plain"))) == [
        "process-0-of-2", "process-1-of-2"]
    _run(2, "plain", str(tmp_path), checkpoint)
    resumed = _assert_every_process_has(tmp_path, {"plain": one_process["plain"]}, 2)
    assert all(result.metadata["chunks_loaded"] == -(-RESOLUTION**2 // CHUNK_SIZE)
               for result in resumed)
    surface = jl.surfaces.get(SURFACE)
    with pytest.raises(ValueError, match="run on 2 process"):  # here: one process
        jl.sweep(optax.sgd(0.01, momentum=0.9), surface, jl.starts.grid(surface, RESOLUTION),
                 NUM_STEPS, progress=False, engine=jl.Engine(chunk_size=CHUNK_SIZE, batches=1),
                 checkpoint=os.path.join(checkpoint, "plain"))


def _stretch(result: jl.SweepResult) -> tuple[int, int, int]:
    return tuple(result.metadata[key] for key in ("first_point", "num_points", "total_points"))


def test_processes_keep_their_shares_and_concatenate_joins_them_into_the_whole(
        tmp_path, one_process, with_paths):
    results = _run(2, "shares", str(tmp_path), str(tmp_path / "checkpoint"))
    load = lambda name: jl.SweepResult.load(tmp_path / f"{name}.npz")
    for name, wanted in with_paths.items():
        shares = [load(f"{name}-none-{index}") for index in range(2)]
        assert [_stretch(part) for part in shares] == [(0, 96, 144), (96, 48, 144)]
        # Each share keeps the paths of its own points, indexed like its other fields.
        assert [part.trajectory_indices.tolist() for part in shares] == [[3], [4, 47]]
        joined = jl.SweepResult.concatenate(shares)
        _assert_identical(joined, wanted)
        assert _stretch(joined) == (0, 144, 144)
        # "first": process 0 receives the whole result, process 1 keeps its share.
        first, other = (load(f"{name}-first-{index}") for index in range(2))
        _assert_identical(first, wanted)
        _assert_identical(other, shares[1])
        assert _stretch(first) == (0, 144, 144) and _stretch(other) == (96, 48, 144)
        with pytest.raises(ValueError, match="in the order of the processes"):
            jl.SweepResult.concatenate(shares[::-1])
    # The second plain sweep resumed the first's checkpoint: the mode is not in its fingerprint.
    assert [load(f"plain-none-{index}").metadata["chunks_loaded"] for index in range(2)] == [0, 0]
    assert [load(f"plain-first-{index}").metadata["chunks_loaded"] for index in range(2)] == [5, 2]
    # A sweep of one chunk: process 1's share is empty.
    empty = load("one-chunk-1")
    assert _stretch(empty) == (CHUNK_SIZE, 0, CHUNK_SIZE) and empty.params.shape == (0, 2)
    joined = jl.SweepResult.concatenate([load("one-chunk-0"), empty])
    for field in ("params", "loss", "status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(joined, field),
                                      np.asarray(getattr(one_process["plain"], field))[:CHUNK_SIZE],
                                      err_msg=field, strict=True)
    for _, output in results:
        refusals = [line for line in output.splitlines() if line.startswith("REFUSED")]
        assert len(refusals) == 1 and refusals[0].startswith("REFUSED devices devices must be "
                                                              "devices of this process"), output
        assert "jax.local_devices()" in refusals[0]
    _assert_paired_shares_hold_their_own_settings_and_labels(tmp_path)


def _assert_paired_shares_hold_their_own_settings_and_labels(directory) -> None:
    surface = jl.surfaces.get(SURFACE)
    rates = np.geomspace(*PAIRED_RATE_RANGE, RESOLUTION**2)
    whole = jl.sweep(optax.sgd, surface, jl.starts.grid(surface, RESOLUTION), NUM_STEPS,
                     progress=False, engine=jl.Engine(chunk_size=CHUNK_SIZE, batches=1),
                     hyperparams={"learning_rate": rates}, hyperparams_per_point=True,
                     divergence=jl.engine.mean_normalized_loss_rule())
    assert 0 < np.mean(np.asarray(whole.status) == jl.Status.DIVERGED) < 1
    shares = [jl.SweepResult.load(directory / f"paired-{index}.npz") for index in range(2)]
    for share, points in zip(shares, (slice(0, 96), slice(96, 144)), strict=True):
        np.testing.assert_array_equal(share.hyperparams["learning_rate"], rates[points],
                                      strict=True)
    joined = jl.SweepResult.concatenate(shares)
    np.testing.assert_array_equal(joined.hyperparams["learning_rate"], rates, strict=True)
    for field in ("params", "loss", "status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(joined, field), np.asarray(getattr(whole, field)),
                                      err_msg=field, strict=True)


def test_every_gather_mode_returns_the_whole_result_in_one_process(one_process):
    surface = jl.surfaces.get(SURFACE)
    for mode in ("first", "none"):
        result = jl.sweep(optax.sgd(0.01, momentum=0.9), surface,
                          jl.starts.grid(surface, RESOLUTION), NUM_STEPS, progress=False,
                          engine=jl.Engine(chunk_size=CHUNK_SIZE, batches=1, gather=mode))
        _assert_identical(result, one_process["plain"])
        assert _stretch(result) == (0, RESOLUTION**2, RESOLUTION**2)


def test_four_processes_of_two_devices_with_unequal_shares_give_the_one_device_result(
        tmp_path, one_process):
    _run(4, "plain", str(tmp_path), devices_each=2)
    _assert_every_process_has(tmp_path, {"plain": one_process["plain"]}, 4, devices_each=2)


def test_a_failing_process_stops_the_others_with_its_error(tmp_path):
    results = _run(2, "fail", str(tmp_path))
    (code_0, output_0), (code_1, output_1) = results
    assert code_1 != 0 and "holds a different sweep" in output_1
    assert code_0 != 0 and "DistributedSweepError: process 1 of 2 failed" in output_0
    assert "holds a different sweep" in output_0


def test_a_killed_process_ends_the_others_in_bounded_time(tmp_path):
    started = time.monotonic()
    (code, output), (killed, _) = _run(2, "die", str(tmp_path), str(tmp_path / "checkpoint"))
    assert killed == -9
    assert code != 0
    assert "another task died" in output or "another process probably died" in output, \
        output[-3000:]
    assert time.monotonic() - started < GROUP_TIMEOUT_SECONDS


@pytest.mark.parametrize("environment, message", [
    ({}, "coordinator_address should be defined"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1", "JAX_NUM_PROCESSES": "two"},
     "JAX_NUM_PROCESSES must be a whole number"),
])
def test_map_distributed_without_a_cluster_says_what_is_missing(tmp_path, environment,
                                                                message):
    env = {name: value for name, value in os.environ.items()
           if name not in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")}
    env.update(environment, JAX_PLATFORMS="cpu", PYTHONPATH=REPO)
    completed = subprocess.run(  # a fresh process: jax.distributed must start before any JAX work
        [sys.executable, "-m", "jaxopt_lab.cli", "map", "--distributed", "--optimizer", "sgd",
         "--surface", SURFACE, "-o", str(tmp_path / "map.png")],
        check=False, env=env, capture_output=True, text=True, timeout=GROUP_TIMEOUT_SECONDS)
    error = completed.stderr
    assert completed.returncode == 2, error
    assert "argument --distributed" in error and message in error, error
    assert "JAX_PROCESS_ID" in error and os.listdir(tmp_path) == []


def test_gather_puts_every_share_in_order_on_every_process_on_process_0_or_none(tmp_path):
    port, count = _free_port(), 3
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO)
    children = [subprocess.Popen([sys.executable, "-c", GATHER_CHILD, str(port), str(count),
                                  str(index)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for index in range(count)]
    for index, (code, output) in enumerate(_finish(children)):
        assert code == 0, output[-3000:]
        lines = [line.split(" ", 3)[1:] for line in output.splitlines()
                 if line.startswith("GATHERED")]
        for num_chunks, mode, got in lines:
            everything = mode == "all" or (mode == "first" and index == 0)
            held = range(int(num_chunks)) if everything else _distributed.share(
                int(num_chunks), index, count)
            # A process without a chunk of its own gets one of zeros: its outputs' shapes.
            expected = [(chunk, (2, 3), [chunk, -chunk]) for chunk in held] or [(0, (2, 3),
                                                                                   [0, 0])]
            assert got == f"{list(held)} {expected}", (index, num_chunks, mode)
        assert len(lines) == 6


def _part(result: jl.SweepResult, points: slice) -> jl.SweepResult:
    """The parts a user would run by hand: the same sweep over a stretch of the starts."""
    surface = jl.surfaces.get(SURFACE)
    starts = jl.starts.grid(surface, RESOLUTION).points[points]
    engine = jl.Engine(chunk_size=CHUNK_SIZE, batches=1)
    if result.hyperparams:
        return jl.sweep(optax.adam, surface, starts, NUM_STEPS, progress=False, engine=engine,
                        hyperparams={"learning_rate": LEARNING_RATES}, record_loss_every=10)
    return jl.sweep(optax.sgd(0.01, momentum=0.9), surface, starts, NUM_STEPS, progress=False,
                    engine=engine)


@pytest.mark.parametrize("name", ["plain", "grid"])
def test_concatenate_joins_saved_parts_into_the_whole_sweep(tmp_path, one_process, name):
    whole = one_process[name]
    bounds = [0, 64, 100, RESOLUTION**2]
    for number, (start, stop) in enumerate(itertools.pairwise(bounds)):
        _part(whole, slice(start, stop)).save(tmp_path / f"part-{number}.npz")
    joined = jl.SweepResult.concatenate(
        [jl.SweepResult.load(tmp_path / f"part-{number}.npz") for number in range(3)])
    for field in ("params", "loss", "status", "steps", "basin", "loss_history", "loss_steps"):
        if getattr(whole, field) is not None:
            np.testing.assert_array_equal(getattr(joined, field), np.asarray(getattr(whole, field)),
                                          err_msg=field, strict=True)
    assert _stretch(joined) == (0, RESOLUTION**2, RESOLUTION**2)


def test_concatenate_shifts_the_kept_paths_to_the_joined_points():
    surface = jl.surfaces.get(SURFACE)
    starts = jl.starts.grid(surface, RESOLUTION).points
    sweep = lambda points, kept: jl.sweep(optax.sgd(0.01), surface, points, 5, progress=False,
                                          trajectories=kept)
    joined = jl.SweepResult.concatenate([sweep(starts[:10], [3]), sweep(starts[10:], [0, 4])])
    whole = sweep(starts, [3, 10, 14])
    np.testing.assert_array_equal(joined.trajectory_indices, [3, 10, 14])
    np.testing.assert_array_equal(joined.trajectories, np.asarray(whole.trajectories), strict=True)


@pytest.mark.parametrize("change, message", [
    ({"num_steps": 41}, "'num_steps'"),
    ({"hyperparams": {"learning_rate": (0.003, 0.01, 0.1)}}, "hyperparameter values"),
    ({"record_loss_every": 20}, "'record_loss_every'"),
])
def test_concatenate_refuses_parts_of_different_sweeps(change, message):
    surface = jl.surfaces.get(SURFACE)
    starts = jl.starts.grid(surface, 4).points
    arguments = {"num_steps": NUM_STEPS, "hyperparams": {"learning_rate": LEARNING_RATES},
                 "record_loss_every": 10}
    first = jl.sweep(optax.adam, surface, starts[:8], progress=False, **arguments)
    other = jl.sweep(optax.adam, surface, starts[8:], progress=False, **{**arguments, **change})
    with pytest.raises(ValueError, match=message):
        jl.SweepResult.concatenate([first, other])


def _share(first: int, points: int, total: int) -> jl.SweepResult:
    return jl.SweepResult(params=np.zeros((points, 2)), loss=np.zeros(points),
                          status=np.zeros(points, np.int8), steps=np.zeros(points, np.int32),
                          basin=np.zeros(points, np.int32),
                          metadata={"first_point": first, "num_points": points,
                                    "total_points": total})


@pytest.mark.parametrize("stretches, message", [
    ([(96, 48, 144), (0, 96, 144)], r"parts\[1\] holds points \[0, 96\).*from point 144"),
    ([(0, 96, 144), (100, 44, 144)], (r"parts\[1\] holds points \[100, 144\) of a sweep of "
                                      r"144 starts, not the next share, from point 96")),
    ([(0, 144, 144), (96, 48, 144)], "from point 144"),  # what gather="first" returns
    ([(0, 96, 144), (96, 48, 200)], "of a sweep of 200"),
    ([(0, 96, 144), None], "does not say which points"),
])
def test_concatenate_refuses_shares_that_do_not_follow_one_another(stretches, message):
    parts = [_share(*stretch) if stretch else jl.SweepResult(**{
        **vars(_share(0, 48, 48)), "metadata": {}}) for stretch in stretches]
    with pytest.raises(ValueError, match=message):
        jl.SweepResult.concatenate(parts)


def test_concatenate_joins_shares_with_empty_ones_and_whole_sweeps_as_one():
    shares = jl.SweepResult.concatenate([_share(0, 32, 32), _share(32, 0, 32)])
    wholes = jl.SweepResult.concatenate([_share(0, 64, 64), _share(0, 80, 80)])
    middle = jl.SweepResult.concatenate([_share(96, 24, 144), _share(120, 24, 144)])
    assert [_stretch(joined) for joined in (shares, wholes, middle)] == [
        (0, 32, 32), (0, 144, 144), (96, 48, 144)]


def test_concatenate_of_nothing_says_so():
    with pytest.raises(ValueError, match="at least one"):
        jl.SweepResult.concatenate([])


def test_shares_are_contiguous_cover_every_chunk_once_and_differ_by_at_most_one():
    for chunks in range(12):
        for count in range(1, 6):
            shares = [_distributed.share(chunks, index, count) for index in range(count)]
            assert [index for owned in shares for index in owned] == list(range(chunks))
            assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_the_map_command_runs_distributed_only_process_0_writes_and_its_json_parses(tmp_path):
    port = _free_port()
    children = []
    for index in range(2):
        env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO,
                   JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES="2",
                   JAX_PROCESS_ID=str(index))
        output = tmp_path / f"map-{index}.png"  # distinct, to see who writes
        children.append(subprocess.Popen(
            [sys.executable, "-m", "jaxopt_lab.cli", "map", "--distributed", "--optimizer",
             "sgd", "--surface", SURFACE, "--resolution", "8", "--steps", "20", "--no-progress",
             "--no-compile-cache", "-o", str(output), "--json", "-"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + GROUP_TIMEOUT_SECONDS
    outputs = [child.communicate(timeout=max(deadline - time.monotonic(), 1))
               for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    (stdout_0, stderr_0), (stdout_1, _) = outputs
    # gloo's C++ announces each connection on fd 1: the command sends that to stderr.
    report = json.loads(stdout_0)
    assert report["image"] == str(tmp_path / "map-0.png") and stdout_1 == ""
    assert f"wrote {tmp_path / 'map-0.png'}" in stderr_0
    assert sorted(os.listdir(tmp_path)) == ["map-0.npz", "map-0.png"]
    result = jl.SweepResult.load(tmp_path / "map-0.npz")
    assert result.metadata["num_processes"] == 2 and result.status.shape == (64,)
    assert report["metadata"] == result.metadata
