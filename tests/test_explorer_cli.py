"""`jaxopt-lab serve`: its options, its warning off loopback, and a port it cannot take."""
from __future__ import annotations

import socket

import pytest

pytest.importorskip("fastapi")

import jaxopt_lab as jl  # noqa: E402
from jaxopt_lab import cli, explorer  # noqa: E402
from jaxopt_lab.explorer import _server  # noqa: E402


class _NoServer:
    """Stands in for uvicorn: records what would be served instead of serving it."""

    served: list = []

    def __init__(self, limits, log_level):
        self.limits = limits

    def run(self, sockets):
        _NoServer.served.append((self.limits, sockets[0].getsockname()))
        sockets[0].close()


@pytest.fixture
def no_server(monkeypatch):
    """No server, no warm-up compilation, and jax's on-disk cache left as it is."""
    _NoServer.served = []
    monkeypatch.setattr(_server, "_server", _NoServer)
    monkeypatch.setattr(_server, "warm_up", lambda limits: _NoServer.served.append("warm-up"))
    monkeypatch.setattr(explorer, "use_compilation_cache",
                        lambda: _NoServer.served.append("cache"))
    return _NoServer.served


def test_serve_prints_its_url_and_passes_the_limits(no_server, capsys):
    assert cli.main(["serve", "--port", "0", "--max-points", "4096", "--max-steps", "100"]) == 0
    cache, warm_up, (limits, (host, port)) = no_server
    assert (cache, warm_up) == ("cache", "warm-up")
    assert (limits.max_points, limits.max_steps, host) == (4096, 100, "127.0.0.1")
    out, err = capsys.readouterr()
    assert f"http://127.0.0.1:{port}/" in out and err == ""


def test_serve_off_loopback_warns_that_there_is_no_login(no_server, capsys):
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "0", "--no-compilation-cache"]) == 0
    assert "no login" in capsys.readouterr().err
    assert "cache" not in no_server


def test_a_taken_port_is_a_one_line_usage_error(no_server, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxopt-lab serve: error: argument --port") and err.count("\n") == 1


@pytest.mark.parametrize("argument", ["--max-steps=0", "--max-points=-5"])
def test_limits_must_be_positive(no_server, argument, capsys):
    assert cli.main(["serve", argument]) == 2
    assert "must be an integer >= 1" in capsys.readouterr().err


def test_explorer_is_a_lazy_attribute_of_the_package():
    assert jl.explorer.show is _server.show
