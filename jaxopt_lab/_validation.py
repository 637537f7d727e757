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
import optax


def concrete_value(
    value: Any, name: str = "value", *, allow_schedule: bool = False
) -> np.ndarray | None:
    """``value`` as a float NumPy array if it is a concrete number, else ``None`` (tracer,
    callable).

    Anything else that JAX would only reject at the first update is refused here, naming
    ``name``: strings, lists and tuples (``jnp.asarray`` them first), ``None``, bools, complex
    numbers (their imaginary part would be dropped) and non-numeric arrays.

    >>> concrete_value("0.1", "learning_rate")
    Traceback (most recent call last):
    ...
    TypeError: learning_rate must be a real number or a real array, got str '0.1'
    >>> concrete_value(np.array([1 + 2j]), "momentum")
    Traceback (most recent call last):
    ...
    TypeError: momentum must be a real number or a real array, got a complex128 array
    """
    if isinstance(value, jax.core.Tracer) or (allow_schedule and callable(value)):
        return None
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        kind = np.dtype(value.dtype).kind
        if kind not in "iuf" and np.dtype(value.dtype) != jax.numpy.bfloat16:
            raise TypeError(f"{name} must be a real number or a real array, "
                            f"got a {np.dtype(value.dtype).name} array")
        return np.asarray(value, dtype=float)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise TypeError(f"{name} must be a real number or a real array, "
                        f"got {type(value).__name__} {shown}")
    if isinstance(value, int):
        # JAX turns a Python int into its default integer type and overflows beyond it.
        limits = np.iinfo(jax.dtypes.canonicalize_dtype(np.int64))
        if not limits.min <= value <= limits.max:
            digits = len(str(abs(value)))
            raise ValueError(f"{name} must be a float or an integer in [{limits.min}, "
                             f"{limits.max}] (JAX's default integers), got an integer of "
                             f"{digits} digits; pass it as a float")
    return np.asarray(value, dtype=float)


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
    allow_schedule: bool = False,
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
    array = concrete_value(value, name, allow_schedule=allow_schedule)
    if array is None:
        return
    # Infinity is never in range: every interval here is written with an open "inf)".
    ok = np.isfinite(array)
    ok &= (array >= low) if low_closed else (array > low)
    ok &= (array <= high) if high_closed else (array < high)
    if not np.all(ok):
        bad = value if np.ndim(value) == 0 else np.asarray(value)[~ok].ravel()[0]
        # Python numbers as written; NumPy and jax scalars as their number, not np.float64(…).
        numpy_like = isinstance(bad, (np.generic, np.ndarray, jax.Array))
        shown = str(np.asarray(bad)) if numpy_like else repr(bad)
        if len(shown) > 40:  # a Python int of hundreds of digits
            shown = f"an integer of {len(shown.lstrip('-'))} digits"
        interval = _interval_text(low, high, low_closed, high_closed)
        raise ValueError(f"{name} must be in {interval}, got {shown}")


def check_positive(name: str, value: Any) -> None:
    """``value > 0`` (learning rates, step sizes): ``ValueError`` naming ``name`` otherwise."""
    check_in_range(name, value, 0.0, math.inf, low_closed=False, high_closed=False)


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
    check_in_range("learning_rate", learning_rate, 0.0, math.inf, low_closed=False,
                   high_closed=False, allow_schedule=True)


def check_decay(name: str, value: Any) -> None:
    """The decay rate of an EWMA (RMSProp's ρ, Adadelta's ρ) must be in (0, 1)."""
    check_in_range(name, value, 0.0, 1.0, low_closed=False, high_closed=False)


def check_nonnegative(name: str, value: Any) -> None:
    """``value >= 0`` (eps, eps_root, weight decay)."""
    check_in_range(name, value, 0.0, math.inf, high_closed=False)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """A structural string argument must be one of ``choices``.

    >>> check_choice("form", "nope", ("velocity", "ewma"))
    Traceback (most recent call last):
    ...
    ValueError: form must be one of 'velocity', 'ewma', got 'nope'
    """
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def check_bool(name: str, value: Any) -> bool:
    """A structural switch must be a bool (``0``/``1`` or ``"False"`` are mistakes, not flags).

    >>> check_bool("lookahead", "False")
    Traceback (most recent call last):
    ...
    TypeError: lookahead must be True or False, got 'False'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def real_array(name: str, value: Any, *, finite: bool = True) -> np.ndarray:
    """``value`` (a number, nested sequence or array of reals) as a float64 NumPy array.

    Strings, ``None``, bools, complex numbers and ragged or object arrays raise ``TypeError``
    naming ``name``; NaN or ±inf raise ``ValueError`` unless ``finite=False``; so does an integer
    too large for float64. Shapes are the caller's to check.

    >>> real_array("center", [1, 2]).tolist()
    [1.0, 2.0]
    >>> real_array("center", [1j, 2])
    Traceback (most recent call last):
    ...
    TypeError: center must be real numbers, got complex values
    >>> real_array("bounds", [[0.0, float("nan")]])
    Traceback (most recent call last):
    ...
    ValueError: bounds must be finite numbers, got [[0.0, nan]]
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be real numbers, got {type(value).__name__} {value!r}")
    try:
        try:
            array = np.asarray(value)
        except OverflowError:  # Python ints beyond int64 beside floats
            array = np.asarray(value, dtype=object)
    except ValueError:  # ragged nesting
        raise TypeError(f"{name} must be real numbers in a regular (rectangular) nesting, "
                        f"got {_short(value)}") from None
    if array.dtype == object and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                     for x in array.ravel()):
        # Python ints beyond int64: representable only as floats, which may overflow to inf.
        array = np.asarray([_as_float(x) for x in array.ravel()]).reshape(array.shape)
    kind = array.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real numbers, got complex values")
    if kind not in "iuf" and array.dtype != jax.numpy.bfloat16:
        described = "bools" if kind == "b" else f"{array.dtype.name} values"
        raise TypeError(f"{name} must be real numbers, got {described}")
    array = array.astype(np.float64)
    if finite and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers, got {_short(array.tolist())}")
    return array


def _as_float(number: int | float) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
    # No array has more than int64 elements along an axis: a larger count is a mistake.
    high = min(high, np.iinfo(np.int64).max)
    if not is_integer or not low <= value <= high:
        high_text = "inf" if high == np.iinfo(np.int64).max else str(high)
        raise ValueError(f"{name} must be an integer in [{low}, {high_text}], got {value!r}")
    return int(value)


def check_tolerance(name: str, value: Any, default: float) -> float:
    """``value`` (``default`` if ``None``) as a ``float`` if it is a finite number >= 0.

    For stopping tolerances and radii: zero is allowed (never stop on this test); NaN, ±inf
    (an infinite tolerance would stop every point at step 0) and bools are refused, and the
    result is a plain float so it can be a static argument.

    >>> check_tolerance("gtol", None, 1e-8)
    1e-08
    >>> check_tolerance("xtol", -1.0, 1e-8)
    Traceback (most recent call last):
    ...
    ValueError: xtol must be a number in [0, inf), got -1.0
    >>> check_tolerance("gtol", float("inf"), 1e-8)
    Traceback (most recent call last):
    ...
    ValueError: gtol must be a number in [0, inf), got inf
    """
    value = default if value is None else value
    is_number = isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, bool)
    # `not >=` also refuses NaN; a Python int too large for a float is refused as infinite.
    if not is_number or not value >= 0 or not math.isfinite(_as_float(value)):
        raise ValueError(f"{name} must be a number in [0, inf), got {_short(value)}")
    return float(value)


def check_shapes_at_init(
    transformation: optax.GradientTransformation,
    *,
    elementwise: bool = True,
    **hyperparameters: Any,
) -> optax.GradientTransformation:
    """``transformation`` whose ``init`` first checks the shapes of array hyperparameters.

    Only ``init`` sees the parameters, so a per-coordinate learning rate of the wrong shape can
    be caught no earlier; without this it fails inside JAX at the first update. With
    ``elementwise`` every array must broadcast to each parameter leaf (a per-coordinate value);
    otherwise (second-order methods, which act on the flattened parameters) each must be a
    scalar. The update is untouched, and so is the state.

    >>> import jax.numpy as jnp
    >>> tx = check_shapes_at_init(optax.scale_by_learning_rate(1.0),
    ...                           learning_rate=jnp.ones(3))
    >>> tx.init(jnp.zeros(2))
    Traceback (most recent call last):
    ...
    ValueError: learning_rate has shape (3,), which does not broadcast to a parameter of shape (2,): ...
    """
    shapes = {name: tuple(np.shape(value)) for name, value in hyperparameters.items()
              if value is not None and not callable(value) and np.ndim(value) > 0}
    if not shapes:
        return transformation

    def init_fn(params: optax.Params):
        for leaf in jax.tree.leaves(params):
            leaf_shape = tuple(np.shape(leaf))
            for name, shape in shapes.items():
                if not elementwise:
                    raise ValueError(f"{name} must be a scalar (this optimizer acts on all "
                                     f"parameters at once), got an array of shape {shape}")
                if not _broadcasts_to(shape, leaf_shape):
                    raise ValueError(
                        f"{name} has shape {shape}, which does not broadcast to a parameter of "
                        f"shape {leaf_shape}: pass a number, or an array of a shape that "
                        "broadcasts to every parameter")
        return transformation.init(params)

    return type(transformation)(init_fn, transformation.update)


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


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
