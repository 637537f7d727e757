"""Several clients at once against a real local server: no errors, each answer as if alone."""
from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("fastapi")

from jaxopt_lab import explorer  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks",
                      "explorer_speed.py")


def load_benchmark():
    spec = importlib.util.spec_from_file_location("explorer_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_concurrent_clients_get_correct_independent_results():
    benchmark = load_benchmark()
    url, server = explorer.start_background()
    try:
        report = benchmark.load(url, clients=4, requests=3, resolution=64, steps=30)
    finally:
        server.should_exit = True
    assert report["errors"] == 0
    assert report["answers_differing_from_alone"] == 0
    assert report["latency"]["count"] == 4 * 3
