"""The shared argument checks, and what the public constructors refuse before any work."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab._validation import check_int, check_tolerance


@pytest.mark.parametrize("value, low, high, expected", [
    (1, 1, math.inf, 1),
    (np.int64(7), 1, 10, 7),   # NumPy ints are counts too (e.g. from np.arange)
    (10, 1, 10, 10),           # both ends are included
    (np.int32(2), 2, math.inf, 2),
])
def test_check_int_accepts_integers_in_range_and_returns_a_python_int(value, low, high, expected):
    result = check_int("count", value, low, high)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value, low, high, match", [
    (0, 1, math.inf, r"count must be an integer in \[1, inf\], got 0"),
    (11, 1, 10, r"count must be an integer in \[1, 10\], got 11"),
    (True, 0, math.inf, r"count must be an integer in \[0, inf\], got True"),
    (np.bool_(True), 0, math.inf, r"count must be an integer in \[0, inf\], got"),
    (3.0, 1, math.inf, r"count must be an integer in \[1, inf\], got 3.0"),
    ("3", 1, math.inf, r"count must be an integer in \[1, inf\], got '3'"),
    (None, 1, math.inf, r"count must be an integer in \[1, inf\], got None"),
])
def test_check_int_rejects_non_integers_and_values_out_of_range(value, low, high, match):
    with pytest.raises(ValueError, match=match):
        check_int("count", value, low, high)


@pytest.mark.parametrize("value, default, expected", [
    (None, 1e-8, 1e-8),
    (0, 1e-8, 0.0),            # zero: never stop on this test
    (np.float32(0.5), 1e-8, 0.5),
])
def test_check_tolerance_accepts_nonnegative_numbers(value, default, expected):
    result = check_tolerance("tol", value, default)
    assert result == expected and type(result) is float


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, 10**400, True, "0.1",
                                   np.array([0.1, 0.2])])
def test_check_tolerance_rejects_negative_nan_inf_and_non_numbers(value):
    with pytest.raises(ValueError, match=r"tol must be a number in \[0, inf\), got"):
        check_tolerance("tol", value, 1e-8)


# --- what the constructors refuse before any work, and what they still take --------------------

@pytest.mark.parametrize("build, error, match", [
    (lambda: jl.adam("0.1"), TypeError, r"learning_rate must be a real number or a real array, "
                                        r"got str '0.1'"),
    (lambda: jl.lbfgs(1.0, 2.0), ValueError, r"memory_size must be an integer in \[1, inf\]"),
    (lambda: jl.sgd(math.inf), ValueError, r"learning_rate must be in \(0, inf\), got inf"),
    (lambda: jl.momentum(0.1, [0.9]), TypeError, "momentum must be a real number"),
    (lambda: jl.momentum(0.1, 0.5 + 0.1j), TypeError, "momentum must be a real number"),
    (lambda: jl.rmsprop(0.1, decay=np.array([0.9 + 0j])), TypeError,
     "decay must be a real number or a real array, got a complex128 array"),
    (lambda: jl.adam(0.1, b1=True), TypeError, "b1 must be a real number"),
    (lambda: jl.adam(0.1, b1=lambda count: 0.9), TypeError, "b1 must be a real number"),
    (lambda: jl.nesterov(0.1, lookahead="False"), TypeError, "lookahead must be True or False"),
    (lambda: jl.newton(max_cg_steps=2.0), ValueError, r"max_cg_steps must be an integer"),
    (lambda: jl.sgd(2**70), ValueError, "learning_rate must be a float or an integer in"),
    (lambda: jl.schedules.inverse_time("1"), TypeError, "init_value must be a real number"),
    (lambda: jl.schedules.exponential(0.1, math.inf), ValueError, r"beta must be in \(0, inf\)"),
])
def test_constructors_refuse_bad_hyperparameters_up_front(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("build", [
    lambda rate: jl.sgd(rate), lambda rate: jl.adam(rate), lambda rate: jl.momentum(rate),
    lambda rate: jl.rprop(rate), lambda rate: jl.newton(rate),
])
def test_array_hyperparameters_of_a_wrong_shape_are_refused_at_init(build):
    params = jnp.zeros(2)
    with pytest.raises(ValueError, match=r"learning_rate (has shape \(3,\)|must be a scalar)"):
        build(jnp.full(3, 0.1)).init(params)


def test_per_coordinate_learning_rates_act_per_coordinate():
    tx = jl.sgd(jnp.array([0.1, 0.01]))
    updates, _ = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
    np.testing.assert_array_equal(updates, [-0.1, -0.01])


def test_a_sweep_takes_a_per_coordinate_learning_rate():
    """The engine's per-coordinate fast path must not see a (2,) rate as one coordinate's."""
    surface = jl.surfaces.get("himmelblau")
    starts = jl.starts.grid(surface, 4).points
    per_coordinate = jl.sweep(jl.sgd(jnp.array([0.01, 0.01])), surface, starts, 30)
    scalar = jl.sweep(jl.sgd(0.01), surface, starts, 30)
    np.testing.assert_array_equal(per_coordinate.params, scalar.params)
