"""Ctrl-C while the package imports: recorded, then raised at the end of the import (a program)
or kept for the command line's handler. The whole command is exercised in test_cli.py."""
import os
import signal
import sys
import threading
import time

import pytest

from jaxopt_lab import _interrupt

#: Seconds for a signal sent to this process to reach its Python handler (it runs between two
#: bytecodes of the main thread, at once in practice).
DELIVERY_S = 0.5

pytestmark = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                reason="signal handlers are set in the main thread only")


def _press_ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.monotonic() + DELIVERY_S
    while not _interrupt._during_import.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def default_handler():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
    _interrupt._during_import.clear()


def test_ctrl_c_during_the_import_of_a_program_is_raised_when_it_ends(default_handler,
                                                                      monkeypatch):
    monkeypatch.setattr(sys, "argv", ["a_program.py"])
    _interrupt.watch_import()
    _press_ctrl_c()  # recorded, not raised where it landed
    with pytest.raises(KeyboardInterrupt):
        _interrupt.import_done()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("program", ["-m", "/usr/local/bin/jaxopt-lab"])
def test_ctrl_c_during_the_import_of_the_command_is_kept_for_its_handler(default_handler,
                                                                         monkeypatch, program):
    monkeypatch.setattr(sys, "argv", [program])
    _interrupt.watch_import()
    _interrupt.import_done()  # the command's own handler is not in place yet: keep recording
    _press_ctrl_c()
    previous = _interrupt.install()
    try:
        assert _interrupt.requested()
        with pytest.raises(KeyboardInterrupt):
            _interrupt.stop_if_requested()
    finally:
        _interrupt.uninstall(previous)


@pytest.mark.parametrize("program, watched", [("a_program.py", False), ("-m", True)])
def test_an_ignored_ctrl_c_stays_ignored_but_in_the_command(monkeypatch, program, watched):
    monkeypatch.setattr(sys, "argv", [program])
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _interrupt.watch_import()
        assert (signal.getsignal(signal.SIGINT) is not signal.SIG_IGN) == watched
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_handler_of_the_program_is_left_alone(monkeypatch):
    own = lambda signum, frame: None
    previous = signal.signal(signal.SIGINT, own)
    try:
        _interrupt.watch_import()
        assert signal.getsignal(signal.SIGINT) is own
        _interrupt.import_done()
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_swallowed_by_a_gc_callback_is_raised_again_outside_it(capfd):
    import gc

    def raise_in_callback(phase, info):  # as Python's handler does when the signal lands here
        if phase == "start":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(DELIVERY_S)  # the handler runs, and its exception is swallowed here

    hook = sys.unraisablehook
    previous = _interrupt.install()
    gc.callbacks.append(raise_in_callback)
    try:
        with pytest.raises(KeyboardInterrupt):
            gc.collect()
            time.sleep(DELIVERY_S)  # the signal sent again is raised here, outside the callback
    finally:
        gc.callbacks.remove(raise_in_callback)
        _interrupt.uninstall(previous)
    assert sys.unraisablehook is hook
    assert "Exception ignored" not in capfd.readouterr().err  # no report of the swallowed one
