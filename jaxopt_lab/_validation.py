"""Argument checks shared by the package: ranges of hyperparameters, counts, required extra args.

Range checks run only on concrete numbers (Python or NumPy scalars and arrays, concrete jax
arrays). A traced value (an optimizer built inside ``jax.vmap`` over learning rates) and a
schedule are accepted unchecked, so hyperparameters stay traceable. Counts (`check_int`) and
tolerances (`check_tolerance`) are structural, never traced: they must be plain numbers.
"""
from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np


def concrete_value(value: Any) -> np.ndarray | None:
    """``value`` as a NumPy array if it is a concrete number, else ``None`` (tracer, callable)."""
    if callable(value) or isinstance(value, jax.core.Tracer):
        return None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _interval_text(low: float, high: float, low_closed: bool, high_closed: bool) -> str:
    left = "[" if low_closed and low != -math.inf else "("
    right = "]" if high_closed and high != math.inf else ")"
    low_text = "-inf" if low == -math.inf else f"{low:g}"
    high_text = "inf" if high == math.inf else f"{high:g}"
    return f"{left}{low_text}, {high_text}{right}"


def check_in_range(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_closed: bool = True,
    high_closed: bool = True,
) -> None:
    """Raise ``ValueError("name must be in [low, high), got v")`` for a concrete value outside.

    >>> check_in_range("momentum", 1.2, 0.0, 1.0, high_closed=False)
    Traceback (most recent call last):
    ...
    ValueError: momentum must be in [0, 1), got 1.2
    >>> check_in_range("b2", np.array([0.9, 1.5]), 0.0, 1.0, high_closed=False)
    Traceback (most recent call last):
    ...
    ValueError: b2 must be in [0, 1), got 1.5
    """
    array = concrete_value(value)
    if array is None:
        return
    ok = np.isfinite(array) | ((array == high) & (high == math.inf))
    ok &= (array >= low) if low_closed else (array > low)
    ok &= (array <= high) if high_closed else (array < high)
    if not np.all(ok):
        bad = value if np.ndim(value) == 0 else np.asarray(value)[~ok].ravel()[0]
        # Python numbers as written; NumPy and jax scalars as their number, not np.float64(…).
        numpy_like = isinstance(bad, (np.generic, np.ndarray, jax.Array))
        shown = str(np.asarray(bad)) if numpy_like else repr(bad)
        interval = _interval_text(low, high, low_closed, high_closed)
        raise ValueError(f"{name} must be in {interval}, got {shown}")


def check_positive(name: str, value: Any) -> None:
    """``value > 0`` (learning rates, step sizes): ``ValueError`` naming ``name`` otherwise."""
    check_in_range(name, value, 0.0, math.inf, low_closed=False)


def check_learning_rate(learning_rate: Any) -> None:
    """A concrete learning rate must be > 0; ``None`` is refused too (optax reads it as "no
    scaling", which turns a descent direction into an ascent step). Schedules pass unchecked.

    >>> check_learning_rate(None)
    Traceback (most recent call last):
    ...
    ValueError: learning_rate must be in (0, inf), got None
    """
    if learning_rate is None:
        raise ValueError("learning_rate must be in (0, inf), got None")
    check_positive("learning_rate", learning_rate)


def check_decay(name: str, value: Any) -> None:
    """The decay rate of an EWMA (RMSProp's ρ, Adadelta's ρ) must be in (0, 1)."""
    check_in_range(name, value, 0.0, 1.0, low_closed=False, high_closed=False)


def check_nonnegative(name: str, value: Any) -> None:
    """``value >= 0`` (eps, eps_root, weight decay)."""
    check_in_range(name, value, 0.0, math.inf)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """A structural string argument must be one of ``choices``.

    >>> check_choice("form", "nope", ("velocity", "ewma"))
    Traceback (most recent call last):
    ...
    ValueError: form must be one of 'velocity', 'ewma', got 'nope'
    """
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def check_int(name: str, value: Any, low: int, high: float = math.inf) -> int:
    """``value`` as an ``int`` if it is an integer in ``[low, high]``, else ``ValueError``.

    Counts (steps, points, units, examples) shape arrays and loops, so they must be exact
    integers: Python or NumPy ints. Bools are refused (``True`` is an ``int`` to Python, but
    ``num_steps=True`` is a mistake) and so are floats, even whole ones (``2.0`` usually means a
    float was passed where a count belongs).

    >>> check_int("num_points", 3, 1)
    3
    >>> check_int("num_points", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: num_points must be an integer in [1, inf], got 0
    >>> check_int("num_samples", 2000, 1, 1797)
    Traceback (most recent call last):
    ...
    ValueError: num_samples must be an integer in [1, 1797], got 2000
    >>> check_int("num_steps", True, 1)
    Traceback (most recent call last):
    ...
    ValueError: num_steps must be an integer in [1, inf], got True
    """
    is_integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_integer or not low <= value <= high:
        high_text = "inf" if high == math.inf else str(high)
        raise ValueError(f"{name} must be an integer in [{low}, {high_text}], got {value!r}")
    return int(value)


def check_tolerance(name: str, value: Any, default: float) -> float:
    """``value`` (``default`` if ``None``) as a ``float`` if it is a number in ``[0, inf)``.

    For stopping tolerances and radii: zero is allowed (never stop on this test), NaN and bools
    are refused, and the result is a plain float so it can be a static argument.

    >>> check_tolerance("gtol", None, 1e-8)
    1e-08
    >>> check_tolerance("xtol", -1.0, 1e-8)
    Traceback (most recent call last):
    ...
    ValueError: xtol must be a number in [0, inf), got -1.0
    """
    value = default if value is None else value
    is_number = isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, bool)
    if not is_number or not value >= 0:  # `not >=` also refuses NaN
        raise ValueError(f"{name} must be a number in [0, inf), got {value!r}")
    return float(value)


def require_extra_arg(name: str, value: Any, optimizer: str) -> Any:
    """Return ``value``; if it is ``None``, raise a ``TypeError`` that shows how to supply it.

    >>> require_extra_arg("value_fn", None, "newton")
    Traceback (most recent call last):
    ...
    TypeError: newton needs the extra arg `value_fn`: call `tx.update(grads, state, params, value_fn=loss_fn)` (jl.sweep passes it for you)
    """
    if value is None:
        example = {
            "value": "value=loss_fn(params)",
            "grad": "grad=grads",
            "value_fn": "value_fn=loss_fn",
        }.get(name, f"{name}=...")
        raise TypeError(
            f"{optimizer} needs the extra arg `{name}`: call "
            f"`tx.update(grads, state, params, {example})` (jl.sweep passes it for you)"
        )
    return value
