"""What an optimizer is to the engine: factory or transformation, elementwise or mixing, state size.

`check_optimizer` turns ``jl.sweep``'s ``optimizer`` and ``hyperparams`` into a transformation
to trace shapes with and ``{name: (C,) array}``; `optimizer_facts` traces it once (cached) to
learn whether it may get a point as a tuple of coordinates and how many numbers its state holds;
`optimizer_name`, `update_digest` and `function_digest` describe it for metadata and checkpoints.
"""
from __future__ import annotations

import hashlib
import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab.engine._cache import FACTS
from jaxopt_lab.engine._lanes import mixing_primitives


class OptimizerFacts(NamedTuple):
    """What one trace of an optimizer's update tells the planner."""

    takes_coordinates: bool  # may get a point as a tuple of scalars (its update is elementwise)
    state_size: int  # numbers of optimizer state per point


def check_optimizer(optimizer: Any, hyperparams: Mapping | None
                    ) -> tuple[optax.GradientTransformation, dict[str, np.ndarray]]:
    """(a transformation for shapes and types, {name: (C,) array}); raise on a bad combination."""
    if isinstance(optimizer, optax.GradientTransformation):
        if hyperparams:
            raise TypeError("hyperparams need optimizer to be a factory (e.g. optax.adam), got an "
                            "already built transformation")
        return optimizer, {}
    if not callable(optimizer):
        raise TypeError("optimizer must be an optax.GradientTransformation or a factory returning "
                        f"one, got {type(optimizer).__name__}")
    if not hyperparams or not isinstance(hyperparams, Mapping):
        raise TypeError("optimizer is a factory: pass hyperparams={name: (C,) array}, "
                        f"got hyperparams={hyperparams!r}")
    arrays = {str(name): np.asarray(value) for name, value in hyperparams.items()}
    lengths = {name: array.shape for name, array in arrays.items()}
    if any(len(shape) != 1 for shape in lengths.values()) or len(set(lengths.values())) != 1 \
            or next(iter(lengths.values()))[0] < 1:
        raise ValueError(f"hyperparams must be 1-D arrays of one common length C >= 1, got shapes "
                         f"{lengths}")
    try:
        inspect.signature(optimizer).bind(**arrays)
    except TypeError as error:
        raise TypeError(f"hyperparams {sorted(arrays)} do not fit optimizer factory "
                        f"{getattr(optimizer, '__name__', optimizer)!r}: {error}") from None
    except ValueError:  # no signature (builtins): let the call below decide
        pass
    # Built once with every value concretely: range checks see them all and report the name.
    probe = optimizer(**{name: array[0] for name, array in arrays.items()})
    optimizer(**arrays)
    if not isinstance(probe, optax.GradientTransformation):
        raise TypeError(f"optimizer factory must return an optax transformation, got {probe!r}")
    return probe, {name: arrays[name] for name in sorted(arrays)}


def _update_call(probe: optax.GradientTransformation, value_fn: Callable) -> Callable:
    """One update of ``probe`` at ``params`` as the kernel calls it (gradient = params)."""
    def one_update(params):
        kwargs = {}
        if isinstance(probe, optax.GradientTransformationExtraArgs):
            kwargs = dict(value=value_fn(params), grad=params, value_fn=value_fn)
        return probe.update(params, probe.init(params), params, **kwargs)

    return one_update


def _takes_coordinates(probe: optax.GradientTransformation, dim: int, dtype) -> bool:
    """Whether ``probe`` may get params as a tuple of scalars instead of a ``(dim,)`` vector.

    It must trace with them (some user code wants arrays), and its update must treat each
    element on its own: a per-leaf norm (LAMB's or LARS's trust ratio, a global-norm clip,
    Adafactor's factored moments) over one coordinate is not the same optimizer as over the
    point. The update is inspected with a constant ``value_fn``, so that using the loss
    (reduce-on-plateau) does not count, while a Hessian of it (Newton) still does.
    """
    point = tuple(jax.ShapeDtypeStruct((), dtype) for _ in range(dim))
    value_fn = lambda params: sum(jnp.sum(p) for p in params)
    constant = lambda params: jnp.zeros((), dtype)
    try:
        jax.eval_shape(_update_call(probe, value_fn), point)
        vector = jax.ShapeDtypeStruct((dim,), dtype)
        return not mixing_primitives(jax.make_jaxpr(_update_call(probe, constant))(vector))
    except Exception:  # any failure to trace means: give it the (dim,) array it expects
        return False


def optimizer_facts(optimizer: Any, probe: optax.GradientTransformation, names: tuple,
                    dim: int, dtype) -> OptimizerFacts:
    """`OptimizerFacts` of ``probe`` on ``(dim,)`` points, traced once per optimizer."""
    def trace() -> OptimizerFacts:
        state = jax.eval_shape(probe.init, jax.ShapeDtypeStruct((dim,), dtype))
        return OptimizerFacts(_takes_coordinates(probe, dim, dtype),
                              sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(state)))

    return FACTS.get(("facts", optimizer, names, dim, str(dtype)), trace)


def optimizer_name(optimizer: Any, probe: optax.GradientTransformation) -> str:
    """``module.qualname`` of the factory, or of a transformation's update function."""
    target = optimizer if not isinstance(optimizer, optax.GradientTransformation) else probe.update
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def update_digest(optimizer: Any, probe: optax.GradientTransformation,
                  hyperparams: Mapping[str, np.ndarray], dim: int, dtype) -> str | None:
    """SHA-256 of one update's jaxpr and its constants' values (a closure's learning-rate array
    is a constant: its text shows only its shape), or None if the update does not trace alone.

    A factory is traced as the kernel calls it, with its ``hyperparams`` as inputs: its jaxpr
    then says what it does with any value, not only with the first.
    """
    point = jax.ShapeDtypeStruct((dim,), dtype)
    try:
        if not hyperparams:
            return jaxpr_digest(jax.make_jaxpr(_update_call(probe, jnp.sum))(point))
        settings = {name: jax.ShapeDtypeStruct((), np.asarray(values).dtype)
                    for name, values in hyperparams.items()}
        built = lambda params, setting: _update_call(optimizer(**setting), jnp.sum)(params)
        return jaxpr_digest(jax.make_jaxpr(built)(point, settings))
    except Exception:  # an optimizer that needs more than a sum to trace: the caller says so
        return None


def function_digest(fn: Callable, dim: int, dtype) -> str | None:
    """SHA-256 of the jaxpr of ``fn``'s value and gradient at a ``(dim,)`` point, with its
    constants' values (so a custom derivative counts too), or None if ``fn`` does not trace."""
    try:
        traced = jax.make_jaxpr(jax.value_and_grad(fn))(jax.ShapeDtypeStruct((dim,), dtype))
    except Exception:  # not traceable by itself (it needs more than one point): None says so
        return None
    return jaxpr_digest(traced)


def jaxpr_digest(closed: Any) -> str:
    """SHA-256 of a closed jaxpr's text and of the bytes of every constant, nested ones too."""
    digest = hashlib.sha256(_ADDRESS.sub("", str(closed)).encode())
    for const in _consts(closed):
        array = np.ascontiguousarray(np.asarray(const))
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


#: Object addresses that a jaxpr's text may show (a Python callable in a parameter): they
#: differ between processes, and a checkpoint must be resumable from another process.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _consts(closed: Any) -> list:
    """The constants of ``closed`` and of every jaxpr nested in its equations' parameters."""
    found = list(getattr(closed, "consts", ()))
    jaxpr = getattr(closed, "jaxpr", closed)
    for equation in getattr(jaxpr, "eqns", ()):
        for value in equation.params.values():
            for item in value if isinstance(value, (tuple, list)) else (value,):
                if hasattr(item, "eqns") or hasattr(item, "consts"):
                    found.extend(_consts(item))
    return found
