"""L-BFGS's curvature pairs under minibatch noise: exact gradients on a convex quadratic give
yᵀs = sᵀHs > 0 for every pair; gradients from different minibatches give y = Hs + (ξ̄' − ξ̄),
exactly, and the noise turns some pairs negative."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl

SURFACE = jl.surfaces.rotated_quadratic((100.0, 1.0), 0.3)
HESSIAN = np.asarray(jax.hessian(SURFACE.fn)(jnp.zeros(2)))
NUM_STEPS = 200
#: y − Hs against the noise difference: the gradient of a quadratic is exact up to rounding of
#: numbers of size ~100.
PAIR_ATOL = 1e-10


def lbfgs_pairs(grad_fn):
    """Points, minibatch gradients and their noise along a fixed-step L-BFGS run."""
    tx = jl.lbfgs(0.5, linesearch=False)

    def step(carry, key):
        params, state = carry
        grad = grad_fn(params, key)
        updates, state = tx.update(grad, state, params)
        return (optax.apply_updates(params, updates), state), (params, grad, grad_fn.noise(key))

    start = jnp.array([1.5, -1.0])
    keys = jax.random.split(jax.random.PRNGKey(0), NUM_STEPS)
    _, (points, grads, noise) = jax.lax.scan(step, (start, tx.init(start)), keys)
    return (np.diff(np.asarray(a), axis=0) for a in (points, grads, noise))


def test_exact_gradients_give_only_positive_curvature_pairs():
    s, y, _ = lbfgs_pairs(jl.surfaces.noisy_gradient(SURFACE, 0.0, 1))
    moved = np.linalg.norm(s, axis=1) > 0   # a converged run stops moving; its pairs say nothing
    assert moved.sum() > 5
    assert np.all(np.sum(y * s, axis=1)[moved] > 0)


@pytest.mark.parametrize("batch_size", [1, 16])
def test_minibatch_pairs_are_curvature_plus_noise_difference_and_some_turn_negative(batch_size):
    s, y, noise_difference = lbfgs_pairs(jl.surfaces.noisy_gradient(SURFACE, 1.0, batch_size))
    np.testing.assert_allclose(y - s @ HESSIAN, noise_difference, atol=PAIR_ATOL)
    assert np.any(np.sum(y * s, axis=1) < 0)
