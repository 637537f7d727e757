"""Levenberg-Marquardt: its two limits, and the λ sequence against the accept/reject rule."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from reference.second_order import (
    himmelblau,
    levenberg_marquardt_run,
    newton_step,
    rosenbrock,
)

#: (H + λI)⁻¹g = g/λ − Hg/λ² + …: with ‖H‖ ≈ 2e3 and λ = 1e10 the relative gap is ≈ 2e-7.
LARGE_DAMPING = 1e10
LARGE_DAMPING_RTOL = 1e-6
#: With λ = 1e-12 and eigenvalues of H >= 1 the gap to Newton's step is ≈ 1e-12, relative.
SMALL_DAMPING = 1e-12
SMALL_DAMPING_RTOL = 1e-9
#: The trajectory is the reference loop's up to round-off in two different linear solvers.
TRAJECTORY_RTOL = 1e-8
#: float64 round-off: as rtol, results that are the same computation up to the order of
#: operations; as atol, the floor for coordinates that should be exactly 0.
ROUNDOFF_TOL = 1e-12
#: Rosenbrock's minimum (1, 1) after NUM_STEPS steps: the run has converged (Newton-like steps
#: near the minimum), so √eps ≈ 1.5e-8, the sweep's convergence tolerance, is met.
CONVERGED_ATOL = 1e-8
NUM_STEPS = 25

POINTS = [(rosenbrock, (-1.0, 0.5)), (himmelblau, (3.5, 1.5)), (himmelblau, (-3.0, 3.0))]


def one_update(tx, fn, params):
    updates, state = tx.update(jax.grad(fn)(params), tx.init(params), params, value_fn=fn)
    return updates, state


@pytest.mark.parametrize("fn, point", POINTS)
def test_large_damping_is_gradient_step(fn, point):
    params = jnp.asarray(point)
    updates, state = one_update(jl.levenberg_marquardt(LARGE_DAMPING), fn, params)
    expected = -np.asarray(jax.grad(fn)(params)) / LARGE_DAMPING
    np.testing.assert_allclose(updates, expected, rtol=LARGE_DAMPING_RTOL)
    np.testing.assert_allclose(state.damping, LARGE_DAMPING / 10.0)  # accepted: λ / decrease


@pytest.mark.parametrize("fn, point", [(rosenbrock, (0.9, 0.8)), (himmelblau, (3.5, 1.5))])
def test_small_damping_is_newton_step(fn, point):
    # Both points have a positive definite Hessian and a Newton step that lowers the loss.
    params = jnp.asarray(point)
    updates, _ = one_update(jl.levenberg_marquardt(SMALL_DAMPING), fn, params)
    expected = newton_step(jax.hessian(fn)(params), jax.grad(fn)(params))
    np.testing.assert_allclose(updates, expected, rtol=SMALL_DAMPING_RTOL)


def run_lm(tx, fn, starts, num_steps):
    """Points and λ, each with a leading batch axis: one jitted scan, vmapped over starts."""

    def one(start):
        def body(carry, _):
            params, state = carry
            value, grad = jax.value_and_grad(fn)(params)
            updates, state = tx.update(grad, state, params, value=value, value_fn=fn)
            params = params + updates
            return (params, state), (params, state.damping)

        state = tx.init(start)
        _, (path, dampings) = jax.lax.scan(body, (start, state), None, length=num_steps)
        return (jnp.concatenate([start[None], path]),
                jnp.concatenate([state.damping[None], dampings]))

    return jax.jit(jax.vmap(one))(starts)


def test_damping_follows_accept_reject_on_rosenbrock():
    starts = jnp.array([[0.0, 0.0], [-1.2, 1.0], [2.0, -1.0]])
    paths, dampings = run_lm(jl.levenberg_marquardt(1e-3, 10.0, 10.0), rosenbrock, starts,
                             NUM_STEPS)
    for start, path, damping in zip(starts, paths, dampings):
        expected_path, expected_damping = levenberg_marquardt_run(
            rosenbrock, jax.grad(rosenbrock), jax.hessian(rosenbrock), start,
            1e-3, 10.0, 10.0, NUM_STEPS,
        )
        np.testing.assert_allclose(path, expected_path, rtol=TRAJECTORY_RTOL, atol=ROUNDOFF_TOL)
        np.testing.assert_allclose(damping, expected_damping, rtol=TRAJECTORY_RTOL)
        moved = np.any(np.diff(np.asarray(path), axis=0) != 0, axis=1)
        ratio = np.asarray(damping[1:] / damping[:-1])
        # The rule itself: accepted (moved) ⇔ λ divided by 10; rejected (stayed) ⇔ λ times 10.
        np.testing.assert_allclose(ratio, np.where(moved, 0.1, 10.0), rtol=ROUNDOFF_TOL)
    # Rosenbrock's curved valley makes Newton-like steps fail: both branches really happen.
    all_moved = np.any(np.diff(np.asarray(paths), axis=1) != 0, axis=2)
    assert all_moved.any() and not all_moved.all()
    np.testing.assert_allclose(paths[0, -1], [1.0, 1.0], atol=CONVERGED_ATOL)


def test_indefinite_and_singular_systems_stay_finite():
    # f = x₀² − x₁²/2 has H = diag(2, −1); with λ = 1, H + λI = diag(3, 0) is singular.
    fn = lambda w: w[0] ** 2 - 0.5 * w[1] ** 2  # noqa: E731
    starts = jnp.array([[1.0, 0.5], [-2.0, 1.0]])
    paths, dampings = run_lm(jl.levenberg_marquardt(1.0), fn, starts, 6)
    assert np.all(np.isfinite(paths)) and np.all(np.isfinite(dampings))
    np.testing.assert_array_equal(paths[:, 1], starts)  # the non-finite trial was rejected
    assert np.all(jax.vmap(fn)(paths[:, -1]) < jax.vmap(fn)(starts))


def test_missing_value_fn_is_a_type_error():
    tx = jl.levenberg_marquardt()
    params = jnp.ones(2)
    with pytest.raises(TypeError, match="levenberg_marquardt needs the extra arg `value_fn`"):
        tx.update(params, tx.init(params), params)


def test_value_is_optional_and_unknown_extra_args_are_ignored():
    tx = jl.levenberg_marquardt()
    params = jnp.array([1.0, 2.0])
    grad = jax.grad(himmelblau)(params)
    with_value, _ = tx.update(grad, tx.init(params), params, value_fn=himmelblau,
                              value=himmelblau(params), unused=3)
    without_value, _ = tx.update(grad, tx.init(params), params, value_fn=himmelblau)
    np.testing.assert_array_equal(with_value, without_value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"damping": 0.0}, r"damping must be in \(0, inf\), got 0.0"),
        ({"increase": 1.0}, r"increase must be in \(1, inf\), got 1.0"),
        ({"decrease": 0.5}, r"decrease must be in \(1, inf\), got 0.5"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jl.levenberg_marquardt(**kwargs)


def test_inject_hyperparams_keeps_damping_in_the_state():
    # The hyperparameter is only λ's initial value; the state's λ evolves under injection too.
    injected = optax.inject_hyperparams(jl.levenberg_marquardt)(damping=1e-2)
    plain = jl.levenberg_marquardt(1e-2)
    params = jnp.array([-1.0, 0.5])
    grad = jax.grad(rosenbrock)(params)
    (ours, state), (expected, expected_state) = [
        tx.update(grad, tx.init(params), params, value_fn=rosenbrock) for tx in (injected, plain)
    ]
    np.testing.assert_allclose(ours, expected, rtol=ROUNDOFF_TOL)
    np.testing.assert_allclose(state.inner_state.damping, expected_state.damping, rtol=ROUNDOFF_TOL)
