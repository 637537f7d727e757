"""Signs of life for the command line: a spinner while nothing else reports, then hand over.

A sweep first compiles (seconds, silent), then runs its chunks under jl.sweep's own progress
bar. `alive` shows a spinner with the elapsed time on a terminal from the start; the first time
anything else writes to stderr (the progress bar, a warning) the spinner clears its line and
stops, so the two never share a line. Off a terminal it prints nothing: logs stay clean.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

#: Seconds between spinner frames: fast enough to look alive, slow enough to cost nothing.
FRAME_SECONDS = 0.1
#: Silence shorter than this needs no spinner: "anything over about a second shows it is alive".
QUIET_SECONDS = 0.5
FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class _Handover(io.TextIOBase):
    """Stands in for stderr: the first foreign write stops the spinner, then passes through."""

    def __init__(self, stream: TextIO, spinner: "_Spinner"):
        self._stream, self._spinner = stream, spinner

    def write(self, text: str) -> int:
        self._spinner.stop()
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


class _Spinner:
    def __init__(self, stream: TextIO, message: str):
        self._stream, self._message = stream, message
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._shown = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        for frame in itertools.cycle(FRAMES):
            if self._stopped.wait(FRAME_SECONDS):
                return
            elapsed = time.monotonic() - start
            if elapsed < QUIET_SECONDS:
                continue
            with self._lock:
                if self._stopped.is_set():
                    return
                self._stream.write(f"\r{frame} {self._message} {elapsed:.1f} s")
                self._stream.flush()
                self._shown = True

    def stop(self) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
            if self._shown:
                self._stream.write("\r\033[K")  # clear the spinner's line for whoever follows
                self._stream.flush()


@contextlib.contextmanager
def alive(message: str, stream: TextIO | None = None) -> Iterator[None]:
    """Spin ``message`` and the elapsed seconds on ``stream`` (stderr) while the block runs.

    Only on a terminal; the spinner yields the line to the first other writer to stderr.
    """
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield
        return
    spinner = _Spinner(stream, message)
    previous, sys.stderr = sys.stderr, _Handover(stream, spinner)
    spinner._thread.start()
    try:
        yield
    finally:
        spinner.stop()
        sys.stderr = previous
