"""Ctrl-C on the command line: stop at once, keep no partial output, never crash on the way out.

`install` makes SIGINT raise `KeyboardInterrupt` in the main thread and also remembers it, so an
interrupt that some library callback catches and drops is still honoured: `hold` raises it again
before any output is put in place. From `hold` on, the outputs are being renamed into place, and
a Ctrl-C only waits for that to finish (the command then exits 130 with everything written).
`exit_now` leaves through ``os._exit``: the interpreter's normal shutdown, with XLA's worker
threads still inside a computation, is what could crash after a Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, NoReturn

#: The exit code of a command stopped by SIGINT, as shells report it (128 + 2).
EXIT_CODE = 130

_requested = threading.Event()
_holding = threading.Event()


def _on_sigint(signum, frame) -> None:
    _requested.set()
    if not _holding.is_set():
        raise KeyboardInterrupt


def install() -> Any:
    """Route SIGINT through this module; returns the handler it replaced (for `uninstall`).

    Only the main thread may set a handler: elsewhere (a command run from a worker thread)
    nothing changes and None is returned.
    """
    _requested.clear()
    _holding.clear()
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, _on_sigint)


def uninstall(previous: Any) -> None:
    """Put back the handler that `install` replaced."""
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)


def requested() -> bool:
    """Whether Ctrl-C was pressed since `install`."""
    return _requested.is_set()


def hold() -> None:
    """Outputs are put in place from here on: raise now if Ctrl-C came, else let them finish."""
    if _requested.is_set():
        raise KeyboardInterrupt
    _holding.set()


def exit_now(message: str, code: int = EXIT_CODE) -> NoReturn:
    """Write ``message`` to stderr and end the process without the interpreter's shutdown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.write(sys.stderr.fileno(), (message.rstrip("\n") + "\n").encode())
    os._exit(code)
