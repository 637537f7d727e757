"""Schedules against their formulas (tests/reference/schedules.py), optax, and trajectories."""
from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import jaxopt_lab as jl
from jaxopt_lab import schedules
from reference import schedules as ref

# Same formula evaluated in a different order (x/(k+1)² vs x/(k+1)/(k+1), exp vs power):
# float64 rounding, a few ulps per operation.
FORMULA_RTOL = 1e-12
# A 30-step gradient-descent trajectory multiplies 30 rounded factors (1 − η_k·a).
TRAJECTORY_RTOL = 1e-11
# optax computes the same maths with other operations (power vs exp, polynomial form of lerp).
OPTAX_RTOL = 1e-12

CHOSEN_STEPS = [0, 1, 2, 3, 5, 9, 10, 11, 37, 100, 1000]
NUM_TRAJECTORY_STEPS = 30
CURVATURE = 1.5  # a in f(w) = ½·a·w²
W0 = 2.0

# (id, schedule built by jaxopt_lab, the same schedule from the reference: k -> η_k)
SCHEDULE_CASES = [
    ("inverse_time", schedules.inverse_time(0.9), lambda k: ref.inverse_time(0.9, k)),
    (
        "inverse_time_decay_rate",
        schedules.inverse_time(0.9, decay_rate=0.3),
        lambda k: ref.inverse_time(0.9, k, decay_rate=0.3),
    ),
    (
        "inverse_quadratic",
        schedules.inverse_quadratic(0.9),
        lambda k: ref.inverse_quadratic(0.9, k),
    ),
    ("inverse_sqrt", schedules.inverse_sqrt(0.9), lambda k: ref.inverse_sqrt(0.9, k)),
    ("exponential", schedules.exponential(0.9, beta=0.1), lambda k: ref.exponential(0.9, k, 0.1)),
    (
        "step",
        schedules.step(0.9, transition_steps=4, decay_rate=0.5),
        lambda k: ref.step(0.9, k, transition_steps=4, decay_rate=0.5),
    ),
    (
        "linear_then_constant",
        schedules.linear_then_constant(0.9, end_value=0.009, transition_steps=10),
        lambda k: ref.linear_then_constant(0.9, k, end_value=0.009, transition_steps=10),
    ),
]
SCHEDULE_IDS = [case[0] for case in SCHEDULE_CASES]


@pytest.mark.parametrize("name, schedule, formula", SCHEDULE_CASES, ids=SCHEDULE_IDS)
def test_values_at_chosen_steps(name, schedule, formula):
    got = [float(schedule(k)) for k in CHOSEN_STEPS]
    np.testing.assert_allclose(got, [formula(k) for k in CHOSEN_STEPS], rtol=FORMULA_RTOL)


@pytest.mark.parametrize("name, schedule, formula", SCHEDULE_CASES, ids=SCHEDULE_IDS)
def test_traced_int32_step_under_jit(name, schedule, formula):
    steps = jnp.asarray(CHOSEN_STEPS, dtype=jnp.int32)
    got = jax.jit(jax.vmap(schedule))(steps)
    np.testing.assert_allclose(got, [formula(k) for k in CHOSEN_STEPS], rtol=FORMULA_RTOL)


def test_inverse_quadratic_does_not_overflow_int32():
    # (k+1)² in int32 would wrap past k = 46340.
    k = 100_000
    got = jax.jit(schedules.inverse_quadratic(1.0))(jnp.int32(k))
    np.testing.assert_allclose(got, ref.inverse_quadratic(1.0, k), rtol=FORMULA_RTOL)


def test_power_of_095_is_the_exponential_family():
    # ε0·0.95^k is η0·e^(−βk) with β = −ln 0.95.
    schedule = schedules.exponential(0.9, beta=-math.log(0.95))
    np.testing.assert_allclose(
        [float(schedule(k)) for k in CHOSEN_STEPS],
        [0.9 * 0.95**k for k in CHOSEN_STEPS],
        rtol=FORMULA_RTOL,
    )


OPTAX_TWINS = [
    (
        "exponential",
        schedules.exponential(0.9, beta=0.1),
        optax.exponential_decay(0.9, transition_steps=1, decay_rate=math.exp(-0.1)),
    ),
    (
        "step_vs_staircase",
        schedules.step(0.9, transition_steps=4, decay_rate=0.5),
        optax.exponential_decay(0.9, transition_steps=4, decay_rate=0.5, staircase=True),
    ),
    (
        "step_vs_piecewise_constant",
        schedules.step(0.9, transition_steps=4, decay_rate=0.5),
        optax.piecewise_constant_schedule(0.9, {4 * j: 0.5 for j in range(1, 20)}),
    ),
    (
        "linear_then_constant",
        schedules.linear_then_constant(0.9, end_value=0.009, transition_steps=10),
        optax.linear_schedule(0.9, end_value=0.009, transition_steps=10),
    ),
]


@pytest.mark.parametrize("name, ours, twin", OPTAX_TWINS, ids=[c[0] for c in OPTAX_TWINS])
def test_equals_optax_twin(name, ours, twin):
    # int64 steps: optax computes an int32 count divided by an int in float32, even under x64.
    steps = jnp.arange(60, dtype=jnp.int64)
    np.testing.assert_allclose(jax.vmap(ours)(steps), jax.vmap(twin)(steps), rtol=OPTAX_RTOL)


@pytest.mark.parametrize(
    "factory, kwargs",
    [
        (schedules.inverse_time, {}),
        (schedules.inverse_quadratic, {}),
        (schedules.inverse_sqrt, {}),
        (schedules.exponential, {"beta": 0.1}),
        (schedules.step, {"transition_steps": 4, "decay_rate": 0.5}),
        (schedules.linear_then_constant, {"end_value": 0.0, "transition_steps": 10}),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_traced_init_value(factory, kwargs):
    init_values = jnp.array([0.1, 0.5, 2.0])
    got = jax.vmap(lambda eta0: factory(eta0, **kwargs)(jnp.int32(7)))(init_values)
    expected = [float(factory(float(eta0), **kwargs)(7)) for eta0 in init_values]
    np.testing.assert_allclose(got, expected, rtol=FORMULA_RTOL)


def _run_scheduled_sgd(schedule, num_steps):
    """Gradient descent on f(w) = ½·a·w² with learning_rate=schedule; returns w_0 .. w_K."""
    tx = jl.sgd(schedule)

    def one_step(carry, _):
        w, state = carry
        updates, state = tx.update(CURVATURE * w, state, w)
        w = optax.apply_updates(w, updates)
        return (w, state), w

    w0 = jnp.array(W0)
    _, trajectory = jax.lax.scan(one_step, (w0, tx.init(w0)), None, length=num_steps)
    return jnp.concatenate([w0[None], trajectory])


@pytest.mark.parametrize("name, schedule, formula", SCHEDULE_CASES, ids=SCHEDULE_IDS)
def test_schedule_drives_the_trajectory(name, schedule, formula):
    rates = [formula(k) for k in range(NUM_TRAJECTORY_STEPS)]
    expected = ref.gradient_descent_on_quadratic(CURVATURE, W0, rates)
    got = jax.jit(_run_scheduled_sgd, static_argnums=(0, 1))(schedule, NUM_TRAJECTORY_STEPS)
    np.testing.assert_allclose(got, expected, rtol=TRAJECTORY_RTOL)
    # The schedule matters: with η0 held constant the path is another one.
    constant = ref.gradient_descent_on_quadratic(CURVATURE, W0, [rates[0]] * len(rates))
    assert not np.allclose(got, constant, rtol=1e-3)


# ---------------------------------------------------------------- reduce_on_plateau

NUM_DESCENT = 5  # scripted losses: strictly decreasing for this many steps, then flat


def _scripted_losses(num_steps):
    return [float(NUM_DESCENT - i) if i < NUM_DESCENT else 1.0 for i in range(num_steps)]


def _scales(tx, losses):
    """Scale in force after each loss, read off the transform's effect on a unit update."""

    def one_step(state, loss):
        updates, state = tx.update(jnp.ones(()), state, value=loss)
        return state, updates

    _, scales = jax.lax.scan(one_step, tx.init(jnp.zeros(())), losses)
    return scales


@pytest.mark.parametrize("patience", [1, 3, 4])
def test_plateau_scale_drops_after_exactly_patience_stagnant_steps(patience):
    factor = 0.5
    losses = _scripted_losses(NUM_DESCENT + 3 * patience + 2)
    tx = jl.reduce_on_plateau(factor=factor, patience=patience, rtol=0.0)
    got = jax.jit(lambda l: _scales(tx, l))(jnp.asarray(losses))
    # The last improvement is at index NUM_DESCENT − 1; every `patience` flat steps after it,
    # the rate is multiplied by `factor`.
    last_improvement = NUM_DESCENT - 1
    expected = [factor ** (max(i - last_improvement, 0) // patience) for i in range(len(losses))]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, ref.plateau_scales(losses, factor, patience))


PLATEAU_CONFIGS = [
    {},
    {"factor": 0.5, "patience": 3},
    {"factor": 0.5, "patience": 2, "rtol": 0.05, "atol": 0.01},
    {"factor": 0.3, "patience": 2, "cooldown": 3},
    {"factor": 0.5, "patience": 2, "accumulation_size": 3},
    {"factor": 0.2, "patience": 1, "min_scale": 0.01},
]


@pytest.mark.parametrize("config", PLATEAU_CONFIGS, ids=str)
def test_plateau_equals_optax_contrib(config):
    # Noisy losses, decreasing to a floor at step 15: improvements and plateaus both occur.
    steps = np.arange(60)
    losses = np.maximum(1.0 / (1.0 + 0.1 * steps), 0.4) + 0.05 * np.sin(1.3 * steps) ** 2
    losses = jnp.asarray(losses)
    params = {"a": jnp.ones(2), "b": jnp.full((3,), -2.0)}
    grads = {"a": jnp.array([0.5, -1.0]), "b": jnp.array([1.0, 2.0, 3.0])}

    def run(tx):
        def one_step(state, loss):
            updates, state = tx.update(grads, state, params, value=loss)
            return state, (updates, state)

        return jax.lax.scan(one_step, tx.init(params), losses)[1]

    ours = jl.reduce_on_plateau(**config)
    twin = optax.contrib.reduce_on_plateau(**config)
    (ours_updates, ours_states), (twin_updates, twin_states) = jax.jit(
        lambda: (run(ours), run(twin))
    )()
    chex.assert_trees_all_close(ours_updates, twin_updates, rtol=OPTAX_RTOL)
    chex.assert_trees_all_close(ours_states._asdict(), twin_states._asdict(), rtol=OPTAX_RTOL)
    assert float(ours_states.scale[-1]) < 1.0  # the sequence does trigger reductions


def test_plateau_under_vmap_over_losses_and_traced_factor():
    factors = jnp.array([0.1, 0.5, 0.9])
    patience = 2
    losses = np.array([_scripted_losses(12), [3.0, 2.0] * 6, list(range(12, 0, -1))], float)

    def scales(factor, loss_sequence):
        return _scales(jl.reduce_on_plateau(factor=factor, patience=patience), loss_sequence)

    got = jax.jit(jax.vmap(scales))(factors, jnp.asarray(losses))
    for row, factor, loss_sequence in zip(got, factors, losses):
        expected = ref.plateau_scales(loss_sequence, float(factor), patience, rtol=1e-4)
        np.testing.assert_allclose(row, expected, rtol=FORMULA_RTOL)


def test_plateau_rescues_a_diverging_gradient_descent():
    # η·a = 2.5 > 2 diverges (|1 − η·a| = 1.5); the losses grow, stagnate in reduce_on_plateau's
    # sense, and each reduction of η moves η·a back towards (0, 2).
    learning_rate, factor, patience = 2.5 / CURVATURE, 0.5, 3
    plateau = jl.reduce_on_plateau(factor=factor, patience=patience)
    tx = optax.chain(jl.sgd(learning_rate), plateau)

    def one_step(carry, _):
        w, state = carry
        loss = 0.5 * CURVATURE * w**2
        updates, state = tx.update(CURVATURE * w, state, w, value=loss)
        w = optax.apply_updates(w, updates)
        return (w, state), w

    w0 = jnp.array(W0)
    _, got = jax.jit(lambda: jax.lax.scan(one_step, (w0, tx.init(w0)), None, length=30))()

    trajectory, losses = [W0], []
    for _ in range(30):
        losses.append(0.5 * CURVATURE * trajectory[-1] ** 2)
        scale = ref.plateau_scales(losses, factor, patience, rtol=1e-4)[-1]
        trajectory.append((1 - learning_rate * scale * CURVATURE) * trajectory[-1])
    np.testing.assert_allclose(got, trajectory[1:], rtol=TRAJECTORY_RTOL)
    assert abs(float(got[-1])) < 1e-3 * W0


def test_plateau_in_inject_hyperparams():
    tx = optax.inject_hyperparams(jl.reduce_on_plateau)(factor=0.5, patience=1)
    state = tx.init(jnp.zeros(()))
    scales = []
    for loss in [2.0, 1.0, 1.0, 1.0]:
        updates, state = tx.update(jnp.ones(()), state, value=loss)
        scales.append(float(updates))
    assert scales == ref.plateau_scales([2.0, 1.0, 1.0, 1.0], 0.5, 1)


def test_plateau_without_value_says_how_to_pass_it():
    tx = optax.chain(jl.sgd(0.1), jl.reduce_on_plateau())
    params = jnp.zeros(2)
    with pytest.raises(TypeError, match=r"reduce_on_plateau needs the extra arg `value`"):
        tx.update(params, tx.init(params), params)


# ---------------------------------------------------------------------------------- bad input

BAD_INPUT = [
    (schedules.inverse_time, {"init_value": 0.0}, "init_value"),
    (schedules.inverse_time, {"init_value": 1.0, "decay_rate": -1.0}, "decay_rate"),
    (schedules.inverse_quadratic, {"init_value": -0.1}, "init_value"),
    (schedules.inverse_sqrt, {"init_value": math.nan}, "init_value"),
    (schedules.exponential, {"init_value": -1.0, "beta": 0.1}, "init_value"),
    (schedules.exponential, {"init_value": 1.0, "beta": 0.0}, "beta"),
    (schedules.step, {"init_value": 0.0, "transition_steps": 2, "decay_rate": 0.5}, "init_value"),
    (schedules.step, {"init_value": 1.0, "transition_steps": 2, "decay_rate": 1.0}, "decay_rate"),
    (schedules.step, {"init_value": 1.0, "transition_steps": 0, "decay_rate": 0.5}, "transition_steps"),
    (
        schedules.linear_then_constant,
        {"init_value": 0.0, "end_value": 0.0, "transition_steps": 2},
        "init_value",
    ),
    (
        schedules.linear_then_constant,
        {"init_value": 1.0, "end_value": -0.1, "transition_steps": 2},
        "end_value",
    ),
    (
        schedules.linear_then_constant,
        {"init_value": 1.0, "end_value": 0.1, "transition_steps": -5},
        "transition_steps",
    ),
    (jl.reduce_on_plateau, {"factor": 0.0}, "factor"),
    (jl.reduce_on_plateau, {"factor": 1.5}, "factor"),
    (jl.reduce_on_plateau, {"patience": 0}, "patience"),
    (jl.reduce_on_plateau, {"rtol": 1.5}, "rtol"),
    (jl.reduce_on_plateau, {"atol": -1e-3}, "atol"),
    (jl.reduce_on_plateau, {"cooldown": -1}, "cooldown"),
    (jl.reduce_on_plateau, {"accumulation_size": 0}, "accumulation_size"),
    (jl.reduce_on_plateau, {"min_scale": -0.5}, "min_scale"),
]


@pytest.mark.parametrize(
    "factory, kwargs, argument", BAD_INPUT, ids=[f"{f.__name__}-{a}" for f, _, a in BAD_INPUT]
)
def test_bad_input_names_argument_range_and_value(factory, kwargs, argument):
    shown = repr(kwargs[argument])
    with pytest.raises(ValueError, match=rf"^{argument} must be in [\[(].*, got {shown}$"):
        factory(**kwargs)


#: Values for which the seeds' formulas are undefined; what the library's arithmetic gives at
#: step 3: a stair of length 0 is passed infinitely often (0.5^inf = 0), a negative τ clips
#: the fraction k/τ < 0 to 0, and patience 0 reduces at the very first loss.
OUTSIDE_THE_FORMULAS = {("step", "transition_steps"): 0.0,
                        ("linear_then_constant", "transition_steps"): 1.0,
                        ("reduce_on_plateau", "patience"): 0.1}


@pytest.mark.parametrize(
    "factory, kwargs, argument", BAD_INPUT, ids=[f"{f.__name__}-{a}" for f, _, a in BAD_INPUT]
)
def test_traced_arguments_are_not_checked(factory, kwargs, argument):
    # Under vmap over a hyperparameter no check runs, so nothing raises; the value is data.
    def build(value):
        built = factory(**{**kwargs, argument: value})
        if isinstance(built, optax.GradientTransformation):
            return built.update(jnp.ones(()), built.init(jnp.zeros(())), value=1.0)[0]
        return built(jnp.int32(3))

    traced = jax.vmap(build)(jnp.asarray([kwargs[argument]]))[0]
    # The out-of-range value is used as data: the reference formula at the same value and step.
    if (factory.__name__, argument) in OUTSIDE_THE_FORMULAS:
        expected = OUTSIDE_THE_FORMULAS[factory.__name__, argument]
    elif factory is jl.reduce_on_plateau:
        expected = 1.0  # its first update: no earlier loss to compare with, scale 1
    else:
        expected = getattr(ref, factory.__name__)(k=3, **kwargs)
    np.testing.assert_allclose(traced, expected, rtol=FORMULA_RTOL)


# ------------------------------------------------------------------------- optax's argument order


def test_step_takes_optax_order_positionally():
    ours = schedules.step(0.3, 50, 0.5)
    twin = optax.exponential_decay(0.3, 50, 0.5, staircase=True)
    steps = jnp.arange(200, dtype=jnp.int64)
    np.testing.assert_allclose(jax.vmap(ours)(steps), jax.vmap(twin)(steps), rtol=OPTAX_RTOL)


def test_step_refuses_the_swapped_order_with_the_call_to_write():
    with pytest.raises(ValueError, match=r"did you mean step\(0.3, transition_steps=50, "
                                         r"decay_rate=0.5\)"):
        schedules.step(0.3, 0.5, 50)


def test_step_refuses_the_old_keyword_naming_the_new_one():
    with pytest.raises(TypeError, match="decay_rate"):
        schedules.step(0.3, transition_steps=50, factor=0.5)
