"""Benchmark scripts run end to end at a tiny size (their checks, not their speed): the GPU one on
the CPU (Pallas interprets the fused kernels here), so a script that fails is found before it
runs on a GPU, and the CPU batches one, whose record must stay reproducible."""
import json
import math
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Seconds for a fresh interpreter to import jax and compile the variants on a busy 2-core box.
CHILD_TIMEOUT = 300


def run_script(name: str, *arguments: str) -> subprocess.CompletedProcess:
    """``benchmarks/<name>`` in a fresh interpreter on the CPU, with this checkout importable;
    it must exit 0."""
    environment = dict(os.environ, JAX_PLATFORMS="cpu",
                       PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", name),
                                *arguments], env=environment, capture_output=True, text=True,
                               timeout=CHILD_TIMEOUT)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def test_fused_benchmark_checks_pass_and_it_prints_its_table(tmp_path):
    out = tmp_path / "fused.json"
    completed = run_script("fused_gpu.py", "--points", "256", "--steps", "20", "--repeats", "1",
                           "--optimizers", "adam", "rprop", "--out", str(out))
    report = json.loads(out.read_text())
    assert report["interpreted"] and [case["optimizer"] for case in report["cases"]] == [
        "adam", "rprop"]
    for case in report["cases"]:
        assert case["checks"]["passed"], case["checks"]
        assert case["checks"]["auto_backend"] == "scan"  # no GPU here
        assert {"jl.sweep fused", "jl.sweep auto", "scan array unroll 1"} <= set(case["timings"])
    assert "hand-written pallas" in report["cases"][0]["timings"]
    assert completed.stdout.rstrip().splitlines()[-1].startswith("| rprop | 2^8 |")


def test_cpu_blocks_benchmark_finds_every_sweep_variant_identical(tmp_path):
    out = tmp_path / "blocks.json"
    cases = ["adam-rosenbrock", "sgd-learning-rate-grid"]
    run_script("cpu_blocks.py", "--scale", "0.04", "--steps", "20", "--repeats", "1",
               "--cases", *cases, "--output", str(out))
    report = json.loads(out.read_text())
    assert [row["case"] for row in report["results"]] == cases
    for row in report["results"]:
        assert set(row["variants"]) == {"one call (baseline)", "jl.sweep default",
                                        "blocks on one thread", "chunks of a quarter"}
        for name, variant in row["variants"].items():
            if name != "one call (baseline)":  # another shape may round otherwise
                assert variant["identical_to_default"], (row["case"], name)
            assert variant["point_steps_per_second"] > 0


def test_trainability_zoom_script_records_frames_and_the_pooled_dimension(tmp_path):
    out = tmp_path / "zoom.json"
    run_script("trainability_zoom_gpu.py", "--resolution", "24", "--steps", "20", "--width", "4",
               "--frames", "2", "--out", str(out))
    report = json.loads(out.read_text())
    assert len(report["frames"]) == 2 and math.isfinite(report["dimension"])
    assert (tmp_path / "zoom.png").exists()
