"""Ctrl-C at many moments of `jaxopt-lab map`: every run must exit cleanly, none may crash.

One uninterrupted map is the reference (and gives the command's duration); then ``--runs`` maps
of the same command are sent SIGINT at moments spread evenly from a quarter second after the
interpreter's start (before that, Python is still starting up and no line of the package has
run) to just past the reference's end: while importing JAX, building the optimizer, compiling,
sweeping, drawing and saving. Every other run has ``--checkpoint``, all of them one directory, so each
resumes from the chunks the previous ones finished; a last uninterrupted run with that
directory must then equal the reference bit for bit, and no chunk may be found damaged.

A run passes if it exits 130 with the one-line message (naming how to resume when it had a
checkpoint and had read its arguments) and leaves no output or only complete outputs (picture and result both), or exits 0
because the signal came after it finished. Anything else (a signal's death, another exit code,
a partial file, a second line on stderr) is counted as a failure. Results go to
``benchmarks/results/interrupt_stress.json``.

    PYTHONPATH=. python benchmarks/interrupt_stress.py              # 24 runs, ~5 min on 2 cores
    PYTHONPATH=. python benchmarks/interrupt_stress.py --runs 4     # a smoke run
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from jaxopt_lab.bench import environment, write_report

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The case where Ctrl-C once crashed the process (SIGSEGV inside XLA's threads at exit).
COMMAND = ["map", "--optimizer", "lbfgs", "--surface", "himmelblau", "--resolution", "128",
           "--no-progress"]
#: Starts per chunk with a checkpoint: 8 chunks, so an interruption finds some finished.
CHUNK_SIZE = 2048
#: Seconds after launch of the first signal: Python's own start-up comes before (~0.1 s).
FIRST_MOMENT_S = 0.25
#: The last moment, as a share of the reference run's duration: past its end, to catch a
#: signal that arrives while the outputs are renamed into place or after the process exited.
LAST_MOMENT = 1.1
#: Seconds a run may take after its signal before it counts as hung.
HANG_TIMEOUT_S = 120
POINT_FIELDS = ("params", "loss", "status", "steps", "basin")


def launch(arguments: list[str], output: str) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "jaxopt_lab.cli", *COMMAND, *arguments,
                             "-o", output], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def leftovers(directory: str) -> list[str]:
    """Files in an output directory that should not be there: partial files, or a picture or
    result without the other."""
    names = sorted(os.listdir(directory))
    if names in ([], ["map.npz", "map.png"]):
        return []
    return names


def judge(code: int, stderr: str, left: list[str], checkpoint: bool) -> str:
    """"" if the run behaved, else what went wrong."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if code == 0:
        return "" if not left else f"exit 0 but left {left}"
    if code != 130:
        return f"exit {code}, left {left}: {stderr.strip()[-300:]}"
    if len(lines) != 1 or "interrupted" not in lines[0]:
        return f"exit 130 but stderr was {lines}"
    # Stopped before it read its arguments (while importing), nothing had begun to resume.
    began = lines[0].startswith("jaxopt-lab map:")
    if checkpoint and began and "interrupted once" not in lines[0] \
            and "--checkpoint again" not in lines[0]:
        return f"no resume hint: {lines[0]}"
    return f"left {left}" if left else ""


def same_result(path: str, reference: str) -> bool:
    with np.load(path) as mine, np.load(reference) as theirs:
        return all(np.array_equal(mine[name], theirs[name]) for name in POINT_FIELDS)


def main() -> None:
    # A job started in the background by a script has SIGINT ignored, and its children inherit
    # that: give them Python's handler, as a command typed at a terminal has.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--output", default=os.path.join(RESULTS, "interrupt_stress.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        reference = os.path.join(scratch, "reference", "map.png")
        os.makedirs(os.path.dirname(reference))
        start = time.perf_counter()
        completed = launch([], reference)
        completed.communicate(timeout=HANG_TIMEOUT_S * 5)
        duration = time.perf_counter() - start
        assert completed.returncode == 0, "the reference run failed"
        checkpoint = os.path.join(scratch, "checkpoint")
        runs = []
        moments = np.linspace(FIRST_MOMENT_S, LAST_MOMENT * duration, args.runs)
        for index, delay in enumerate(moments.tolist()):
            with_checkpoint = index % 2 == 1
            directory = os.path.join(scratch, f"run{index}")
            os.makedirs(directory)
            extra = ["--checkpoint", checkpoint, "--chunk-size", str(CHUNK_SIZE)] \
                if with_checkpoint else []
            process = launch(extra, os.path.join(directory, "map.png"))
            time.sleep(delay)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=HANG_TIMEOUT_S)
            left = leftovers(directory)
            problem = judge(process.returncode, stderr, left, with_checkpoint)
            runs.append({"index": index, "delay_seconds": round(delay, 2),
                         "checkpoint": with_checkpoint, "exit_code": process.returncode,
                         "message": stderr.strip().splitlines()[-1] if stderr.strip() else "",
                         "problem": problem})
            print(f"run {index:2d} SIGINT at {delay:5.2f} s: exit {process.returncode} "
                  f"{problem or 'ok'}", flush=True)
        resumed_path = os.path.join(scratch, "resumed", "map.png")
        os.makedirs(os.path.dirname(resumed_path))
        resume = launch(["--checkpoint", checkpoint, "--chunk-size", str(CHUNK_SIZE)],
                        resumed_path)
        _, resume_stderr = resume.communicate(timeout=HANG_TIMEOUT_S * 5)
        resumed_equal = resume.returncode == 0 and same_result(
            resumed_path.replace(".png", ".npz"), reference.replace(".png", ".npz"))
    codes = [run["exit_code"] for run in runs]
    report = {
        **environment(), "command": "jaxopt-lab " + " ".join(COMMAND),
        "reference_seconds": round(duration, 2), "runs": len(runs),
        "exit_130": codes.count(130), "exit_0": codes.count(0),
        "crashes": sum(code < 0 for code in codes),
        "failures": sum(bool(run["problem"]) for run in runs),
        "resumed_equals_reference": bool(resumed_equal),
        "damaged_chunks_on_resume": resume_stderr.count("checkpoint chunk"),
        "details": runs,
    }
    write_report(args.output, report)
    print(f"{report['runs']} runs: {report['exit_130']} interrupted (130), {report['exit_0']} "
          f"finished first (0), {report['crashes']} crashes, {report['failures']} failures; "
          f"resumed == reference: {resumed_equal}")
    if report["failures"] or not resumed_equal or report["damaged_chunks_on_resume"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
