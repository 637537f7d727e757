"""Run the explorer: in the foreground (`serve`, the CLI command) or beside a notebook (`show`)."""
from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import time
import webbrowser

import jax
import uvicorn

from jaxopt_lab.explorer._app import create_app, warm_up
from jaxopt_lab.explorer._models import Limits

#: Compilations at least this long (seconds) are kept in jax's on-disk cache by `serve`.
CACHE_MIN_COMPILE_SECONDS = 0.1
#: Seconds `start_background` waits for the server to accept connections.
STARTUP_TIMEOUT = 30.0


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bound_socket(host: str, port: int) -> socket.socket:
    """A listening-ready socket on (host, port); port 0 takes a free one. Raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening at once: a browser opened on the printed URL waits in the backlog until the
        # app has started, instead of being refused.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def _server(limits: Limits, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(create_app(limits), log_level=log_level, access_log=False)
    return uvicorn.Server(config)


def use_compilation_cache(directory: str | None = None) -> str | None:
    """Keep compiled sweeps on disk (jax's persistent cache), unless jax already has a cache.

    Default ``$XDG_CACHE_HOME/jaxopt_lab/jax`` (``~/.cache/...``). Returns the directory in use.
    """
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    if directory is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        directory = os.path.join(base, "jaxopt_lab", "jax")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:  # a read-only home: run without the cache
        return None
    jax.config.update("jax_compilation_cache_dir", directory)
    # jax keeps only compilations over a second by default; the page's smaller ones (the
    # Hessian behind its closed forms) add up at start-up as well.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", CACHE_MIN_COMPILE_SECONDS)
    return directory


def serve(host: str = "127.0.0.1", port: int = 8000, *, open_browser: bool = False,
          limits: Limits = Limits(), log_level: str = "warning") -> None:
    """Serve the explorer until interrupted; print its URL (and open it with ``open_browser``).

    The page's first view is compiled in the background as the server starts.
    """
    if not _is_loopback(host):
        print(f"warning: serving on {host}: the explorer has no login; anyone who can reach "
              "this address can use it and its CPU time", file=sys.stderr)
    sock = _bound_socket(host, port)
    url = _url(sock)
    # The first view compiles while the browser opens; a second start loads it from jax's cache.
    threading.Thread(target=warm_up, args=(limits,), daemon=True, name="warm-up").start()
    print(f"jaxopt_lab explorer: {url}  (API: {url}docs; Ctrl-C stops)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    _server(limits, log_level).run(sockets=[sock])


def start_background(port: int = 0, *, host: str = "127.0.0.1", limits: Limits = Limits()
                     ) -> tuple[str, uvicorn.Server]:
    """Start the explorer in a daemon thread; return (URL, server) once it accepts connections.

    ``server.should_exit = True`` stops it.
    """
    sock = _bound_socket(host, port)
    url = _url(sock)
    server = _server(limits, "warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="jaxopt-lab-explorer")
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the explorer did not start on {url}")
        time.sleep(0.02)
    return url, server


_NOTEBOOK_SERVER: dict = {}


def show(query: str = "", *, height: int = 820, port: int = 0):
    """Start the explorer in the background (once per kernel) and show the page inline.

    ``query`` is a view's URL query (what the page's address bar shows after ``?``).
    """
    from IPython.display import IFrame

    if "url" not in _NOTEBOOK_SERVER:
        _NOTEBOOK_SERVER["url"], _NOTEBOOK_SERVER["server"] = start_background(port)
    url = _NOTEBOOK_SERVER["url"] + (f"?{query.lstrip('?')}" if query else "")
    return IFrame(url, width="100%", height=height)
