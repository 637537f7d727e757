"""BFGS and L-BFGS: scipy's minimizers, Nocedal & Wright's update (6.17), optax's L-BFGS."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize

import jaxopt_lab as jl
from jaxopt_lab.optimizers.quasi_newton import bfgs_inverse_hessian_update as library_update
from reference.second_order import (
    bfgs_inverse_hessian_update,
    bfgs_run,
    himmelblau,
    matyas,
    rosenbrock,
    spd_quadratic,
    zakharov,
)

#: Minimizers and minimum values against scipy's BFGS, which stops by its own rule (gtol).
SCIPY_TOL = 1e-5
#: With exact line searches BFGS recovers A⁻¹ in dim + 1 steps; the error must have dropped by
#: many orders from the start (to rounding, ~1e-12 of it): six orders are unmistakable.
INVERSE_ERROR_DROP = 1e-6
#: scipy is run far past that tolerance, so that its own stopping error does not count.
SCIPY_GTOL = 1e-12
#: The team's tolerance for equality with optax (same maths, same float64 operations).
OPTAX_RTOL = 1e-6
#: Same update written two ways (expanded vs product of matrices): round-off only.
REFERENCE_RTOL = 1e-8
#: BFGS with exact line searches on a quadratic recovers A⁻¹ after n steps, up to round-off.
EXACT_INVERSE_RTOL = 1e-8
#: float64 round-off: as rtol, results that are the same computation up to the order of
#: operations; as atol, the floor for coordinates that should be exactly 0.
ROUNDOFF_TOL = 1e-12
NUM_STEPS = 100

PROBLEMS = {
    "rosenbrock": (rosenbrock, [0.0, 0.0]),
    "himmelblau": (himmelblau, [1.0, 1.0]),
    "matyas": (matyas, [6.0, 6.0]),
    "zakharov": (zakharov, [600.0, 700.0, 200.0, 100.0, 90.0, 1000.0]),
}
#: A start and two neighbours, so that every case is also a vmap over a batch.
START_OFFSETS = np.array([0.0, 0.1, -0.1])


def run(tx, fn, starts, num_steps):
    """Final points (batch, dim): one jitted scan, vmapped over starts, with the sweep's call."""
    value_and_grad = jax.value_and_grad(fn)

    def one(start):
        def body(carry, _):
            params, state = carry
            value, grad = value_and_grad(params)
            # `step` stands for extra args that an optimizer does not use: they are ignored
            # (optax's line search alone would raise on them).
            updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=fn,
                                       step=0)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(body, (start, tx.init(start)), None, length=num_steps)
        return params

    return jax.jit(jax.vmap(one))(starts)


def scipy_bfgs(fn, start):
    result = scipy.optimize.minimize(
        lambda x: float(fn(jnp.asarray(x))),
        np.asarray(start, dtype=float),
        jac=lambda x: np.asarray(jax.grad(fn)(jnp.asarray(x))),
        method="BFGS",
        options={"gtol": SCIPY_GTOL},
    )
    return result.x, result.fun


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("make_optimizer", [jl.bfgs, jl.lbfgs], ids=["bfgs", "lbfgs"])
def test_agrees_with_scipy_bfgs(make_optimizer, problem):
    fn, start = PROBLEMS[problem]
    starts = np.asarray(start) + START_OFFSETS[:, None]
    finals = np.asarray(run(make_optimizer(), fn, jnp.asarray(starts), NUM_STEPS))
    for one_start, final in zip(starts, finals):
        expected_x, expected_value = scipy_bfgs(fn, one_start)
        np.testing.assert_allclose(final, expected_x, atol=SCIPY_TOL, rtol=0)
        np.testing.assert_allclose(fn(jnp.asarray(final)), expected_value, atol=SCIPY_TOL, rtol=0)


def trajectory(tx, fn, start, num_steps):
    value_and_grad = jax.value_and_grad(fn)

    def body(carry, _):
        params, state = carry
        value, grad = value_and_grad(params)
        updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=fn)
        params = optax.apply_updates(params, updates)
        return (params, state), params

    (_, state), path = jax.lax.scan(body, (start, tx.init(start)), None, length=num_steps)
    return jnp.concatenate([start[None], path]), state


@pytest.mark.parametrize("linesearch", [True, False])
def test_lbfgs_is_optax_lbfgs(linesearch):
    # optax.lbfgs's default line search is the zoom with c1 = 1e-4, c2 = 0.9, 20 steps, guess 1.
    fn, learning_rate = (rosenbrock, 1.0) if linesearch else (matyas, 0.5)
    ours = jl.lbfgs(learning_rate, memory_size=4, linesearch=linesearch)
    theirs = optax.lbfgs(learning_rate, memory_size=4, **({} if linesearch else
                                                            {"linesearch": None}))
    start = jnp.array([-1.2, 1.0])
    path, _ = jax.jit(lambda s: trajectory(ours, fn, s, 30))(start)
    expected, _ = jax.jit(lambda s: trajectory(theirs, fn, s, 30))(start)
    np.testing.assert_allclose(path, expected, rtol=OPTAX_RTOL, atol=ROUNDOFF_TOL)


QUADRATIC, _, _, QUADRATIC_START = spd_quadratic(3, seed=1)


@pytest.mark.parametrize(
    "fn, start, learning_rate",
    [
        (QUADRATIC, QUADRATIC_START, 1.0),
        (QUADRATIC, QUADRATIC_START, 0.5),
        (himmelblau, np.array([1.0, 1.0]), 0.2),  # non-convex: some pairs have yᵀs <= 0
    ],
    ids=["quadratic-1", "quadratic-0.5", "himmelblau-0.2"],
)
def test_bfgs_without_linesearch_follows_reference(fn, start, learning_rate):
    num_steps = 12
    path, state = jax.jit(lambda s: trajectory(
        jl.bfgs(learning_rate, linesearch=False), fn, s, num_steps))(jnp.asarray(start))
    expected_path, expected_inverse = bfgs_run(jax.grad(fn), start, learning_rate, num_steps)
    np.testing.assert_allclose(path, expected_path, rtol=REFERENCE_RTOL, atol=ROUNDOFF_TOL)
    # The state holds M as updated at the last step (from the pair before it), as does the loop.
    np.testing.assert_allclose(state[0].inverse_hessian, expected_inverse, rtol=REFERENCE_RTOL)


@pytest.mark.parametrize("dim", [2, 5])
def test_inverse_hessian_reaches_true_inverse_on_quadratic(dim):
    """With exact line searches BFGS on ½xᵀAx − bᵀx has M = A⁻¹ after n steps (N&W Thm 6.4)."""
    fn, matrix, _, start = spd_quadratic(dim, seed=10 + dim)
    tx = jl.scale_by_bfgs()
    params, state = jnp.asarray(start), tx.init(jnp.asarray(start))
    errors = []
    for _ in range(dim + 1):
        grad = jax.grad(fn)(params)
        direction, state = tx.update(grad, state, params)
        # The exact minimizer along −direction of a quadratic: α = gᵀd / dᵀAd.
        step_size = (grad @ direction) / (direction @ matrix @ direction)
        params = params - step_size * direction
        errors.append(np.abs(state.inverse_hessian - np.linalg.inv(matrix)).max())
    np.testing.assert_allclose(state.inverse_hessian, np.linalg.inv(matrix),
                               rtol=EXACT_INVERSE_RTOL, atol=EXACT_INVERSE_RTOL)
    assert errors[-1] < INVERSE_ERROR_DROP * errors[0]


@pytest.mark.parametrize("curvature", [-1.0, 0.0])
def test_pair_with_nonpositive_curvature_is_skipped(curvature):
    tx = jl.scale_by_bfgs()
    first = jnp.array([0.0, 0.0])
    state = tx.update(jnp.array([1.0, 0.0]), tx.init(first), first)[1]
    before = np.asarray(state.inverse_hessian)
    # s = (1, 0), y = (curvature, 0): yᵀs = curvature.
    state = tx.update(jnp.array([1.0 + curvature, 0.0]), state, jnp.array([1.0, 0.0]))[1]
    np.testing.assert_array_equal(state.inverse_hessian, before)


def test_update_formula_matches_reference_and_secant_condition():
    rng = np.random.default_rng(5)
    root = rng.normal(size=(4, 4))
    inverse, s, y = root @ root.T + np.eye(4), rng.normal(size=4), rng.normal(size=4)
    y = y if y @ s > 0 else -y
    updated = np.asarray(library_update(jnp.asarray(inverse), jnp.asarray(s), jnp.asarray(y)))
    np.testing.assert_allclose(updated, bfgs_inverse_hessian_update(inverse, s, y),
                               rtol=REFERENCE_RTOL)
    np.testing.assert_allclose(updated @ y, s, rtol=REFERENCE_RTOL)  # M₊·y = s
    assert np.all(np.linalg.eigvalsh(updated) > 0)


def saddle(w):
    return 5.0 * w[0] ** 2 - w[1] ** 2


@pytest.mark.parametrize("make_optimizer", [jl.bfgs, jl.lbfgs], ids=["bfgs", "lbfgs"])
def test_indefinite_surface_gives_finite_steps_under_vmap(make_optimizer):
    starts = jnp.array([[1.0, 0.5], [-2.0, 0.1], [0.3, -1.0]])
    finals = run(make_optimizer(0.1, linesearch=False), saddle, starts, 10)
    assert np.all(np.isfinite(finals))
    assert np.all(jax.vmap(saddle)(finals) < jax.vmap(saddle)(starts))


def test_pytree_params():
    loss = lambda p: rosenbrock(jnp.stack([p["a"], p["b"][0]]))  # noqa: E731
    tx = jl.bfgs()
    params = {"a": jnp.asarray(0.0), "b": jnp.asarray([0.0])}

    @jax.jit
    def step(params, state):
        value, grad = jax.value_and_grad(loss)(params)
        updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(params, updates), state

    state = tx.init(params)
    for _ in range(40):
        params, state = step(params, state)
    np.testing.assert_allclose([params["a"], params["b"][0]], [1.0, 1.0], atol=SCIPY_TOL)


def line_search_extra_args(params):
    return {"value": rosenbrock(params), "grad": jax.grad(rosenbrock)(params),
            "value_fn": rosenbrock}


@pytest.mark.parametrize("missing", ["value", "grad", "value_fn"])
@pytest.mark.parametrize("make_optimizer, name", [(jl.bfgs, "bfgs"), (jl.lbfgs, "lbfgs")])
def test_missing_extra_arg_is_a_type_error(make_optimizer, name, missing):
    tx = make_optimizer()
    params = jnp.array([0.5, 0.5])
    extra = line_search_extra_args(params)
    del extra[missing]
    with pytest.raises(TypeError, match=f"{name} needs the extra arg `{missing}`"):
        tx.update(jax.grad(rosenbrock)(params), tx.init(params), params, **extra)


@pytest.mark.parametrize(
    "make_optimizer, kwargs, message",
    [
        (jl.bfgs, {"learning_rate": -1.0}, r"learning_rate must be in \(0, inf\), got -1.0"),
        (jl.lbfgs, {"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\), got 0.0"),
        (jl.lbfgs, {"memory_size": 0}, r"memory_size must be an integer in \[1, inf\], got 0"),
    ],
)
def test_bad_arguments(make_optimizer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_optimizer(**kwargs)


@pytest.mark.parametrize("make_optimizer, static", [(jl.bfgs, ()), (jl.lbfgs, ("memory_size",))],
                         ids=["bfgs", "lbfgs"])
def test_inject_hyperparams_gives_the_same_updates(make_optimizer, static):
    injected = optax.inject_hyperparams(make_optimizer, static_args=static)(
        learning_rate=0.2, linesearch=False)
    plain = make_optimizer(0.2, linesearch=False)
    start = jnp.array([1.0, 1.0])
    path, _ = trajectory(injected, himmelblau, start, 3)
    expected, _ = trajectory(plain, himmelblau, start, 3)
    np.testing.assert_allclose(path, expected, rtol=ROUNDOFF_TOL)
