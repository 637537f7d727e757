"""Run a per-point function on a block of points as elementwise operations on lanes.

A fused GPU kernel (`jaxopt_lab.engine._fused`) holds a block of B points in registers, one
``(B,)`` vector ("lanes") per number of a point's state, and may only use elementwise arithmetic:
GPU kernel compilers (Triton, Mosaic) have no rules for the slices, pads, stacks and small
reductions that ``jax.grad`` of ``f(x) = (1 - x[0])**2 + ...`` or a ``(dim,)`` optimizer update
produce. `call` evaluates the jaxpr of a function written for *one* point, with every array of
that jaxpr split into its elements: a ``(dim,)`` gradient becomes ``dim`` lane vectors, a slice
picks elements, a pad inserts constants, a sum over ``dim`` becomes ``dim - 1`` additions, a
``dot_general`` its products and sums. Only elementwise primitives reach the kernel.

An element is one of three things, so that work common to all points is done once per block:

- a NumPy scalar: a constant known while tracing (literals, iota, zeros of an optimizer's init);
  constant-only arithmetic is folded, and slice or gather indices stay static;
- a ``()`` jax value: the same for every point (a step counter, Adam's bias correction
  ``1 - β₁ᵗ``, a hyperparameter): computed once per step, not once per point;
- a ``(B,)`` jax value: one number per point.

The result is exactly the function's per-point semantics (the jaxpr is evaluated as written, in
the same order); only primitives without an elementwise meaning (linear solves, loops with a data
dependent trip count, sorting) are refused with `NotElementwise`, naming the primitive; ``eigh``
is evaluated in closed form for 2×2 matrices.

>>> import jax.numpy as jnp, numpy as np
>>> f = lambda x: jnp.sum(x**2) + x[0] * x[1]
>>> points = jnp.array([[1.0, 2.0], [3.0, 4.0]])       # two points (rows) in 2-D
>>> x = Lanes.of(points.T)                                # coordinates first, points last
>>> value = call(f, x)
>>> value.elements[()].tolist()                           # [1 + 4 + 1*2, 9 + 16 + 3*4]
[7.0, 37.0]
"""
from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import core as jex_core

__all__ = ["Lanes", "NotElementwise", "call", "mixing_primitives", "trace"]


class NotElementwise(TypeError):
    """A function whose per-point jaxpr uses a primitive with no elementwise evaluation."""


@jax.tree_util.register_pytree_node_class
class Lanes:
    """A per-point array of ``shape`` and ``dtype`` held as its elements (see the module doc).

    As a pytree its children are the elements, so a ``lax.fori_loop`` carries lane vectors.
    """

    def __init__(self, elements: np.ndarray, dtype):
        self.elements = elements
        self.dtype = np.dtype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.elements.shape

    @classmethod
    def of(cls, array: jax.Array) -> Lanes:
        """Split ``array`` of shape ``shape + (B,)`` (points last) into lanes of ``shape``."""
        array = jnp.asarray(array)
        elements = np.empty(array.shape[:-1], dtype=object)
        for index in np.ndindex(elements.shape):
            elements[index] = array[index]
        return cls(elements, array.dtype)

    @classmethod
    def uniform(cls, value: Any, dtype=None) -> Lanes:
        """The same ``()`` value (or array of them) for every point."""
        value = jnp.asarray(value, dtype)
        elements = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            # A () value is used as it is: inside a GPU kernel even value[()] may not lower.
            elements[index] = value[index] if value.ndim else value
        return cls(elements, value.dtype)

    @classmethod
    def from_elements(cls, elements: list | Any, dtype) -> Lanes:
        """A ``(len(elements),)`` per-point vector from a list of elements, or a ``()`` one from
        a single element (each a NumPy constant, a ``()`` or a ``(B,)`` jax value)."""
        if not isinstance(elements, list):
            array = np.empty((), dtype=object)
            array[()] = elements
            return cls(array, dtype)
        array = np.empty(len(elements), dtype=object)
        for index, element in enumerate(elements):  # one by one: NumPy would convert arrays
            array[index] = element
        return cls(array, dtype)

    def map(self, fn: Callable) -> Lanes:
        elements = np.empty(self.shape, dtype=object)
        for index in np.ndindex(self.shape):
            elements[index] = fn(self.elements[index])
        return Lanes(elements, self.dtype)

    def stacked(self, num_lanes: int) -> jax.Array:
        """The array ``shape + (num_lanes,)``, uniform elements broadcast over the lanes."""
        rows = [_as_lanes(self.elements[index], self.dtype, num_lanes)
                for index in np.ndindex(self.shape)]
        if not rows:
            return jnp.zeros(self.shape + (num_lanes,), self.dtype)
        return jnp.stack(rows).reshape(self.shape + (num_lanes,))

    def tree_flatten(self):
        return list(self.elements.reshape(-1)), (self.shape, self.dtype.str)

    @classmethod
    def tree_unflatten(cls, aux, children):
        shape, dtype = aux
        flat = cls.from_elements(list(children), dtype).elements
        return cls(flat.reshape(shape), dtype)

    def __repr__(self) -> str:
        return f"Lanes(shape={self.shape}, dtype={self.dtype})"


def _as_lanes(element, dtype, num_lanes: int) -> jax.Array:
    value = jnp.asarray(element, dtype)
    return value if value.shape == (num_lanes,) else jnp.broadcast_to(value, (num_lanes,))


def _is_constant(element) -> bool:
    return isinstance(element, (np.generic, np.ndarray, int, float, bool))


# Primitives that act on each element independently (same-shape operands, or a scalar literal).
_ELEMENTWISE = frozenset([
    "abs", "acos", "acosh", "add", "add_any", "and", "asin", "asinh", "atan", "atan2", "atanh",
    "cbrt", "ceil", "clamp", "convert_element_type", "copy", "copy_p", "cos", "cosh",
    "digamma", "div", "eq", "erf", "erf_inv", "erfc", "exp", "exp2", "expm1", "floor", "ge",
    "gt", "igamma", "integer_pow", "is_finite", "le", "lgamma", "log", "log1p", "logistic",
    "lt", "max", "min", "mul", "ne", "neg", "nextafter", "not", "or", "pow",
    "reduce_precision", "rem", "round", "rsqrt", "select_n", "shift_left",
    "shift_right_arithmetic", "shift_right_logical", "sign", "sin", "sinh", "sqrt", "square",
    "sub", "tan", "tanh", "xor",
])
# Primitives that only say where a value lives; per point they are the identity.
_IDENTITY = frozenset([
    "optimization_barrier", "sharding_constraint", "mesh_cast", "reshard", "pvary",
])
_REDUCERS = {"reduce_sum": lax.add_p, "reduce_max": lax.max_p, "reduce_min": lax.min_p,
             "reduce_prod": lax.mul_p, "reduce_and": lax.and_p, "reduce_or": lax.or_p}


#: Set by `call(..., reciprocal_division=True)`: see there.
_RECIPROCAL_DIVISION = contextvars.ContextVar("reciprocal_division", default=False)


def _bind(primitive, dtypes: list, elements: list, params: dict):
    """One elementwise primitive on one element of each operand."""
    if primitive.name == "div" and _RECIPROCAL_DIVISION.get() and np.ndim(elements[1]) == 0 \
            and np.ndim(elements[0]) == 1 and jnp.issubdtype(dtypes[1], jnp.floating):
        # A lane vector over a value shared by the block: one division per block, then a
        # multiplication per lane.
        reciprocal = _bind(lax.div_p, [dtypes[1], dtypes[1]],
                           [np.ones((), dtypes[1])[()], elements[1]], {})
        return _bind(lax.mul_p, dtypes, [elements[0], reciprocal], {})
    if primitive.name in ("add", "add_any", "sub") and len(elements) == 2:
        # Zeros that pad(...) and the transposes of slices leave behind: x + 0 is x.
        other, zero = elements
        if _is_constant(zero) and np.all(np.asarray(zero) == 0) and not _is_constant(other):
            return other
        if primitive.name != "sub" and _is_constant(other) and np.all(np.asarray(other) == 0) \
                and not _is_constant(zero):
            return zero
    if primitive.name == "is_finite" and not _is_constant(elements[0]):
        # |x| < inf: false for ±inf and NaN. Some jax versions' Triton lowering has no is_finite.
        magnitude = _bind(lax.abs_p, dtypes, elements, {})
        return _bind(lax.lt_p, [dtypes[0], dtypes[0]],
                     [magnitude, np.asarray(np.inf, dtypes[0])[()]], {})
    if primitive.name == "add_any":
        primitive = lax.add_p
    if primitive.name == "select_n" and _is_constant(elements[0]):
        return elements[1 + int(np.asarray(elements[0]))]
    if all(_is_constant(element) for element in elements):
        with jax.ensure_compile_time_eval():
            result = primitive.bind(*[jnp.asarray(e, d) for e, d in zip(elements, dtypes)],
                                    **params)
        return np.asarray(result)[()]
    shapes = {jnp.shape(element) for element in elements}
    lanes = max(shapes, key=len)
    operands = [jnp.broadcast_to(jnp.asarray(element, dtype), lanes)
                for element, dtype in zip(elements, dtypes)]
    return primitive.bind(*operands, **params)


def _elementwise(primitive, operands: list[Lanes], out_aval, params: dict) -> Lanes:
    shape = tuple(out_aval.shape)
    broadcast = [np.broadcast_to(operand.elements, shape) for operand in operands]
    dtypes = [operand.dtype for operand in operands]
    elements = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        elements[index] = _bind(primitive, dtypes, [b[index] for b in broadcast], params)
    return Lanes(elements, out_aval.dtype)


def _fold(primitive, dtype, elements: list):
    total = elements[0]
    for element in elements[1:]:
        total = _bind(primitive, [dtype, dtype], [total, element], {})
    return total


def _reduce(primitive, operand: Lanes, axes, dtype) -> Lanes:
    kept = [axis for axis in range(operand.elements.ndim) if axis not in axes]
    moved = np.transpose(operand.elements, kept + list(axes))
    out_shape = moved.shape[:len(kept)]
    rows = moved.reshape(out_shape + (-1,))
    elements = np.empty(out_shape, dtype=object)
    for index in np.ndindex(out_shape):
        elements[index] = _fold(primitive, dtype, list(rows[index]))
    return Lanes(elements, dtype)


def _pad(operand: Lanes, padding_value: Lanes, config) -> Lanes:
    array = operand.elements
    fill = padding_value.elements[()]
    sizes = [lo + hi + n + max(n - 1, 0) * interior
             for (lo, hi, interior), n in zip(config, array.shape)]
    if any(size < 0 for size in sizes):
        raise NotElementwise(f"pad with a negative size {sizes}")
    out = np.empty(sizes, dtype=object)
    out.fill(fill)
    positions = []
    for (lo, _, interior), n, size in zip(config, array.shape, sizes):
        where = lo + np.arange(n) * (interior + 1)
        positions.append(where)
    for index in np.ndindex(array.shape):
        target = tuple(int(p[i]) for p, i in zip(positions, index))
        if all(0 <= t < size for t, size in zip(target, sizes)):
            out[target] = array[index]
    return Lanes(out, operand.dtype)


def _dot_general(lhs: Lanes, rhs: Lanes, dimension_numbers, out_aval) -> Lanes:
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    lhs_free = [d for d in range(lhs.elements.ndim) if d not in (*lhs_contract, *lhs_batch)]
    rhs_free = [d for d in range(rhs.elements.ndim) if d not in (*rhs_contract, *rhs_batch)]
    left = np.transpose(lhs.elements, [*lhs_batch, *lhs_free, *lhs_contract])
    right = np.transpose(rhs.elements, [*rhs_batch, *rhs_free, *rhs_contract])
    batch = left.shape[:len(lhs_batch)]
    left_free = left.shape[len(batch):len(batch) + len(lhs_free)]
    right_free = right.shape[len(batch):len(batch) + len(rhs_free)]
    left = left.reshape(batch + left_free + (-1,))
    right = right.reshape(batch + right_free + (-1,))
    dtype = out_aval.dtype
    out = np.empty(batch + left_free + right_free, dtype=object)
    convert = functools.partial(_convert, dtype=dtype)
    for b in np.ndindex(batch):
        for i in np.ndindex(left_free):
            for j in np.ndindex(right_free):
                products = [_bind(lax.mul_p, [dtype, dtype], [convert(x, lhs.dtype),
                                                              convert(y, rhs.dtype)], {})
                            for x, y in zip(left[b + i], right[b + j])]
                out[b + i + j] = _fold(lax.add_p, dtype, products) if products else np.zeros(
                    (), dtype)[()]
    return Lanes(out, dtype)


def _convert(element, source, dtype):
    if np.dtype(source) == np.dtype(dtype):
        return element
    return _bind(lax.convert_element_type_p, [source], [element],
                 {"new_dtype": np.dtype(dtype), "weak_type": False, "sharding": None})


def _symmetric_2x2(a, b, c):
    """Eigenvalues (ascending) and rotation of [[a, b], [b, c]], in elementwise operations.

    λ = (a + c)/2 ∓ √(((a − c)/2)² + b²); the larger one's eigenvector is (cos θ, sin θ) with
    θ = ½·atan2(b, (a − c)/2), the smaller one's (−sin θ, cos θ).
    """
    half_sum, half_difference = (a + c) / 2, (a - c) / 2
    radius = jnp.sqrt(half_difference**2 + b**2)
    angle = jnp.arctan2(b, half_difference) / 2
    return half_sum - radius, half_sum + radius, jnp.cos(angle), jnp.sin(angle)


def _eigh(operand: Lanes, params: dict) -> list[Lanes]:
    """``jnp.linalg.eigh`` of a 1×1 or 2×2 symmetric matrix in closed form: (vectors, values).

    Newton's method on 2-D surfaces needs it; the eigenvectors' signs may differ from LAPACK's
    (eigh leaves them free), which changes nothing in Q·f(Λ)·Qᵀ.
    """
    if params.get("subset_by_index") not in (None, (0, operand.shape[-1])) \
            or operand.shape not in ((1, 1), (2, 2)):
        raise NotElementwise(f"primitive 'eigh' of a {operand.shape} matrix (only 1x1 and 2x2 "
                             "have an elementwise closed form here)")
    dtype = operand.dtype
    if operand.shape == (1, 1):
        vectors = np.empty((1, 1), dtype=object)
        vectors[0, 0] = np.ones((), dtype)[()]
        return [Lanes(vectors, dtype), Lanes(operand.elements.reshape(1), dtype)]
    lower = params.get("lower", True)
    off_diagonal = operand.elements[1, 0] if lower else operand.elements[0, 1]
    corners = [Lanes.from_elements(element, dtype) for element in
               (operand.elements[0, 0], off_diagonal, operand.elements[1, 1])]
    scalar = jax.ShapeDtypeStruct((), dtype)
    closed, out_tree = trace(_symmetric_2x2, scalar, scalar, scalar)
    low, high, cos, sin = [lanes.elements[()] for lanes in
                           jax.tree.leaves(call_jaxpr(closed, out_tree, corners),
                                           is_leaf=lambda x: isinstance(x, Lanes))]
    negative_sin = _bind(lax.neg_p, [dtype], [sin], {})
    vectors = np.empty((2, 2), dtype=object)
    vectors[0, 0], vectors[0, 1], vectors[1, 0], vectors[1, 1] = negative_sin, cos, cos, sin
    values = np.empty(2, dtype=object)
    values[0], values[1] = low, high
    return [Lanes(vectors, dtype), Lanes(values, dtype)]


def _static_index(element) -> int:
    if not _is_constant(element):
        raise NotElementwise("an index computed from the points (a data-dependent slice)")
    return int(np.asarray(element))


def _eval_equation(eqn, operands: list[Lanes]) -> list[Lanes]:
    name, params = eqn.primitive.name, eqn.params
    out_avals = [var.aval for var in eqn.outvars]
    if name in _ELEMENTWISE:
        return [_elementwise(eqn.primitive, operands, out_avals[0], params)]
    if name in _IDENTITY:
        return operands[:len(out_avals)]
    if name in _CALLS:
        inner = params.get("jaxpr", params.get("call_jaxpr"))
        if inner is None:
            raise NotElementwise(f"primitive {name!r} without a jaxpr")
        return _eval_jaxpr(inner, operands)
    if name == "cond":
        index, *args = operands
        branches = [_eval_jaxpr(branch, args) for branch in params["branches"]]
        (selector,) = index.elements.reshape(-1)
        if _is_constant(selector):
            return branches[int(np.asarray(selector))]
        # A per-point branch: evaluate all and pick per point (the branches are pure).
        return [_elementwise(lax.select_n_p, [index, *outputs], outputs[0], {})
                for outputs in zip(*branches)]
    (out_aval,) = out_avals if len(out_avals) == 1 else (None,)
    if name == "broadcast_in_dim":
        operand = operands[0]
        shape = tuple(params["shape"])
        expanded = [1] * len(shape)
        for axis, size in zip(params["broadcast_dimensions"], operand.shape):
            expanded[axis] = size
        elements = np.broadcast_to(operand.elements.reshape(expanded), shape).copy()
        return [Lanes(elements, operand.dtype)]
    if name == "reshape":
        return [Lanes(operands[0].elements.reshape(params["new_sizes"]), operands[0].dtype)]
    if name == "squeeze":
        return [Lanes(np.squeeze(operands[0].elements, axis=tuple(params["dimensions"])),
                      operands[0].dtype)]
    if name == "expand_dims":
        return [Lanes(np.expand_dims(operands[0].elements, tuple(params["dimensions"])),
                      operands[0].dtype)]
    if name == "transpose":
        return [Lanes(np.transpose(operands[0].elements, params["permutation"]),
                      operands[0].dtype)]
    if name == "rev":
        return [Lanes(np.flip(operands[0].elements, tuple(params["dimensions"])),
                      operands[0].dtype)]
    if name == "slice":
        strides = params["strides"] or (1,) * len(params["start_indices"])
        index = tuple(slice(start, limit, stride) for start, limit, stride in
                      zip(params["start_indices"], params["limit_indices"], strides))
        return [Lanes(operands[0].elements[index], operands[0].dtype)]
    if name == "dynamic_slice":
        operand, *starts = operands
        sizes = params["slice_sizes"]
        index = []
        for start, size, dim in zip(starts, sizes, operand.shape):
            first = min(max(_static_index(start.elements[()]), 0), dim - size)  # lax clamps
            index.append(slice(first, first + size))
        return [Lanes(operand.elements[tuple(index)], operand.dtype)]
    if name == "concatenate":
        return [Lanes(np.concatenate([o.elements for o in operands], axis=params["dimension"]),
                      out_aval.dtype)]
    if name == "stack":
        return [Lanes(np.stack([o.elements for o in operands], axis=params["axis"]),
                      out_aval.dtype)]
    if name == "unstack":
        operand = operands[0]
        return [Lanes(np.take(operand.elements, i, axis=params["axis"]), operand.dtype)
                for i in range(operand.shape[params["axis"]])]
    if name == "split":
        operand, axis = operands[0], params["axis"]
        edges = np.cumsum(params["sizes"])[:-1]
        return [Lanes(part, operand.dtype) for part in
                np.split(operand.elements, edges, axis=axis)]
    if name == "iota":
        shape, dimension = tuple(params["shape"]), params["dimension"]
        values = np.broadcast_to(
            np.arange(shape[dimension]).reshape([-1 if d == dimension else 1
                                                 for d in range(len(shape))]), shape)
        elements = np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            elements[index] = np.asarray(values[index], params["dtype"])[()]
        return [Lanes(elements, params["dtype"])]
    if name in _REDUCERS:
        return [_reduce(_REDUCERS[name], operands[0], tuple(params["axes"]), out_aval.dtype)]
    if name == "dot_general":
        return [_dot_general(operands[0], operands[1], params["dimension_numbers"], out_aval)]
    if name == "pad":
        return [_pad(operands[0], operands[1], params["padding_config"])]
    if name == "eigh":
        return _eigh(operands[0], params)
    raise NotElementwise(f"primitive {name!r} has no elementwise evaluation (a per-point "
                         "solve, loop, sort or gather); use the scan backend")


def _eval_jaxpr(closed, args: list[Lanes]) -> list[Lanes]:
    jaxpr = getattr(closed, "jaxpr", closed)
    consts = getattr(closed, "consts", ())
    env: dict = {}

    def read(atom):
        if isinstance(atom, jex_core.Literal):
            return _constant(atom.val, atom.aval.dtype)
        return env[atom]

    for var, value in zip(jaxpr.constvars, consts):
        env[var] = _constant(value, var.aval.dtype)
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        outputs = _eval_equation(eqn, [read(atom) for atom in eqn.invars])
        for var, value in zip(eqn.outvars, outputs):
            env[var] = value
    return [read(atom) for atom in jaxpr.outvars]


def _constant(value, dtype) -> Lanes:
    """A constant of the jaxpr: NumPy elements where it is known, ``()`` values otherwise."""
    if isinstance(value, jax.core.Tracer):
        return Lanes.uniform(value, dtype)
    array = np.asarray(value, dtype)
    elements = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        elements[index] = array[index]
    return Lanes(elements, dtype)


_CALLS = ("jit", "pjit", "closed_call", "core_call", "custom_jvp_call", "custom_vjp_call", "remat",
          "checkpoint", "custom_lin")


def mixing_primitives(closed) -> set[str]:
    """Primitives of a jaxpr that combine different elements of an array (sums, products of
    matrices, slices, loops, ...): empty when every output element depends only on the
    same-index elements of the inputs (and on scalars).

    `jl.sweep` asks this of an optimizer's update before it hands the optimizer a tuple of
    scalars instead of a ``(dim,)`` vector: a per-leaf norm (LAMB's trust ratio, a global-norm
    clip) would otherwise be taken over one coordinate instead of the whole point.

    >>> mixing_primitives(jax.make_jaxpr(lambda x: 2 * jnp.sqrt(x) + 1)(jnp.ones(3)))
    set()
    >>> sorted(mixing_primitives(jax.make_jaxpr(lambda x: x / jnp.linalg.norm(x))(jnp.ones(3))))
    ['reduce_sum']
    """
    jaxpr = getattr(closed, "jaxpr", closed)
    # Only equations whose results are used: traced code often leaves dead ones behind.
    live = {var for var in jaxpr.outvars if not isinstance(var, jex_core.Literal)}
    used = []
    for eqn in reversed(jaxpr.eqns):
        if eqn.effects or any(var in live for var in eqn.outvars):
            used.append(eqn)
            live |= {var for var in eqn.invars if not isinstance(var, jex_core.Literal)}
    found: set[str] = set()
    for eqn in reversed(used):
        name = eqn.primitive.name
        if name in _CALLS:
            found |= mixing_primitives(eqn.params.get("jaxpr", eqn.params.get("call_jaxpr")))
        elif name not in _ELEMENTWISE and name not in _IDENTITY and name != "broadcast_in_dim":
            found.add(name)
    return found


def trace(fn: Callable, *example_args) -> tuple[jax.extend.core.ClosedJaxpr, Any]:
    """(jaxpr of ``fn`` for one point, output tree structure); ``example_args`` per point."""
    closed, out_shape = jax.make_jaxpr(fn, return_shape=True)(*example_args)
    return closed, jax.tree.structure(out_shape)


def call(fn: Callable, *args, reciprocal_division: bool = False) -> Any:
    """``fn(*args)`` for every point: ``args`` are pytrees with `Lanes` leaves.

    ``fn`` is written for one point; it is traced with the lanes' per-point shapes and dtypes,
    then its jaxpr is evaluated element by element. Returns ``fn``'s output tree of `Lanes`.

    ``reciprocal_division=True`` divides lanes by a value shared by the block (Adam's
    ``m / (1 − β₁ᵗ)``) as a multiplication by its reciprocal, computed once: on a GPU a
    correctly rounded division costs many times a multiplication. The result may differ from the
    division in the last bit.
    """
    leaves, tree = jax.tree.flatten(args, is_leaf=lambda x: isinstance(x, Lanes))
    examples = [jax.ShapeDtypeStruct(leaf.shape, leaf.dtype) for leaf in leaves]
    closed, out_tree = trace(lambda *flat: fn(*jax.tree.unflatten(tree, flat)), *examples)
    token = _RECIPROCAL_DIVISION.set(reciprocal_division)
    try:
        return jax.tree.unflatten(out_tree, _eval_jaxpr(closed, leaves))
    finally:
        _RECIPROCAL_DIVISION.reset(token)


def call_jaxpr(closed, out_tree, leaves: list[Lanes]) -> Any:
    """Evaluate a jaxpr from `trace` on flat `Lanes` leaves; the output tree of `Lanes`."""
    return jax.tree.unflatten(out_tree, _eval_jaxpr(closed, leaves))
