"""Ctrl-C on the command line: stop at once, keep no partial output, never crash on the way out.

`install` makes SIGINT raise `KeyboardInterrupt` in the main thread and also remembers it, so an
interrupt that some library callback catches and drops is still honoured: `hold` raises it again
before any output is put in place. From `hold` on, the outputs are being renamed into place, and
a Ctrl-C only waits for that to finish (the command then exits 130 with everything written).
`exit_now` leaves through ``os._exit``: the interpreter's normal shutdown, with XLA's worker
threads still inside a computation, is what could crash after a Ctrl-C.

Before `install` can run, the package imports JAX (seconds). Python's own handler would raise
the `KeyboardInterrupt` wherever the main thread is, and during that import it is often one of
JAX's garbage-collection callbacks, which swallows it: the command then ran to the end as if no
key was pressed. So ``import jaxopt_lab`` calls `watch_import` first and `import_done` last:
in between, a Ctrl-C is only recorded, then raised at the end of the import in a program that
imports the package, or kept for `install` in the ``jaxopt-lab`` command.
"""
from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
from typing import Any, NoReturn

#: The exit code of a command stopped by SIGINT, as shells report it (128 + 2).
EXIT_CODE = 130

#: Seconds after a Ctrl-C swallowed by a garbage-collection callback to raise it again: a
#: collection takes milliseconds.
_RETRY_S = 0.05

_requested = threading.Event()
_holding = threading.Event()
_during_import = threading.Event()
_unraisable_before: Any = None


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
    if _during_import.is_set():  # pressed while the command was importing: honour it now
        _during_import.clear()
        _requested.set()
    if threading.current_thread() is not threading.main_thread():
        return None
    global _unraisable_before
    _unraisable_before, sys.unraisablehook = sys.unraisablehook, _on_unraisable
    return signal.signal(signal.SIGINT, _on_sigint)


def uninstall(previous: Any) -> None:
    """Put back the handler that `install` replaced."""
    global _unraisable_before
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)
        if _unraisable_before is not None:
            sys.unraisablehook, _unraisable_before = _unraisable_before, None


def _on_unraisable(unraisable: Any) -> None:
    # The KeyboardInterrupt of `_on_sigint` cannot leave a garbage-collection callback (JAX has
    # one): Python would print it as "Exception ignored" and go on. Mark SIGINT as arrived again
    # a moment later from another thread instead (marked from here, its handler would run at
    # once, inside this hook), so that it is raised once the collection is over.
    if issubclass(unraisable.exc_type, KeyboardInterrupt) and _requested.is_set():
        if not _holding.is_set():
            retry = threading.Timer(_RETRY_S, _thread.interrupt_main, (signal.SIGINT,))
            retry.daemon = True
            retry.start()
        return
    (_unraisable_before or sys.__unraisablehook__)(unraisable)


def requested() -> bool:
    """Whether Ctrl-C was pressed since `install`."""
    return _requested.is_set()


def stop_if_requested() -> None:
    """Raise `KeyboardInterrupt` if Ctrl-C was pressed (also while the command was importing)."""
    if _requested.is_set():
        raise KeyboardInterrupt


def hold() -> None:
    """Outputs are put in place from here on: raise now if Ctrl-C came, else let them finish."""
    if _requested.is_set():
        raise KeyboardInterrupt
    _holding.set()


def exit_now(message: str, code: int = EXIT_CODE) -> NoReturn:
    """Write ``message`` (if any) to stderr and end the process without the interpreter's
    shutdown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if message:
        os.write(sys.stderr.fileno(), (message.rstrip("\n") + "\n").encode())
    os._exit(code)


def finish(code: int) -> int:
    """End a finished command: in the ``jaxopt-lab`` process, at once through `exit_now` (the
    interpreter's shutdown takes a while with JAX loaded, and Python puts back the default
    SIGINT action for it, so a Ctrl-C then killed the finished command without a word);
    called from another program, return ``code``."""
    if _running_as_command():
        exit_now("", code)
    return code


def _on_sigint_while_importing(signum, frame) -> None:
    _during_import.set()


def _is_main_thread_with(handler: Any) -> bool:
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is handler)


def watch_import() -> None:
    """Record Ctrl-C instead of raising it, until `import_done`.

    Only where Python's default handler is in place, in the main thread: a handler of the
    program's own is left alone. In the ``jaxopt-lab`` command also where SIGINT came ignored
    (a job started in the background by a script), as `install` takes it over then too.
    """
    if _is_main_thread_with(signal.default_int_handler) or (
            _is_main_thread_with(signal.SIG_IGN) and _running_as_command()):
        signal.signal(signal.SIGINT, _on_sigint_while_importing)


def import_done() -> None:
    """End of ``import jaxopt_lab``: in the ``jaxopt-lab`` command, keep recording until
    `install`; elsewhere put Python's handler back and raise a Ctrl-C pressed meanwhile."""
    if not _is_main_thread_with(_on_sigint_while_importing) or _running_as_command():
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if _during_import.is_set():
        _during_import.clear()
        raise KeyboardInterrupt


def _running_as_command() -> bool:
    """Whether this process is the command line: its script, or ``python -m jaxopt_lab.cli``
    (Python names the program "-m" while it imports the module's package)."""
    program = sys.argv[0] if sys.argv else ""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return (program == "-m" or os.path.basename(program) == COMMAND
            or getattr(spec, "name", None) == "jaxopt_lab.cli")


#: The console script's name (pyproject.toml).
COMMAND = "jaxopt-lab"
