"""Newton's method: one step on quadratics, the η regimes, saddles, solvers."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.optimizers import newton as newton_module
from reference.second_order import himmelblau, newton_step, spd_quadratic

#: One Newton step on a quadratic is a linear solve; condition numbers here are < 1e3, so float64
#: round-off stays far below this.
ONE_STEP_RTOL = 1e-9
#: CG stops at relative residual 1e-10 (newton.CG_TOL); the error in x is at most cond(A) times it.
CG_RTOL = 1e-7
#: Dense eigendecomposition against NumPy's solve of the same system: round-off only.
REFERENCE_RTOL = 1e-9
#: Newton's regimes on a quadratic: error_k = (1 − η)^k · error_0, exact up to round-off.
REGIME_RTOL = 1e-8
NUM_REGIME_STEPS = 20
#: float64 round-off: as rtol, results that are the same computation up to the order of
#: operations; as atol, the floor for coordinates that should be exactly 0.
ROUNDOFF_TOL = 1e-12

DIMS = (1, 3, 8)


def newton_update(tx, fn, params):
    state = tx.init(params)
    updates, _ = tx.update(jax.grad(fn)(params), state, params, value_fn=fn)
    return updates


@pytest.mark.parametrize("solver", ["dense", "cg"])
@pytest.mark.parametrize("dim", DIMS)
def test_one_step_reaches_minimum_of_spd_quadratic(dim, solver):
    fn, matrix, offset, start = spd_quadratic(dim, seed=dim)
    params = jnp.asarray(start)
    reached = params + newton_update(jl.newton(1.0, solver=solver), fn, params)
    rtol = ONE_STEP_RTOL if solver == "dense" else CG_RTOL
    np.testing.assert_allclose(reached, np.linalg.solve(matrix, offset), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("saddle_free", [False, True])
@pytest.mark.parametrize("damping", [0.0, 0.7])
@pytest.mark.parametrize("point", [(0.5, -1.0), (-0.27, -0.92), (3.5, 1.5)])
def test_step_matches_reference(point, damping, saddle_free):
    # Himmelblau's Hessian is indefinite at (0.5, -1) and (-0.27, -0.92), definite at (3.5, 1.5).
    params = jnp.asarray(point)
    tx = jl.newton(learning_rate=0.8, damping=damping, saddle_free=saddle_free)
    expected = newton_step(
        jax.hessian(himmelblau)(params), jax.grad(himmelblau)(params), 0.8, damping, saddle_free
    )
    np.testing.assert_allclose(newton_update(tx, himmelblau, params), expected,
                               rtol=REFERENCE_RTOL)


def run_newton(tx, fn, starts, num_steps):
    """Trajectories (batch, num_steps + 1, dim): one jitted scan, vmapped over starts."""

    def one(start):
        def body(params_and_state, _):
            params, state = params_and_state
            updates, state = tx.update(jax.grad(fn)(params), state, params, value_fn=fn)
            params = optax.apply_updates(params, updates)
            return (params, state), params

        _, path = jax.lax.scan(body, (start, tx.init(start)), None, length=num_steps)
        return jnp.concatenate([start[None], path])

    return jax.jit(jax.vmap(one))(starts)


LEARNING_RATES = np.array([0.3, 1.0, 1.5, 1.9, 2.1, 3.0])


def test_learning_rate_regimes_on_quadratic():
    """η = 1 is exact, 0 < η < 2 converges, η > 2 diverges; here e_k = (1 − η)^k e_0."""
    fn, matrix, offset, start = spd_quadratic(3, seed=7)
    minimum = np.linalg.solve(matrix, offset)

    def path_for(learning_rate):
        return run_newton(jl.newton(learning_rate), fn, jnp.asarray(start)[None],
                          NUM_REGIME_STEPS)[0]

    paths = np.asarray(jax.jit(jax.vmap(path_for))(jnp.asarray(LEARNING_RATES)))
    errors = np.linalg.norm(paths - minimum, axis=-1)
    steps = np.arange(NUM_REGIME_STEPS + 1)
    expected = np.abs(1.0 - LEARNING_RATES)[:, None] ** steps * errors[:, :1]
    np.testing.assert_allclose(errors, expected, rtol=REGIME_RTOL, atol=ROUNDOFF_TOL)
    converging = LEARNING_RATES < 2.0
    inexact = LEARNING_RATES != 1.0  # η = 1 sits at the minimum (error 0) from step 1 on
    assert np.all(np.diff(errors[converging & inexact]) < 0)
    assert np.all(errors[converging, -1] < errors[converging, 0])
    assert np.all(np.diff(errors[~converging]) > 0)


def saddle(w):
    return 5.0 * w[0] ** 2 - w[1] ** 2


SADDLE_STARTS = jnp.array([[1.0, 0.5], [-2.0, 0.1], [0.3, -1.0]])


def test_plain_newton_converges_to_saddle_saddle_free_leaves_it():
    plain = run_newton(jl.newton(), saddle, SADDLE_STARTS, 10)
    free = run_newton(jl.newton(saddle_free=True), saddle, SADDLE_STARTS, 10)
    # H = diag(10, −2): Newton solves the quadratic exactly, landing on the saddle in one step.
    chex.assert_trees_all_close(plain[:, -1], jnp.zeros_like(SADDLE_STARTS), atol=ROUNDOFF_TOL)
    # |H| = diag(10, 2): x is solved exactly, y doubles each step (y ← y + y), away from 0.
    np.testing.assert_allclose(free[:, -1, 0], 0.0, atol=ROUNDOFF_TOL)
    np.testing.assert_allclose(free[:, -1, 1], SADDLE_STARTS[:, 1] * 2.0**10, rtol=ROUNDOFF_TOL)
    assert np.all(jax.vmap(saddle)(free[:, -1]) < jax.vmap(saddle)(SADDLE_STARTS))


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_one_step_under_jit_and_vmap(solver):
    fn, matrix, offset, _ = spd_quadratic(4, seed=11)
    starts = jnp.asarray(np.random.default_rng(11).normal(size=(3, 4)) * 5.0)
    paths = run_newton(jl.newton(solver=solver), fn, starts, 1)
    expected = np.broadcast_to(np.linalg.solve(matrix, offset), (3, 4))
    np.testing.assert_allclose(paths[:, 1], expected, rtol=CG_RTOL, atol=CG_RTOL)


def test_singular_hessian_flags_non_finite_and_damping_fixes_it():
    # f = x₀² has H = diag(2, 0): the plain system is singular.
    flat = lambda w: w[0] ** 2 + 0.0 * w[1]  # noqa: E731
    starts = jnp.array([[1.0, 2.0], [-3.0, 0.5]])
    plain = run_newton(jl.newton(), flat, starts, 2)
    assert not np.all(np.isfinite(plain[:, -1]))
    damped = run_newton(jl.newton(damping=0.1), flat, starts, 2)
    assert np.all(np.isfinite(damped))


def test_schedule_scales_each_step():
    fn, matrix, offset, start = spd_quadratic(2, seed=3)
    schedule = optax.piecewise_constant_schedule(0.5, {1: 2.0})  # η_0 = 0.5, then η = 1
    path = run_newton(jl.newton(schedule), fn, jnp.asarray(start)[None], 2)[0]
    minimum = np.linalg.solve(matrix, offset)
    np.testing.assert_allclose(path[1], 0.5 * (start + minimum), rtol=ONE_STEP_RTOL)
    np.testing.assert_allclose(path[2], minimum, rtol=ONE_STEP_RTOL)


def test_pytree_params_flatten():
    loss = lambda p: himmelblau(jnp.stack([p["a"], p["b"][0]]))  # noqa: E731
    params = {"a": jnp.asarray(3.5), "b": jnp.asarray([1.5])}
    flat = jnp.array([3.5, 1.5])
    tx = jl.newton(saddle_free=True)
    updates = newton_update(tx, loss, params)
    np.testing.assert_allclose(
        [updates["a"], updates["b"][0]], newton_update(tx, himmelblau, flat), rtol=ROUNDOFF_TOL
    )


def test_auto_uses_matrix_free_cg_above_dense_limit(monkeypatch):
    def no_dense_hessian(*args):
        raise AssertionError("the dense Hessian must not be formed")

    monkeypatch.setattr(newton_module, "hessian_of", no_dense_hessian)
    dim = newton_module.DENSE_MAX_DIM + 1
    # Three distinct curvatures: CG solves it exactly in three Hessian-vector products.
    curvatures = jnp.tile(jnp.array([1.0, 4.0, 9.0]), dim // 3 + 1)[:dim]
    fn = lambda x: 0.5 * jnp.sum(curvatures * x**2)  # noqa: E731
    params = jnp.ones(dim)
    updates = newton_update(jl.newton(max_cg_steps=5), fn, params)
    np.testing.assert_allclose(params + updates, 0.0, atol=CG_RTOL)


def test_missing_value_fn_is_a_type_error():
    tx = jl.newton()
    params = jnp.ones(2)
    with pytest.raises(TypeError, match="value_fn=loss_fn"):
        tx.update(params, tx.init(params), params)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"damping": -1.0}, r"damping must be in \[0, inf\), got -1.0"),
        ({"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\), got 0.0"),
        ({"solver": "lu"}, "solver must be one of"),
        ({"saddle_free": True, "solver": "cg"}, "saddle_free"),
        ({"max_cg_steps": 0}, "max_cg_steps"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jl.newton(**kwargs)


def test_inject_hyperparams_gives_the_same_update():
    params = jnp.array([3.5, 1.5])
    injected = optax.inject_hyperparams(jl.newton)(learning_rate=0.5, damping=0.1)
    plain = jl.newton(0.5, 0.1)
    np.testing.assert_allclose(newton_update(injected, himmelblau, params),
                               newton_update(plain, himmelblau, params), rtol=ROUNDOFF_TOL)
