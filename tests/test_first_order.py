"""First-order optimizers against their formulas (tests/reference/first_order.py) and optax.

Every optimizer runs ≥ 50 steps on a rotated ill-conditioned quadratic and on Rosenbrock, eagerly
and under ``jax.jit``, and must visit the reference's points. Then: equality with optax where the
maths is identical, the momentum forms' relations, Nesterov's change of variables, learning-rate
schedules inside the state, and bad input.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from reference import first_order as ref

import jaxopt_lab as jl

NUM_STEPS = 60
#: Our points vs the NumPy reference: same float64 maths in a different operation order; the
#: rounding differences (observed <= 1e-15 here) may grow along 60 steps; 1e-10 leaves room
#: for other backends while catching any difference in the formula.
REFERENCE_RTOL = 1e-10
REFERENCE_ATOL = 1e-12
#: "Identical maths" with optax: the same formula in another order of operations (float64 runs
#: agree to ~1e-12; 1e-6 leaves room for the runs' amplification of rounding on Rosenbrock).
OPTAX_RTOL = 1e-6
OPTAX_ATOL = 1e-12
#: Nesterov's two forms under the change of variables φ = W + β·ΔW: float64 round-off only.
NESTEROV_ATOL = 1e-10
#: Algebraically equal forms of momentum (differ only by rounding in float64).
FORMS_ATOL = 1e-10

ANGLE = np.pi / 6
ROTATION = np.array([[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]])
#: Rotated quadratic ½·xᵀAx with eigenvalues 1 and 10 (condition number 10), minimum at 0.
HESSIAN = ROTATION @ np.diag([1.0, 10.0]) @ ROTATION.T


def quadratic(x):
    return 0.5 * x @ jnp.asarray(HESSIAN) @ x


def rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


PROBLEMS = {
    "quadratic": (quadratic, np.array([2.0, 1.5])),
    "rosenbrock": (rosenbrock, np.array([-1.2, 1.0])),
}


@functools.cache
def jitted_grad(fn):
    return jax.jit(jax.grad(fn))


def numpy_grad(fn):
    grad = jitted_grad(fn)
    return lambda x: np.asarray(grad(jnp.asarray(x)))


def step_fn(tx, value_fn, grad_fn=None):
    """One step: the gradient at the current point, then the optimizer's update."""
    extra = isinstance(tx, optax.GradientTransformationExtraArgs)
    grad_fn = grad_fn or jax.grad(value_fn)

    def step(carry, _=None):
        params, state = carry
        grads = grad_fn(params)
        kwargs = {"value_fn": value_fn} if extra else {}
        updates, state = tx.update(grads, state, params, **kwargs)
        params = optax.apply_updates(params, updates)
        return (params, state), params

    return step


def trajectory(tx, value_fn, start, num_steps=NUM_STEPS, *, mode="jit"):
    """Points visited, (num_steps + 1, dim); ``mode`` "jit" (one lax.scan) or "eager"."""
    start = jnp.asarray(start)
    carry = (start, tx.init(start))
    if mode == "eager":  # the optimizer runs op by op; only the loss gradient is compiled
        step = step_fn(tx, value_fn, jitted_grad(value_fn))
        points = [start]
        for _ in range(num_steps):
            carry, point = step(carry)
            points.append(point)
        return np.asarray(jnp.stack(points))
    step = step_fn(tx, value_fn)
    run = jax.jit(lambda carry: jax.lax.scan(step, carry, length=num_steps)[1])
    return np.asarray(jnp.concatenate([start[None], run(carry)]))


def nesterov_reformulated_ref(grad_fn, start, num_steps, learning_rate, momentum):
    """The look-ahead points φ = W + β·ΔW of the look-ahead Nesterov run."""
    points, velocities = ref.nesterov_run(grad_fn, start, num_steps, learning_rate, momentum,
                                          return_velocity=True)
    return points + momentum * velocities


# (name, our optimizer, reference run, hyperparameters for the quadratic, for Rosenbrock).
CASES = [
    ("sgd", jl.sgd, ref.sgd_run,
     {"learning_rate": 0.15}, {"learning_rate": 1e-3}),
    ("momentum-velocity", jl.momentum, ref.momentum_velocity_run,
     {"learning_rate": 0.02, "momentum": 0.9}, {"learning_rate": 2e-4, "momentum": 0.9}),
    ("momentum-ewma", functools.partial(jl.momentum, form="ewma"), ref.momentum_ewma_run,
     {"learning_rate": 0.15, "momentum": 0.8}, {"learning_rate": 1e-3, "momentum": 0.9}),
    ("nesterov-lookahead", functools.partial(jl.nesterov, lookahead=True), ref.nesterov_run,
     {"learning_rate": 0.02, "momentum": 0.9}, {"learning_rate": 2e-4, "momentum": 0.9}),
    ("nesterov", jl.nesterov, nesterov_reformulated_ref,
     {"learning_rate": 0.02, "momentum": 0.9}, {"learning_rate": 2e-4, "momentum": 0.9}),
    ("adagrad-eps-outside", jl.adagrad, ref.adagrad_run,
     {"learning_rate": 0.5}, {"learning_rate": 0.1}),
    ("adagrad-eps-root", jl.adagrad, ref.adagrad_run,
     {"learning_rate": 0.5, "eps": 0.0, "eps_root": 1e-7, "initial_accumulator_value": 0.1},
     {"learning_rate": 0.1, "eps": 0.0, "eps_root": 1e-7}),
    ("rmsprop-eps-outside", jl.rmsprop, ref.rmsprop_run,
     {"learning_rate": 0.02, "decay": 0.9}, {"learning_rate": 5e-3, "decay": 0.99}),
    ("rmsprop-eps-root", jl.rmsprop, ref.rmsprop_run,
     {"learning_rate": 0.02, "decay": 0.9, "eps": 0.0, "eps_root": 1e-6},
     {"learning_rate": 5e-3, "decay": 0.99, "eps": 0.0, "eps_root": 1e-6}),
    ("adadelta", jl.adadelta, ref.adadelta_run,
     {}, {"learning_rate": 2.0, "rho": 0.95, "eps": 1e-5}),
    ("adam-eps-outside", jl.adam, ref.adam_run,
     {"learning_rate": 0.05}, {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99}),
    ("adam-eps-root", jl.adam, ref.adam_run,
     {"learning_rate": 0.05, "eps": 0.0, "eps_root": 1e-8},
     {"learning_rate": 0.01, "eps": 0.0, "eps_root": 1e-8}),
    ("adamw", jl.adamw, functools.partial(ref.adam_run, weight_decay=0.1),
     {"learning_rate": 0.05, "weight_decay": 0.1}, {"learning_rate": 0.01, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("mode", ["jit", "eager"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name, make, reference, quadratic_hp, rosenbrock_hp", CASES,
                         ids=[case[0] for case in CASES])
def test_matches_reference(name, make, reference, quadratic_hp, rosenbrock_hp, problem,
                                mode):
    fn, start = PROBLEMS[problem]
    hyperparams = quadratic_hp if problem == "quadratic" else rosenbrock_hp
    ours = trajectory(make(**hyperparams), fn, start, mode=mode)
    expected = reference(numpy_grad(fn), start, NUM_STEPS, **hyperparams)
    assert np.all(np.isfinite(expected)) and not np.allclose(expected[-1], start)
    np.testing.assert_allclose(ours, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


# (name, ours, optax's twin): the same maths, so the same points.
OPTAX_TWINS = [
    ("sgd", jl.sgd(0.15), optax.sgd(0.15)),
    ("momentum", jl.momentum(0.02, 0.9), optax.sgd(0.02, momentum=0.9)),
    ("nesterov", jl.nesterov(0.02, 0.9), optax.sgd(0.02, momentum=0.9, nesterov=True)),
    ("adagrad", jl.adagrad(0.5, eps=0.0, eps_root=1e-7, initial_accumulator_value=0.1),
     optax.adagrad(0.5, initial_accumulator_value=0.1, eps=1e-7)),
    ("rmsprop-eps", jl.rmsprop(0.02, 0.9, eps=1e-8),
     optax.rmsprop(0.02, 0.9, eps=1e-8, eps_in_sqrt=False)),
    ("rmsprop-eps-root", jl.rmsprop(0.02, 0.9, eps=0.0, eps_root=1e-8),
     optax.rmsprop(0.02, 0.9, eps=1e-8, eps_in_sqrt=True)),
    ("adadelta", jl.adadelta(0.5, rho=0.95, eps=1e-6), optax.adadelta(0.5, rho=0.95, eps=1e-6)),
    ("adam", jl.adam(0.05), optax.adam(0.05)),
    ("adam-eps-root", jl.adam(0.05, eps=0.0, eps_root=1e-8),
     optax.adam(0.05, eps=0.0, eps_root=1e-8)),
    ("adamw", jl.adamw(0.05, weight_decay=0.1), optax.adamw(0.05, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, ours, twin", OPTAX_TWINS, ids=[case[0] for case in OPTAX_TWINS])
def test_equals_optax(name, ours, twin):
    fn, start = PROBLEMS["quadratic"]
    np.testing.assert_allclose(trajectory(ours, fn, start), trajectory(twin, fn, start),
                               rtol=OPTAX_RTOL, atol=OPTAX_ATOL)


def test_adadelta_does_not_inherit_optax_sign_slip():
    # optax.adadelta(learning_rate=None) skips scale_by_learning_rate, so its "update" is +d:
    # a step *up* the gradient. Ours always descends, and refuses None.
    params, grads = jnp.array([1.0, -2.0]), jnp.array([2.0, -4.0])
    slip = optax.adadelta(learning_rate=None)
    optax_updates, _ = slip.update(grads, slip.init(params), params)
    ours = jl.adadelta()
    our_updates, _ = ours.update(grads, ours.init(params), params)
    assert np.all(np.asarray(optax_updates * grads) > 0)
    assert np.all(np.asarray(our_updates * grads) < 0)
    np.testing.assert_allclose(our_updates, -optax_updates, rtol=OPTAX_RTOL)
    with pytest.raises(ValueError, match="learning_rate must be in"):
        jl.adadelta(learning_rate=None)


def test_velocity_and_ewma_forms_relate_by_one_minus_beta():
    """form="ewma" with η̃ visits the points of form="velocity" with η = η̃·(1−β)."""
    fn, start = PROBLEMS["rosenbrock"]
    beta, ewma_rate = 0.9, 1e-3
    ewma = trajectory(jl.momentum(ewma_rate, beta, form="ewma"), fn, start)
    velocity = trajectory(jl.momentum(ewma_rate * (1 - beta), beta), fn, start)
    np.testing.assert_allclose(ewma, velocity, atol=FORMS_ATOL)
    assert not np.allclose(ewma, trajectory(jl.momentum(ewma_rate, beta), fn, start))


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_three_momentum_forms_agree(problem):
    """(1) v ← αv − εg, θ ← θ + v; (2) θ ← θ − ε(g + α·v), v ← αv + g;
    (3) v ← αv + (1−α)g, θ ← θ − ε̃v with ε = ε̃(1−α). Ours in both forms visit the same points."""
    fn, start = PROBLEMS[problem]
    beta, rate = 0.9, 2e-4 if problem == "rosenbrock" else 0.02
    grad_fn = numpy_grad(fn)
    form1 = ref.momentum_velocity_run(grad_fn, start, NUM_STEPS, rate, beta)
    form2 = ref.momentum_gradient_plus_velocity_run(grad_fn, start, NUM_STEPS, rate, beta)
    form3 = ref.momentum_ewma_run(grad_fn, start, NUM_STEPS, rate / (1 - beta), beta)
    ours_velocity = trajectory(jl.momentum(rate, beta), fn, start)
    ours_ewma = trajectory(jl.momentum(rate / (1 - beta), beta, form="ewma"), fn, start)
    for points in (form2, form3, ours_velocity, ours_ewma):
        np.testing.assert_allclose(points, form1, atol=FORMS_ATOL)


def _nesterov_both(fn, start, learning_rate, beta):
    """(W_t, ΔW_t) of lookahead=True and φ_t of lookahead=False, t = 1 … NUM_STEPS."""
    start = jnp.asarray(start)
    literal = jl.nesterov(learning_rate, beta, lookahead=True)
    step = step_fn(literal, fn)

    def literal_step(carry, _):
        carry, params = step(carry)
        return carry, (params, carry[1].velocity)

    _, (points, velocities) = jax.jit(
        lambda c: jax.lax.scan(literal_step, c, length=NUM_STEPS))((start, literal.init(start)))
    reformulated = trajectory(jl.nesterov(learning_rate, beta), fn, start)[1:]
    return np.asarray(points), np.asarray(velocities), reformulated


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("schedule", [False, True], ids=["constant", "schedule"])
def test_nesterov_forms_same_points_under_change_of_variables(problem, schedule):
    """φ_t = W_t + β·ΔW_t, to 1e-10, with a constant η and with a schedule (η is in the state)."""
    fn, start = PROBLEMS[problem]
    base = 2e-4 if problem == "rosenbrock" else 0.02
    learning_rate = (lambda k: base / (1.0 + 0.05 * k)) if schedule else base
    beta = 0.9
    points, velocities, reformulated = _nesterov_both(fn, start, learning_rate, beta)
    np.testing.assert_allclose(reformulated, points + beta * velocities, atol=NESTEROV_ATOL)
    assert not np.allclose(reformulated, points, atol=1e-4)  # the change of variables matters


def inverse_time(base):
    return lambda k: base / (k + 1.0)


def test_velocity_momentum_schedule_is_inside_the_state():
    """ΔW_t = β·ΔW_{t−1} − η_t·g_t (the velocity form), not optax's −η_t·(g_t + β·v_{t−1})."""
    fn, start = PROBLEMS["quadratic"]
    schedule = inverse_time(0.05)
    ours = trajectory(jl.momentum(schedule, 0.9), fn, start)
    expected = ref.momentum_velocity_run(numpy_grad(fn), start, NUM_STEPS, schedule, 0.9)
    np.testing.assert_allclose(ours, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)
    optax_form = trajectory(optax.sgd(schedule, momentum=0.9), fn, start)
    assert np.max(np.abs(optax_form - ours)) > 1e-2  # the two placements of η really differ


@pytest.mark.parametrize("name, make, reference", [
    ("nesterov-lookahead", functools.partial(jl.nesterov, lookahead=True), ref.nesterov_run),
    ("momentum-ewma", functools.partial(jl.momentum, form="ewma"), ref.momentum_ewma_run),
    ("sgd", lambda learning_rate, momentum: jl.sgd(learning_rate),
     lambda grad_fn, start, num_steps, learning_rate, momentum:
     ref.sgd_run(grad_fn, start, num_steps, learning_rate)),
])
def test_schedules_follow_the_formula(name, make, reference):
    fn, start = PROBLEMS["quadratic"]
    schedule = inverse_time(0.1)
    ours = trajectory(make(learning_rate=schedule, momentum=0.8), fn, start)
    expected = reference(numpy_grad(fn), start, NUM_STEPS, learning_rate=schedule, momentum=0.8)
    np.testing.assert_allclose(ours, expected, rtol=REFERENCE_RTOL, atol=REFERENCE_ATOL)


def test_lookahead_needs_value_fn():
    tx = jl.nesterov(0.1, lookahead=True)
    params = jnp.zeros(2)
    with pytest.raises(TypeError, match="value_fn"):
        tx.update(params, tx.init(params), params)


BAD_INPUT = [
    (jl.sgd, {"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\), got 0.0"),
    (jl.sgd, {"learning_rate": -0.1}, r"learning_rate must be in \(0, inf\), got -0.1"),
    (jl.sgd, {"learning_rate": float("nan")}, r"learning_rate must be in \(0, inf\), got nan"),
    (jl.sgd, {"learning_rate": None}, r"learning_rate must be in \(0, inf\), got None"),
    (jl.momentum, {"learning_rate": 0.1, "momentum": 1.0},
     r"momentum must be in \[0, 1\), got 1.0"),
    (jl.momentum, {"learning_rate": 0.1, "momentum": -0.1}, r"momentum must be in \[0, 1\)"),
    (jl.momentum, {"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\)"),
    (jl.momentum, {"learning_rate": 0.1, "form": "heavy"},
     r"form must be one of 'velocity', 'ewma', got 'heavy'"),
    (jl.scale_by_momentum, {"momentum": 1.2}, r"momentum must be in \[0, 1\), got 1.2"),
    (jl.nesterov, {"learning_rate": 0.1, "momentum": 1.2},
     r"momentum must be in \[0, 1\), got 1.2"),
    (jl.nesterov, {"learning_rate": -1.0, "lookahead": True}, r"learning_rate must be in"),
    (jl.scale_by_nesterov, {"momentum": -0.5}, r"momentum must be in \[0, 1\)"),
    (jl.adagrad, {"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\)"),
    (jl.adagrad, {"learning_rate": 0.1, "eps": -1e-8}, r"eps must be in \[0, inf\), got -1e-08"),
    (jl.adagrad, {"learning_rate": 0.1, "eps_root": -1.0}, r"eps_root must be in \[0, inf\)"),
    (jl.adagrad, {"learning_rate": 0.1, "initial_accumulator_value": -0.1},
     r"initial_accumulator_value must be in \[0, inf\)"),
    (jl.adadelta, {"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\)"),
    (jl.adadelta, {"rho": 1.0}, r"rho must be in \(0, 1\), got 1.0"),
    (jl.adadelta, {"rho": 0.0}, r"rho must be in \(0, 1\), got 0.0"),
    (jl.adadelta, {"eps": -1e-6}, r"eps must be in \(0, inf\)"),
    (jl.adadelta, {"eps": 0.0}, r"eps must be in \(0, inf\), got 0.0"),  # would never move
    (jl.rmsprop, {"learning_rate": 0.1, "decay": 1.0}, r"decay must be in \(0, 1\), got 1.0"),
    (jl.rmsprop, {"learning_rate": 0.1, "decay": -0.5}, r"decay must be in \(0, 1\), got -0.5"),
    (jl.rmsprop, {"learning_rate": 0.1, "eps": -1.0}, r"eps must be in \[0, inf\)"),
    (jl.rmsprop, {"learning_rate": 0.1, "eps_root": -1.0}, r"eps_root must be in \[0, inf\)"),
    (jl.adam, {"learning_rate": 0.1, "b1": 1.0}, r"b1 must be in \[0, 1\), got 1.0"),
    (jl.adam, {"learning_rate": 0.1, "b2": -0.1}, r"b2 must be in \[0, 1\), got -0.1"),
    (jl.adam, {"learning_rate": 0.1, "eps": -1.0}, r"eps must be in \[0, inf\)"),
    (jl.adam, {"learning_rate": -0.1}, r"learning_rate must be in \(0, inf\)"),
    (jl.adamw, {"learning_rate": 0.1, "weight_decay": -0.01},
     r"weight_decay must be in \[0, inf\), got -0.01"),
    (jl.adamw, {"learning_rate": 0.1, "b2": 1.5}, r"b2 must be in \[0, 1\), got 1.5"),
]


@pytest.mark.parametrize("make, kwargs, message", BAD_INPUT,
                         ids=[f"{make.__name__}-{sorted(kw.items())}" for make, kw, _ in BAD_INPUT])
def test_bad_input_raises_value_error(make, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_checks_skip_traced_hyperparameters():
    """Inside jit, even out-of-range traced values build an optimizer: no check runs, and the
    values are used as given (η = −1, β = 2 turn descent into ascent, as the formulas say)."""
    grads = jnp.array([1.0, 2.0])

    def build(learning_rate, beta):
        for tx in (jl.adagrad(learning_rate, eps=-beta), jl.adadelta(learning_rate, rho=beta),
                   jl.rmsprop(learning_rate, beta), jl.adam(learning_rate, beta, beta),
                   jl.adamw(learning_rate, beta, beta)):
            tx.init(jnp.zeros(2))
        first_steps = []
        for tx in (jl.sgd(learning_rate), jl.momentum(learning_rate, beta),
                   jl.nesterov(learning_rate, beta)):
            first_steps.append(tx.update(grads, tx.init(jnp.zeros(2)), jnp.zeros(2))[0])
        return jnp.stack(first_steps)

    sgd_step, momentum_step, nesterov_step = jax.jit(build)(-1.0, 2.0)
    np.testing.assert_array_equal(sgd_step, grads)  # −η·g
    np.testing.assert_array_equal(momentum_step, grads)  # ΔW = −η·g from ΔW = 0
    np.testing.assert_array_equal(nesterov_step, 3.0 * grads)  # β·ΔW − η·g = −(β + 1)·η·g
