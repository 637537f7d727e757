"""Reading the command line's words: numbers, KEY=VALUE settings, ranges, points, output paths.

Every parser here raises `UsageError` with a message that names the flag and what it allows;
the command turns it into one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import inspect
import math
import os
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np


class UsageError(Exception):
    """A bad command-line argument: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    # argparse prints the whole usage block before the error; one line is easier to read and grep.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


def int_at_least(name: str, low: int) -> Callable[[str], int]:
    """An argparse ``type`` for integers >= ``low``, its error naming ``name``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {value}")
        return value

    return parse


def parse_value(text: str) -> Any:
    """``"true"`` → True, ``"3"`` → 3, ``"0.1"`` → 0.1, anything else stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def split_pair(flag: str, pair: str) -> tuple[str, str]:
    key, sep, text = pair.partition("=")
    if not sep or not key or not text:
        raise UsageError(f"argument {flag}: expected KEY=VALUE (e.g. learning_rate=0.1), "
                         f"got {pair!r}")
    return key, text


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``["learning_rate=0.1", "form=ewma"]`` -> ``{"learning_rate": 0.1, "form": "ewma"}``.

    >>> parse_params(["learning_rate=0.1", "momentum=0.5", "form=ewma", "saddle_free=true"])
    {'learning_rate': 0.1, 'momentum': 0.5, 'form': 'ewma', 'saddle_free': True}
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, text = split_pair("--param", pair)
        params[key] = parse_value(text)
    return params


def check_param_kinds(factory: Callable, params: dict[str, Any]) -> None:
    """A word is allowed only where the factory's default is a word (``form``, ``variant``)."""
    signature = inspect.signature(factory).parameters
    for key, value in params.items():
        default = signature[key].default if key in signature else None
        if isinstance(value, str) and not isinstance(default, str):
            raise UsageError(f"argument --param: {key} must be a number, got {value!r}")


class Axis(NamedTuple):
    """One hyperparameter axis of a grid: ``num`` values from ``start`` to ``stop``."""

    name: str
    start: float
    stop: float
    num: int
    log: bool

    def values(self) -> np.ndarray:
        if self.log:
            return np.geomspace(self.start, self.stop, self.num)
        return np.linspace(self.start, self.stop, self.num)

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "stop": self.stop, "num": self.num, "log": self.log}


RANGE_HELP = "KEY=START:STOP:N (linear) or KEY=START:STOP:logN (geometric), N >= 2"


def parse_axis(pair: str) -> Axis | None:
    """``"b1=0:0.99:64"`` → an `Axis`; ``"b2=0.999"`` (no colon) → None: a fixed value.

    >>> parse_axis("learning_rate=1e-4:1:log64")
    Axis(name='learning_rate', start=0.0001, stop=1.0, num=64, log=True)
    >>> parse_axis("b1=0:0.99:1")
    Traceback (most recent call last):
    ...
    jaxopt_lab._cli_args.UsageError: argument --param: b1=0:0.99:1: expected KEY=START:STOP:N (linear) or KEY=START:STOP:logN (geometric), N >= 2
    """
    key, text = split_pair("--param", pair)
    if ":" not in text:
        return None
    parts = text.split(":")
    try:
        start, stop = float(parts[0]), float(parts[1])
        log = parts[2].lower().startswith("log") if len(parts) == 3 else False
        num = int(parts[2][3:] if log else parts[2])
        assert len(parts) == 3 and num >= 2 and math.isfinite(start) and math.isfinite(stop)
    except (ValueError, IndexError, AssertionError):
        raise UsageError(f"argument --param: {pair}: expected {RANGE_HELP}") from None
    if log and (start <= 0 or stop <= 0):
        raise UsageError(f"argument --param: {pair}: a log range needs START > 0 and STOP > 0")
    if start == stop:
        raise UsageError(f"argument --param: {pair}: START and STOP must differ")
    return Axis(key, start, stop, num, log)


def parse_point(flag: str, text: str, dim: int, bounds) -> tuple[float, ...]:
    """``"-1,1"`` → (-1.0, 1.0), checked against the surface's dimension and box."""
    try:
        point = tuple(float(x) for x in text.split(","))
    except ValueError:
        point = ()
    if len(point) != dim or not all(map(math.isfinite, point)):
        raise UsageError(f"argument {flag}: expected {dim} comma-separated numbers "
                         f"(e.g. {','.join(['0.5'] * dim)}), got {text!r}")
    for x, (low, high) in zip(point, bounds):
        if not low <= x <= high:
            box = " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in bounds)
            raise UsageError(f"argument {flag}: {text} lies outside the surface's box {box}")
    return point


def check_output_path(flag: str, path: str, suffixes: tuple[str, ...]) -> None:
    """``path`` ends in one of ``suffixes`` (or is ``-`` where ``-`` is one) in a directory
    that exists."""
    if path == "-" and "-" in suffixes:
        return
    endings = tuple(suffix for suffix in suffixes if suffix != "-")
    if not path.lower().endswith(endings):
        allowed = " or ".join(f"'{s}'" if s == "-" else s for s in suffixes)
        raise UsageError(f"argument {flag}: file name must end in {allowed}, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"argument {flag}: directory {directory!r} does not exist")
