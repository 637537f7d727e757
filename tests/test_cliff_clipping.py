"""On the cliff surface a plain gradient step on the wall is thrown far (its closed-form length);
behind optax.clip_by_global_norm every step is at most η·(the clipping norm), and the runs
converge."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.surfaces import CLIFF_HEIGHT, CLIFF_STEEPNESS

LEARNING_RATE, CLIP_NORM, NUM_STEPS = 0.1, 1.0, 300
#: Starts on the plateau x > 1, which slide down to the wall.
PLATEAU_STARTS = jnp.array([[1.6, 0.3], [2.2, -1.0], [2.9, 1.5]])
#: Float64 rounding of a norm rescaled to CLIP_NORM.
NORM_RTOL = 1e-12


def step_lengths(tx, start):
    fn = jl.surfaces.get("cliff").fn

    def step(carry, _):
        params, state = carry
        updates, state = tx.update(jax.grad(fn)(params), state, params)
        return (optax.apply_updates(params, updates), state), jnp.linalg.norm(updates)

    return np.asarray(jax.lax.scan(step, (start, tx.init(start)), length=NUM_STEPS)[1])


@pytest.mark.parametrize("y", [0.0, 0.3, -1.5])
def test_a_plain_step_on_the_wall_has_the_closed_form_length_and_leaves_the_surface(y):
    # On the wall x = 1 the sigmoid's slope peaks: ∇f = (1 + H·S/4, y), H, S its height, steepness.
    gradient_norm = np.hypot(1.0 + CLIFF_HEIGHT * CLIFF_STEEPNESS / 4, y)
    first_step = step_lengths(jl.sgd(LEARNING_RATE), jnp.array([1.0, y]))[0]
    np.testing.assert_allclose(first_step, LEARNING_RATE * gradient_norm, rtol=NORM_RTOL)
    width = np.linalg.norm(np.ptp(np.asarray(jl.surfaces.get("cliff").bounds), axis=1))
    assert first_step > 5 * width


@pytest.mark.parametrize("make_optimizer, step_bound", [
    (lambda: jl.sgd(LEARNING_RATE), LEARNING_RATE * CLIP_NORM),
    # momentum's velocity sums clipped steps: at most η·c/(1 − β)
    (lambda: jl.momentum(LEARNING_RATE, 0.5), LEARNING_RATE * CLIP_NORM / (1 - 0.5)),
])
@pytest.mark.parametrize("start", PLATEAU_STARTS)
def test_clipped_steps_stay_within_their_bound_and_converge(make_optimizer, step_bound, start):
    tx = optax.chain(optax.clip_by_global_norm(CLIP_NORM), make_optimizer())
    assert step_lengths(tx, start).max() <= step_bound * (1 + NORM_RTOL)
    result = jl.sweep(tx, jl.surfaces.get("cliff"), start[None], 2000, progress=False)
    assert result.status.tolist() == [jl.Status.CONVERGED]
