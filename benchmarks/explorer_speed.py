"""The explorer's speed and its behaviour under load, against a real local server.

Three measurements, written to ``benchmarks/results/explorer_<platform>.json``:

1. **Warm maps, server side**: each map request after the first changes the learning rate (a
   traced value, so no compilation); the server's own compute time (its ``Server-Timing``
   header) and the client's round trip, per (resolution, steps) case. The first request of
   each case (start-up, with its compilation) is reported apart.
2. **Request to painted map in the browser** (headless Chromium, when installed): the page's
   ``data-paint-ms`` after a slider change, from the request to the canvas drawn.
3. **Load**: ``--clients`` threads × ``--requests`` map requests each, every client with its own
   learning rates; latency percentiles, the number of errors, and whether every answer equals
   the one the same request got alone.
4. **Start-up**: from ``jaxopt-lab serve`` to its first map (the page's first view), against
   the README quick start's ``jaxopt-lab map``, each in a fresh interpreter.

    PYTHONPATH=. python benchmarks/explorer_speed.py
    PYTHONPATH=. python benchmarks/explorer_speed.py --quick --output /tmp/explorer.json
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import shutil
import time

import httpx
import jax
import numpy as np

import jaxopt_lab as jl
from jaxopt_lab import explorer

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: (resolution, steps) with their warm server-side targets (seconds): a map as fast as a slider moves.
CASES = ((128, 300, 0.150), (256, 500, 1.0))
#: Surfaces × optimizers timed: early exit (momentum on Himmelblau stops everywhere by ~200
#: steps) and none (Adam on Rosenbrock runs every step).
SETTINGS = (("himmelblau", "momentum", (0.002, 0.01)), ("rosenbrock", "adam", (0.005, 0.05)))
TIMEOUT = 600.0


def percentiles(values: list[float]) -> dict:
    array = np.asarray(values) * 1e3
    return {f"p{q}_ms": float(np.percentile(array, q)) for q in (50, 90, 99)} | {
        "max_ms": float(array.max()), "count": len(values)}


def map_body(surface: str, optimizer: str, learning_rate: float, resolution: int,
             steps: int) -> dict:
    return {"surface": surface, "optimizer": optimizer, "resolution": resolution, "steps": steps,
            "hyperparams": {"learning_rate": learning_rate}}


def post_map(client: httpx.Client, body: dict) -> tuple[dict, float, float]:
    """(JSON, round trip s, server compute s)."""
    started = time.perf_counter()
    response = client.post("/api/map", json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    compute = float(re.search(r"dur=([\d.]+)", response.headers["server-timing"]).group(1)) / 1e3
    return response.json(), elapsed, compute


def warm_maps(url: str, repeats: int, cases) -> list[dict]:
    rows = []
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        for surface, optimizer, (low, high) in SETTINGS:
            for resolution, steps, target in cases:
                rates = np.geomspace(low, high, repeats + 1)
                _, first, first_compute = post_map(
                    client, map_body(surface, optimizer, rates[0], resolution, steps))
                trips, computes = [], []
                for rate in rates[1:]:
                    _, trip, compute = post_map(
                        client, map_body(surface, optimizer, float(rate), resolution, steps))
                    trips.append(trip)
                    computes.append(compute)
                row = {"surface": surface, "optimizer": optimizer, "resolution": resolution,
                       "steps": steps, "target_server_s": target,
                       "first_request_s": first, "first_compute_s": first_compute,
                       "server": percentiles(computes), "round_trip": percentiles(trips)}
                row["meets_target"] = row["server"]["p50_ms"] <= 1e3 * target
                rows.append(row)
                print(f"{optimizer:>9} {surface:>10} {resolution}² × {steps}: first "
                      f"{first:.2f} s, warm server p50 {row['server']['p50_ms']:.0f} ms "
                      f"(target {1e3 * target:.0f}), round trip p50 "
                      f"{row['round_trip']['p50_ms']:.0f} ms", flush=True)
    return rows


def browser_paint(url: str, repeats: int) -> dict | None:
    if not shutil.which(CHROMIUM):
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), lambda route: route.abort())
        started = time.perf_counter()
        page.goto(url + "?surface=himmelblau&optimizer=momentum&resolution=128&steps=300")
        page.wait_for_function("Number(document.body.dataset.mapVersion) > 0",
                               timeout=TIMEOUT * 1e3)
        first_load = time.perf_counter() - started
        paints = []
        for k, rate in enumerate(np.geomspace(0.002, 0.01, repeats)):
            page.get_by_test_id("hp-learning_rate").fill(f"{rate:.5g}")
            page.wait_for_function(f"Number(document.body.dataset.mapVersion) > {k + 1}",
                                   timeout=TIMEOUT * 1e3)
            paints.append(float(page.evaluate("Number(document.body.dataset.paintMs)")) / 1e3)
        browser.close()
    result = {"case": "himmelblau momentum 128² × 300", "page_load_to_first_map_s": first_load,
              "request_to_painted": percentiles(paints)}
    print(f"browser: first map {first_load:.2f} s after load; request to painted p50 "
          f"{result['request_to_painted']['p50_ms']:.0f} ms", flush=True)
    return result


def load(url: str, clients: int, requests: int, resolution: int, steps: int) -> dict:
    rates = np.geomspace(0.001, 0.03, clients * requests).reshape(clients, requests)
    bodies = [[map_body("himmelblau", "momentum", float(r), resolution, steps) for r in row]
              for row in rates]
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:  # each answer alone, first
        alone = [[post_map(client, body)[0]["layers"] for body in row] for row in bodies]

    def run_client(k: int) -> tuple[list[float], int, int]:
        latencies, errors, mismatches = [], 0, 0
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            for body, expected in zip(bodies[k], alone[k]):
                try:
                    payload, elapsed, _ = post_map(client, body)
                    latencies.append(elapsed)
                    mismatches += payload["layers"] != expected
                except httpx.HTTPError:
                    errors += 1
        return latencies, errors, mismatches

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(run_client, range(clients)))
    wall = time.perf_counter() - started
    latencies = [t for outcome in outcomes for t in outcome[0]]
    result = {"clients": clients, "requests_per_client": requests, "resolution": resolution,
              "steps": steps, "errors": sum(o[1] for o in outcomes),
              "answers_differing_from_alone": sum(o[2] for o in outcomes),
              "wall_s": wall, "requests_per_s": len(latencies) / wall,
              "latency": percentiles(latencies)}
    print(f"load: {clients} clients × {requests} requests: {result['errors']} errors, "
          f"{result['answers_differing_from_alone']} answers differ from alone, latency p50 "
          f"{result['latency']['p50_ms']:.0f} ms p90 {result['latency']['p90_ms']:.0f} ms",
          flush=True)
    return result


def _serve_to_first_map(environment: dict) -> float:
    """Seconds from starting `jaxopt-lab serve` to the answer of the page's first map."""
    import signal
    import subprocess
    import sys

    from jaxopt_lab.explorer._catalogue import FIRST_VIEW

    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "jaxopt_lab.cli", "serve", "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=environment)
    try:
        url = re.search(r"http://\S+/", child.stdout.readline()).group(0)
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            client.get("/api/catalogue").raise_for_status()
            post_map(client, dict(FIRST_VIEW))
        return time.perf_counter() - started
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=60)


def startup() -> dict:
    """`jaxopt-lab serve` to its first map (jax's on-disk cache empty, then filled by the first
    start), against the README quick start's `jaxopt-lab map`, each in a fresh interpreter."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        environment = dict(os.environ, XDG_CACHE_HOME=directory)
        cold, warm = _serve_to_first_map(environment), _serve_to_first_map(environment)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jaxopt_lab.cli", "map", "--optimizer", "momentum",
                        "--surface", "himmelblau", "-o", os.path.join(directory, "map.png")],
                       check=True, capture_output=True)
        quick_start = time.perf_counter() - started
    result = {"serve_to_first_map_s": {"empty_cache": cold, "second_start": warm},
              "quick_start_map_s": quick_start,
              "quick_start": "jaxopt-lab map --optimizer momentum --surface himmelblau",
              "within_quick_start": {"empty_cache": cold <= quick_start,
                                     "second_start": warm <= quick_start}}
    print(f"start-up: serve to first map {cold:.1f} s (empty cache), {warm:.1f} s (second "
          f"start); quick start's map {quick_start:.1f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks, not timings")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    cases, load_size = CASES, (128, 300)
    if args.quick:
        cases, load_size, args.repeats = ((64, 30, 1.0),), (64, 30), 2
        args.clients, args.requests = min(args.clients, 3), min(args.requests, 3)
    device = jax.devices()[0]
    url, server = explorer.start_background()
    try:
        report = {
            "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
            "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg(),
            "python": platform.python_version(), "jax": jax.__version__,
            "jaxopt_lab": jl.__version__, "dtype": "float32",
            "warm_maps": warm_maps(url, args.repeats, cases),
            "browser": None if args.quick else browser_paint(url, args.repeats),
            "load": load(url, args.clients, args.requests, *load_size),
            "startup": startup(),
            "load_average_at_end": os.getloadavg(),
        }
    finally:
        server.should_exit = True
    output = args.output or os.path.join(RESULTS, f"explorer_{device.platform}.json")
    with open(output, "w") as file:
        json.dump(report, file, indent=1)
    print(f"wrote {output}")
    if report["load"]["errors"] or report["load"]["answers_differing_from_alone"]:
        raise SystemExit("load: errors or answers that differ from the same request alone")


if __name__ == "__main__":
    main()
