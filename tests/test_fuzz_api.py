"""Fuzzing the public constructors: every input gives a clear error or a working object.

For each constructor hypothesis draws arguments from well beyond their documented types and
ranges (strings, lists, bools, None, complex, NaN, ±inf, integers past float64, arrays of the
wrong shape or dtype, schedules where none belong). The contract: either a ``ValueError`` or
``TypeError`` raised by this library whose message names an argument that was passed, or an
object that works (a transformation whose ``init`` and ``update`` run and return updates shaped
like the parameters; a schedule that returns a scalar; a surface and starting points of the
promised shapes). An error from inside JAX or NumPy, or any other exception, fails the test.
"""
from __future__ import annotations

import os
import re
import traceback
from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import optax
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxopt_lab as jl

#: Examples per constructor family. Enough to reach every kind of bad value several times for
#: every argument (about ten kinds × a handful of arguments); derandomized, so every run (and
#: every machine) tries the same inputs.
EXAMPLES = 200
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow])

PACKAGE_DIR = os.path.dirname(jl.__file__)
PARAMS = jnp.array([0.3, -0.7])


def loss(params: jax.Array) -> jax.Array:
    return jnp.sum(params**2) + params[0] * params[1]


def _real_arrays(dtype) -> st.SearchStrategy:
    shapes = st.sampled_from([(), (1,), (2,), (3,), (2, 2)])
    return hnp.arrays(dtype, shapes, elements=st.floats(-3.0, 3.0, width=32)
                      if np.dtype(dtype).kind == "f" else None)


#: Numbers and near-numbers of every kind a user might pass for a hyperparameter.
NUMBERS = st.one_of(
    st.floats(-10.0, 10.0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5),
    st.sampled_from([2**31, 2**62, 2**64, 10**400, -(10**400)]),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.complex_numbers(max_magnitude=2.0),
    st.lists(st.floats(0.0, 1.0), max_size=3),
    st.tuples(st.floats(0.0, 1.0)),
    _real_arrays(np.float64),
    _real_arrays(np.float32),
    hnp.arrays(np.int64, st.sampled_from([(), (2,)]), elements=st.integers(-3, 3)),
    hnp.arrays(np.complex64, st.sampled_from([(), (2,)])),
    hnp.arrays(np.bool_, (2,)),
    st.just(np.array(["0.1"])),
    st.just(lambda count: 0.1),  # a schedule, where only learning rates take one
    st.just(jnp.asarray(0.5)),
)
COUNTS = st.one_of(st.integers(-3, 30), st.sampled_from([2.0, True, None, "3", 2**70]))
SWITCHES = st.one_of(st.booleans(), st.sampled_from([0, 1, "False", None, np.bool_(True)]))


def choices(*valid: str) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(valid), st.text(max_size=6), st.sampled_from([None, 1, ["a"]]))


#: Public optimizer constructors and the strategy for each argument they take.
OPTIMIZERS: dict[str, tuple[Callable, dict[str, st.SearchStrategy]]] = {
    "sgd": (jl.sgd, {"learning_rate": NUMBERS}),
    "momentum": (jl.momentum, {"learning_rate": NUMBERS, "momentum": NUMBERS,
                               "form": choices("velocity", "ewma")}),
    "nesterov": (jl.nesterov, {"learning_rate": NUMBERS, "momentum": NUMBERS,
                               "lookahead": SWITCHES}),
    "scale_by_momentum": (jl.scale_by_momentum, {"momentum": NUMBERS,
                                                 "form": choices("velocity", "ewma")}),
    "scale_by_nesterov": (jl.scale_by_nesterov, {"momentum": NUMBERS}),
    "adagrad": (jl.adagrad, {"learning_rate": NUMBERS, "eps": NUMBERS, "eps_root": NUMBERS,
                             "initial_accumulator_value": NUMBERS}),
    "adadelta": (jl.adadelta, {"learning_rate": NUMBERS, "rho": NUMBERS, "eps": NUMBERS}),
    "rmsprop": (jl.rmsprop, {"learning_rate": NUMBERS, "decay": NUMBERS, "eps": NUMBERS,
                             "eps_root": NUMBERS}),
    "adam": (jl.adam, {"learning_rate": NUMBERS, "b1": NUMBERS, "b2": NUMBERS, "eps": NUMBERS,
                       "eps_root": NUMBERS}),
    "adamw": (jl.adamw, {"learning_rate": NUMBERS, "b1": NUMBERS, "weight_decay": NUMBERS}),
    "rprop": (jl.rprop, {"learning_rate": NUMBERS, "eta_minus": NUMBERS, "eta_plus": NUMBERS,
                         "min_step_size": NUMBERS, "max_step_size": NUMBERS,
                         "variant": choices("rprop-", "irprop-", "rprop+", "irprop+")}),
    "quickprop": (jl.quickprop, {"learning_rate": NUMBERS, "max_growth": NUMBERS}),
    "newton": (jl.newton, {"learning_rate": NUMBERS, "damping": NUMBERS,
                           "saddle_free": SWITCHES, "solver": choices("auto", "dense", "cg"),
                           "max_cg_steps": COUNTS}),
    "levenberg_marquardt": (jl.levenberg_marquardt, {"damping": NUMBERS, "increase": NUMBERS,
                                                     "decrease": NUMBERS}),
    "bfgs": (jl.bfgs, {"learning_rate": NUMBERS, "linesearch": SWITCHES}),
    "lbfgs": (jl.lbfgs, {"learning_rate": NUMBERS, "memory_size": COUNTS,
                         "linesearch": SWITCHES}),
    "reduce_on_plateau": (jl.reduce_on_plateau, {
        "factor": NUMBERS, "patience": NUMBERS, "rtol": NUMBERS, "atol": NUMBERS,
        "cooldown": NUMBERS, "accumulation_size": NUMBERS, "min_scale": NUMBERS}),
}

#: Schedules (each returns ``count -> value``) and their arguments.
SCHEDULES: dict[str, tuple[Callable, dict[str, st.SearchStrategy]]] = {
    "inverse_time": (jl.schedules.inverse_time, {"init_value": NUMBERS, "decay_rate": NUMBERS}),
    "inverse_quadratic": (jl.schedules.inverse_quadratic, {"init_value": NUMBERS}),
    "inverse_sqrt": (jl.schedules.inverse_sqrt, {"init_value": NUMBERS}),
    "exponential": (jl.schedules.exponential, {"init_value": NUMBERS, "beta": NUMBERS}),
    "step": (jl.schedules.step, {"init_value": NUMBERS, "transition_steps": NUMBERS,
                                 "decay_rate": NUMBERS}),
    "linear_then_constant": (jl.schedules.linear_then_constant, {
        "init_value": NUMBERS, "end_value": NUMBERS, "transition_steps": NUMBERS}),
}

#: Every schedule takes its arguments positionally in a valid call; these are used for the
#: arguments a drawn example leaves out (so the call never fails for a *missing* argument).
SCHEDULE_DEFAULTS = {"init_value": 0.1, "decay_rate": 0.5, "beta": 0.01,
                     "transition_steps": 10, "end_value": 0.01}


def assert_clear_error(error: Exception, arguments: dict[str, Any]) -> None:
    """``error`` is a ValueError/TypeError raised by this library naming one of ``arguments``."""
    assert isinstance(error, (ValueError, TypeError)), f"{type(error).__name__}: {error}"
    raised_in = traceback.extract_tb(error.__traceback__)[-1].filename
    assert raised_in.startswith(PACKAGE_DIR), (
        f"error raised inside {raised_in}, not by jaxopt_lab: {type(error).__name__}: {error}")
    message = str(error)
    named = [name for name in arguments if re.search(rf"\b{name}\b", message)]
    assert named, f"{message!r} names none of {sorted(arguments)}"
    assert "allow_pickle" not in message


def outcome(build: Callable[[], Any], use: Callable[[Any], None],
            arguments: dict[str, Any]) -> str:
    """"error" (clear, naming an argument) or "result" (built and used); anything else fails."""
    try:
        built = build()
        use(built)
    except (ValueError, TypeError) as error:
        assert_clear_error(error, arguments)
        return "error"
    return "result"


def use_transformation(tx: optax.GradientTransformation) -> None:
    state = tx.init(PARAMS)
    extra = {}
    if isinstance(tx, optax.GradientTransformationExtraArgs):
        extra = dict(value=loss(PARAMS), grad=jax.grad(loss)(PARAMS), value_fn=loss)
    updates, _ = tx.update(jax.grad(loss)(PARAMS), state, PARAMS, **extra)
    assert jnp.shape(updates) == PARAMS.shape
    assert jnp.issubdtype(jnp.result_type(updates), jnp.floating)


def use_schedule(schedule: optax.Schedule) -> None:
    value = schedule(jnp.asarray(7))
    assert jnp.ndim(value) in (0, 1)


def draw_arguments(data: st.DataObject, strategies: dict[str, st.SearchStrategy]) -> dict:
    names = data.draw(st.lists(st.sampled_from(sorted(strategies)), min_size=1, unique=True))
    return {name: data.draw(strategies[name], label=name) for name in names}


@FUZZ_SETTINGS
@given(name=st.sampled_from(sorted(OPTIMIZERS)), data=st.data())
def test_optimizer_constructors(name, data):
    factory, strategies = OPTIMIZERS[name]
    arguments = draw_arguments(data, strategies)
    if "learning_rate" not in arguments and name not in {
            "scale_by_momentum", "scale_by_nesterov", "levenberg_marquardt", "reduce_on_plateau",
            "rprop", "newton", "bfgs", "lbfgs", "adadelta"}:
        arguments["learning_rate"] = 0.1  # required positional argument
    outcome(lambda: factory(**arguments), use_transformation, arguments)


@FUZZ_SETTINGS
@given(name=st.sampled_from(sorted(SCHEDULES)), data=st.data())
def test_schedule_constructors(name, data):
    factory, strategies = SCHEDULES[name]
    arguments = draw_arguments(data, strategies)
    full = {key: arguments.get(key, SCHEDULE_DEFAULTS[key]) for key in strategies}
    outcome(lambda: factory(**full), use_schedule, arguments)


#: Coordinates, matrices and boxes of every kind a user might pass where arrays of reals belong.
ARRAYS = st.one_of(
    NUMBERS,
    st.lists(st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=2), min_size=1, max_size=3),
    st.lists(st.lists(st.one_of(st.floats(allow_nan=True), st.complex_numbers(max_magnitude=2),
                                st.integers(-(2**80), 2**80)), min_size=1, max_size=3),
             min_size=1, max_size=3),
    st.sampled_from([((-2.0, 2.0), (-1.0, 1.0)), ((1.0, 0.0), (0.0, 1.0)), [[0, 1], [0]],
                     np.eye(2), np.array([[2.0, 1.0], [0.0, 1.0]])]),
)
SURFACE_FIELDS = {"name": st.one_of(st.text(max_size=3), st.none(), st.integers()),
                  "dim": st.one_of(COUNTS, st.just("2")),
                  "bounds": ARRAYS, "minima": ARRAYS, "f_min": NUMBERS, "saddles": ARRAYS,
                  "escape_radius": NUMBERS, "minima_values": ARRAYS}
SURFACE_DEFAULTS = {"name": "fuzz", "fn": loss, "dim": 2, "bounds": ((-2.0, 2.0), (-1.0, 1.0))}


def use_surface(surface: jl.Surface) -> None:
    center = jnp.asarray(surface.lower + surface.upper) / 2
    assert jnp.shape(surface(center)) == ()
    assert surface.minima_array.shape[1] == surface.saddles_array.shape[1] == surface.dim
    starts = jl.starts.grid(surface, 3).points
    assert starts.shape == (3**surface.dim, surface.dim) and bool(jnp.all(jnp.isfinite(starts)))
    hash(surface)  # a static argument of jax.jit


def use_points(points: Any) -> None:
    points = getattr(points, "points", points)
    assert points.ndim == 2 and bool(jnp.all(jnp.isfinite(points)))


#: Surface and starting-point constructors: (build from drawn arguments, use, strategies).
SURFACES_AND_STARTS: dict[str, tuple[Callable, Callable, dict[str, st.SearchStrategy]]] = {
    "Surface": (lambda **a: jl.Surface(**{**SURFACE_DEFAULTS, **a}), use_surface,
                SURFACE_FIELDS),
    "quadratic": (lambda A=np.eye(2), **a: jl.surfaces.quadratic(A, **a), use_surface,
                  {"A": ARRAYS, "b": ARRAYS, "c": NUMBERS}),
    "rotated_quadratic": (
        lambda eigenvalues=(2.0, 1.0), angle=0.3, **a: jl.surfaces.rotated_quadratic(
            eigenvalues, angle, **a), use_surface,
        {"eigenvalues": ARRAYS, "angle": NUMBERS, "b": ARRAYS, "c": NUMBERS}),
    "grid": (lambda bounds=((0.0, 1.0),) * 2, resolution=3: jl.starts.grid(bounds, resolution),
             use_points, {"bounds": ARRAYS, "resolution": st.one_of(COUNTS, ARRAYS)}),
    "uniform": (lambda bounds=((0.0, 1.0),) * 2, num_points=3: jl.starts.uniform(
        jax.random.PRNGKey(0), bounds, num_points), use_points,
        {"bounds": ARRAYS, "num_points": COUNTS}),
    "gaussian": (lambda center=(0.0, 1.0), scale=1.0, num_points=3: jl.starts.gaussian(
        jax.random.PRNGKey(0), center, scale, num_points), use_points,
        {"center": ARRAYS, "scale": ARRAYS, "num_points": COUNTS}),
}


@FUZZ_SETTINGS
@given(name=st.sampled_from(sorted(SURFACES_AND_STARTS)), data=st.data())
def test_surface_and_start_constructors(name, data):
    build, use, strategies = SURFACES_AND_STARTS[name]
    arguments = draw_arguments(data, strategies)
    outcome(lambda: build(**arguments), use, arguments)


#: Examples of jl.sweep's arguments: each valid draw compiles a small sweep (a second or so).
SWEEP_EXAMPLES = 100
SWEEP_SETTINGS = settings(max_examples=SWEEP_EXAMPLES, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
SWEEP_SURFACE = jl.surfaces.get("himmelblau")
#: At most 8 points, as arrays of every kind and dtype and as things that are no points.
SWEEP_STARTS = st.one_of(
    hnp.arrays(np.float64, st.tuples(st.integers(0, 8), st.sampled_from([2, 2, 2, 1, 3])),
               elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
    hnp.arrays(st.sampled_from([np.float32, np.int64, np.int32, np.bool_, np.complex64]),
               st.tuples(st.integers(1, 8), st.just(2))),
    st.lists(st.lists(st.one_of(st.floats(-5, 5), st.integers(-(2**70), 2**70)),
                      min_size=2, max_size=2), min_size=1, max_size=8),
    st.sampled_from([[[2**62, 0]], "0,0", None, [[1.0, 2.0], [1.0]], [[1 + 1j, 0.0]]]),
    ARRAYS,
)
INDICES = st.one_of(
    st.lists(st.integers(-2, 9), max_size=4),
    st.lists(st.one_of(st.booleans(), st.floats(0, 3), st.integers(0, 2**70)), max_size=3),
    hnp.arrays(np.int64, st.sampled_from([(), (2,), (1, 2)]), elements=st.integers(-1, 8)),
    st.sampled_from([None, "0", 0, range(3)]),
)
METADATA = st.one_of(
    st.none(),
    st.dictionaries(st.one_of(st.text(max_size=8), st.integers(0, 3),
                              st.sampled_from(["num_steps", "optimizer", "backend", "device"])),
                    st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.none(),
                              st.sampled_from([object(), {1, 2}, b"x", np.float32(1.0)])),
                    max_size=2),
    st.sampled_from([[("a", 1)], "note", 3]),
)
SWEEP_FIELDS = {
    "starts": SWEEP_STARTS,
    "num_steps": st.one_of(st.integers(-1, 5), st.sampled_from([2**30, 2**63, 2.0, True, "3"])),
    "learning_rate": NUMBERS,  # swept as hyperparams={"learning_rate": value} of jl.sgd
    "gtol": NUMBERS, "xtol": NUMBERS, "basin_radius": NUMBERS,
    "record_loss_every": COUNTS,
    "trajectories": INDICES,
    "metadata": METADATA,
}
SWEEP_DEFAULTS = {"starts": np.array([[1.0, 1.0], [-2.0, 3.0]]), "num_steps": 3}


def use_sweep_result(result: jl.SweepResult, arguments: dict[str, Any]) -> None:
    configs = () if "learning_rate" not in arguments else (np.shape(result.status)[0],)
    points = np.shape(result.status)[-1]
    assert np.shape(result.params) == configs + (points, 2)
    assert np.shape(result.steps) == np.shape(result.basin) == configs + (points,)
    if result.trajectories is not None:
        assert np.shape(result.trajectories)[-2:] == (result.metadata["num_steps"] + 1, 2)


@SWEEP_SETTINGS
@given(data=st.data())
def test_sweep_arguments(data):
    # One or two arguments off their defaults, so that each one's refusals are reached.
    names = data.draw(st.lists(st.sampled_from(sorted(SWEEP_FIELDS)), min_size=1, max_size=2,
                               unique=True))
    arguments = {name: data.draw(SWEEP_FIELDS[name], label=name) for name in names}
    call = {**SWEEP_DEFAULTS, **arguments}
    learning_rate = call.pop("learning_rate", None)
    if "learning_rate" in arguments:
        optimizer, call["hyperparams"] = jl.sgd, {"learning_rate": learning_rate}
        arguments["hyperparams"] = learning_rate  # a message may name either
    else:
        optimizer = jl.sgd(0.01)
    starts, num_steps = call.pop("starts"), call.pop("num_steps")
    outcome(lambda: jl.sweep(optimizer, SWEEP_SURFACE, starts, num_steps, progress=False, **call),
            lambda result: use_sweep_result(result, arguments), arguments)
