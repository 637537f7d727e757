"""The command line's spinner: shown on a terminal only, and it yields the line to others."""
import io
import sys
import time

from jaxopt_lab import _liveness


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_spinner_shows_elapsed_time_then_hands_the_line_to_a_progress_bar(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _liveness.alive("map: compiling", stream=terminal):
        time.sleep(_liveness.QUIET_SECONDS + 10 * _liveness.FRAME_SECONDS)  # margin for a busy CPU
        spun = terminal.getvalue()
        print("sweep: 1/4 chunks", file=sys.stderr)  # as tqdm writes: to sys.stderr
        time.sleep(3 * _liveness.FRAME_SECONDS)
    text = terminal.getvalue()
    assert "map: compiling" in spun and " s" in spun
    # after the foreign write the spinner cleared its line once and drew nothing more
    after = text.split("sweep: 1/4 chunks", 1)[1]
    assert "map: compiling" not in after
    assert text.index("\r\033[K") < text.index("sweep: 1/4 chunks")
    assert sys.stderr is terminal  # restored


def test_no_spinner_off_a_terminal():
    log = io.StringIO()
    with _liveness.alive("map: compiling", stream=log):
        time.sleep(_liveness.QUIET_SECONDS + 3 * _liveness.FRAME_SECONDS)
    assert log.getvalue() == ""
