"""The `jaxopt-lab` command, run as a user runs it: through a subprocess."""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import matplotlib.image as mpimg
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab import cli, plotting
from jaxopt_lab import Status, SweepResult

#: A map pixel is given to the basin whose shading line (basin colour blended toward white, up
#: to plotting.SLOWEST_PALENESS) it lies within this RGB distance of: PNG rounding to 1/255 and
#: antialiasing at cell edges stay well inside it, while tab10 colours are > 0.2 apart.
PIXEL_COLOUR_TOLERANCE = 0.03
#: Share of map pixels per basin vs share of grid cells per basin: markers for minima and
#: saddles and antialiased cell edges cover a few percent of the map.
BASIN_SHARE_TOLERANCE = 0.03
#: An all-diverged map must be mostly black; the legend, ticks and margins are the rest.
MIN_BLACK_SHARE_OF_ALL_DIVERGED_MAP = 0.35


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jaxopt_lab.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("command", [[], ["map"], ["bench"], ["list"], ["grid"], ["race"], ["plot"]])
def test_help_shows_an_example(command):
    completed = run_cli(*command, "--help")
    assert completed.returncode == 0
    assert "jaxopt-lab" in completed.stdout
    if command:
        assert "example:" in completed.stdout


BAD_ARGUMENTS = [
    (["map", "--optimizer", "nope", "--surface", "himmelblau", "-o", "x.png"], "--optimizer"),
    (["map", "--optimizer", "sgd", "--surface", "nowhere", "-o", "x.png"], "--surface"),
    (["map", "--optimizer", "sgd", "--surface", "himmelblau", "--resolution", "-4", "-o", "x.png"],
     "--resolution"),
    (["bench", "--optimizer", "sgd", "--surface", "rosenbrock", "--points", "0"], "--points"),
    (["bench", "--optimizer", "sgd", "--surface", "rosenbrock", "--backend", "pallas"], "--backend"),
    (["bench", "--optimizer", "sgd", "--surface", "rosenbrock", "--batches", "0"], "--batches"),
    (["bench", "--optimizer", "sgd", "--surface", "rosenbrock", "--points", "256", "--steps", "2",
      "--backend", "fused", "--batches", "2"], "--batches"),
    (["map", "--optimizer", "bfgs", "--surface", "himmelblau", "--backend", "fused", "-o",
      "x.png"], "--backend"),
    (["map", "--optimizer", "sgd", "--param", "learning_rate", "--surface", "himmelblau", "-o", "x.png"],
     "--param"),
    (["map", "--optimizer", "sgd", "--param", "momentum=0.9", "--surface", "himmelblau", "-o", "x.png"],
     "--param"),
    (["map", "--optimizer", "momentum", "--param", "momentum=1.5", "--surface", "himmelblau",
      "-o", "x.png"], "momentum must be in [0, 1)"),
    (["map", "--optimizer", "sgd", "--surface", "himmelblau", "-o", "x.txt"], "-o/--output"),
]


@pytest.mark.parametrize("arguments, named", BAD_ARGUMENTS)
def test_bad_arguments_exit_2_with_one_line(arguments, named, tmp_path):
    completed = subprocess.run([sys.executable, "-m", "jaxopt_lab.cli", *arguments],
                               capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert named in lines[0]
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_list_names_every_kind_of_thing():
    completed = run_cli("list")
    assert completed.returncode == 0
    for expected in ("optimizers:", "surfaces:", "schedules:", "momentum", "himmelblau",
                     "inverse_sqrt"):
        assert expected in completed.stdout


@pytest.mark.parametrize("name", ["axis_aligned_quadratic", "long_canyon", "saddle",
                                  "deep_learning_spectrum"])
def test_list_describes_each_quadratic_by_its_spectrum(name):
    # The quadratics share one fn class, so a docstring line would read alike for all of them.
    surface = jl.surfaces.get(name)
    eigenvalues = np.linalg.eigvalsh(np.asarray(surface.fn.A))
    line = cli._describe_surface(surface)
    assert line.startswith("quadratic ½ wᵀAw, ")
    if len(eigenvalues) <= 4:
        assert "eigenvalues " + ", ".join(f"{value:.4g}" for value in eigenvalues) in line
    else:
        assert f"{len(eigenvalues)} eigenvalues in [{eigenvalues[0]:.3g}, " in line
    kind = "minimum" if np.all(eigenvalues > 0) else "saddle"
    assert f"; {kind} at the origin" in line
    assert ("condition number" in line) == (kind == "minimum")


def test_list_into_a_closed_pipe_exits_quietly():
    listing = subprocess.Popen([sys.executable, "-m", "jaxopt_lab.cli", "list"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listing.stdout.close()  # as `jaxopt-lab list | head` does: the listing's writes get EPIPE
    _, stderr = listing.communicate(timeout=120)
    assert b"Traceback" not in stderr


def _basin_of_pixels(image: np.ndarray, num_basins: int) -> np.ndarray:
    """Each pixel's basin index by its colour, or -1 for anything else (text, white, markers)."""
    pixels = image.reshape(-1, 3)
    best = np.full(len(pixels), -1)
    best_distance = np.full(len(pixels), np.inf)
    white = np.ones(3)
    for k in range(num_basins):
        colour = np.asarray(plotting.BASIN_COLOURS[k % len(plotting.BASIN_COLOURS)])
        direction = white - colour
        paleness = np.clip((pixels - colour) @ direction / (direction @ direction), 0.0,
                           plotting.SLOWEST_PALENESS)
        distance = np.linalg.norm(pixels - (colour + paleness[:, None] * direction), axis=1)
        closer = (distance < PIXEL_COLOUR_TOLERANCE) & (distance < best_distance)
        best[closer], best_distance[closer] = k, distance[closer]
    return best


def test_map_writes_png_whose_colours_match_the_saved_result(tmp_path):
    image_path = tmp_path / "map.png"
    completed = run_cli("map", "--optimizer", "sgd", "--param", "learning_rate=0.01",
                        "--surface", "himmelblau", "--resolution", "32", "--steps", "300",
                        "-o", str(image_path))
    assert completed.returncode == 0, completed.stderr
    saved = np.load(tmp_path / "map.npz")
    assert image_path.exists() and "metadata" in saved
    basin, status = saved["basin"], saved["status"]
    assert (status == Status.CONVERGED).all()  # theory: every start converges below 0.0248
    image = mpimg.imread(image_path)[..., :3]
    pixel_basin = _basin_of_pixels(image, num_basins=4)
    coloured = pixel_basin[pixel_basin >= 0]
    assert len(coloured) > 0.2 * pixel_basin.size
    for k in range(4):
        cell_share = np.mean(basin == k)
        pixel_share = np.mean(coloured == k)
        assert abs(pixel_share - cell_share) < BASIN_SHARE_TOLERANCE, (k, pixel_share, cell_share)


def test_map_with_the_fused_backend_finds_what_the_scan_finds(tmp_path):
    outcomes = {}
    for backend in ("fused", "scan"):
        completed = run_cli("map", "--optimizer", "sgd", "--param", "learning_rate=0.01",
                            "--surface", "himmelblau", "--resolution", "8", "--steps", "300",
                            "--backend", backend, "-o", str(tmp_path / f"{backend}.png"))
        assert completed.returncode == 0, completed.stderr
        saved = SweepResult.load(tmp_path / f"{backend}.npz")
        assert saved.metadata["backend"] == backend
        outcomes[backend] = (saved.status, saved.basin, saved.steps)
    for fused, scan in zip(outcomes["fused"], outcomes["scan"]):
        np.testing.assert_array_equal(fused, scan)


def test_map_of_a_diverging_run_is_black(tmp_path):
    image_path = tmp_path / "diverged.svg"
    png_path = tmp_path / "diverged.png"
    # Above 2/λ_max of every Himmelblau minimum (0.0248) gradient descent diverges everywhere.
    arguments = ["map", "--optimizer", "sgd", "--param", "learning_rate=0.05", "--surface",
                 "himmelblau", "--resolution", "16", "--steps", "100", "--colour", "status"]
    assert run_cli(*arguments, "-o", str(png_path)).returncode == 0
    assert (np.load(tmp_path / "diverged.npz")["status"] == Status.DIVERGED).all()
    image = mpimg.imread(png_path)[..., :3]
    black = np.all(image < 0.05, axis=-1)
    assert black.mean() > MIN_BLACK_SHARE_OF_ALL_DIVERGED_MAP
    assert run_cli(*arguments, "-o", str(image_path)).returncode == 0
    assert image_path.read_text().lstrip().startswith("<?xml")


BENCH_SCHEMA = {
    "optimizer": str, "hyperparams": dict, "surface": str, "num_points": int, "num_steps": int,
    "repeats": int, "backend": str, "backend_used": str, "backend_reason": str, "batches": int, "device": str, "jax": str, "jaxlib": str, "optax": str,
    "jaxopt_lab": str, "compile_seconds": float, "median_seconds": float, "min_seconds": float,
    "max_seconds": float, "point_steps_per_second": float, "baseline_median_seconds": float,
    "baseline_point_steps_per_second": float, "ratio": float,
}


def test_bench_reports_and_writes_json_in_its_schema(tmp_path):
    json_path = tmp_path / "bench.json"
    completed = run_cli("bench", "--optimizer", "adam", "--surface", "rosenbrock", "--points",
                        "2100", "--steps", "20", "--repeats", "2", "--batches", "2",
                        "--json", str(json_path))
    assert completed.returncode == 0, completed.stderr
    assert "point-steps/s" in completed.stdout and "ratio" in completed.stdout
    report = json.loads(json_path.read_text())
    for key, kind in BENCH_SCHEMA.items():
        assert isinstance(report[key], kind), (key, report.get(key))
    assert report["num_points"] == 2100 and report["num_steps"] == 20 and report["batches"] == 2
    assert "2 blocks side by side" in completed.stdout  # 3 blocks of 1,024 points
    assert report["min_seconds"] <= report["median_seconds"] <= report["max_seconds"]
    expected_rate = 2100 * 20 / report["median_seconds"]
    assert report["point_steps_per_second"] == pytest.approx(expected_rate)
    assert report["ratio"] == pytest.approx(
        report["baseline_median_seconds"] / report["median_seconds"])


#: Seconds after the command's first sign of life on its terminal (its spinner, shown once the
#: sweep has begun compiling) at which Ctrl-C is pressed: while compiling, and while sweeping.
INTERRUPT_DELAYS_S = (0.0, 1.0, 3.0)
#: Seconds a command may take to start (import jax, build the optimizer) on a loaded machine.
START_TIMEOUT_S = 120


def _read_terminal(leader: int, timeout: float) -> bytes:
    """What the command wrote to its terminal within ``timeout`` seconds (b"" if nothing)."""
    ready, _, _ = select.select([leader], [], [], timeout)
    try:
        return os.read(leader, 65536) if ready else b""
    except OSError:  # the command closed its terminal: it has exited
        return b""


@pytest.mark.slow
@pytest.mark.parametrize("delay", INTERRUPT_DELAYS_S)
def test_ctrl_c_exits_130_and_keeps_no_partial_output(tmp_path, delay):
    image_path = tmp_path / "map.png"
    # stderr is a terminal, as for a person at a shell: the spinner then says when the sweep has
    # begun, so the signal lands inside it instead of after a guessed sleep.
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        # A learning rate so small that no start stops early: the sweep's early exit would
        # otherwise finish the map before the signal arrives.
        [sys.executable, "-m", "jaxopt_lab.cli", "map", "--optimizer", "sgd", "--param",
         "learning_rate=1e-6", "--surface", "rosenbrock", "--resolution", "256", "--steps",
         "500000", "-o", str(image_path)],
        stdout=subprocess.DEVNULL, stderr=follower,
    )
    os.close(follower)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        terminal = b""
        while not terminal:
            assert process.poll() is None, "the command ended before its sweep began"
            assert time.monotonic() < deadline, "no sign of life from the command"
            terminal += _read_terminal(leader, 1.0)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=START_TIMEOUT_S)
        while chunk := _read_terminal(leader, 0.5):
            terminal += chunk
    finally:
        process.kill()
        os.close(leader)
    assert process.returncode == 130, terminal.decode(errors="replace")
    assert b"interrupted; no partial output was kept" in terminal
    assert list(tmp_path.iterdir()) == []


#: Seconds after launch at which Ctrl-C is pressed while the command still imports JAX (its
#: import takes seconds): Python's own handler used to raise it inside one of JAX's
#: garbage-collection callbacks, which swallowed it, and the map was drawn anyway.
IMPORT_INTERRUPT_DELAYS_S = (0.5, 1.0)
#: Never finishes before its Ctrl-C: nothing converges at this rate in so many steps.
NEVER_DONE_MAP = ["map", "--optimizer", "sgd", "--param", "learning_rate=1e-6", "--surface",
                  "rosenbrock", "--steps", "500000", "--no-progress"]


@pytest.mark.slow
@pytest.mark.parametrize("delay", IMPORT_INTERRUPT_DELAYS_S)
def test_ctrl_c_while_the_command_starts_is_honoured(tmp_path, delay):
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxopt_lab.cli", *NEVER_DONE_MAP, "--resolution", "64", "-o",
         str(tmp_path / "map.png")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=START_TIMEOUT_S)
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == ["jaxopt-lab: interrupted; no partial output was kept"]
    assert list(tmp_path.iterdir()) == []


#: Points per chunk of the checkpointed map: its 32 x 32 starts run as 4 chunks of seconds each.
CHECKPOINT_CHUNK_SIZE = 256


@pytest.mark.slow
def test_ctrl_c_with_a_checkpoint_keeps_the_finished_chunks_and_says_how_to_resume(tmp_path):
    checkpoint = tmp_path / "checkpoint"
    command = [*NEVER_DONE_MAP, "--resolution", "32", "--chunk-size",
               str(CHECKPOINT_CHUNK_SIZE), "--checkpoint", str(checkpoint), "-o",
               str(tmp_path / "map.png")]
    process = subprocess.Popen([sys.executable, "-m", "jaxopt_lab.cli", *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (checkpoint / "chunk_000000.npz").exists():  # pressed once a chunk is finished
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=START_TIMEOUT_S)
    kept = sorted(path.name for path in checkpoint.glob("chunk_*.npz"))
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == [(
        f"jaxopt-lab map: interrupted; no partial output was kept; {len(kept)} finished chunks "
        f"are kept in {checkpoint}: run the same command with the same --checkpoint again to "
        "resume")]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint"]
    resumed = run_cli(*command)
    assert resumed.returncode == 0, resumed.stderr
    assert SweepResult.load(tmp_path / "map.npz").metadata["chunks_loaded"] == len(kept)

def test_a_surface_without_minima_gets_the_suggested_learning_rate():
    # A bowl whose minimum is not listed: no curvature to read the rule from, so the CLI asks
    # jl.analysis.suggest_learning_rate, whose pick on a quadratic is stable: η < 2/λ_max = 0.25.
    bowl = jl.Surface("unlisted_bowl", lambda w: 4.0 * (w[0] ** 2 + w[1] ** 2), 2,
                      ((-1.0, 1.0), (-1.0, 1.0)))
    defaults, _, _ = cli._settings("sgd", bowl, None)
    expected = jl.analysis.suggest_learning_rate(
        jl.sgd, bowl, jl.starts.grid(bowl, cli.SUGGESTION_GRID)).learning_rate
    assert defaults["learning_rate"] == expected
    assert 0.0 < expected < 0.25
