"""A learning rate above 2/λ_max of a sharp minimum throws gradient descent out of it, into a flatter,
deeper one where the same rate is stable: the crossing sits at the closed form."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl

#: The softmin's tail moves the sharp minimum's Hessian from diag(20, 5) by ~e^−50 relative: the
#: crossing is 2/λ_max to that accuracy, far inside the ±3 % brackets below.
BRACKET = 0.03
#: Starts this close to the sharp minimum: the quartic wall adds 600r² to the curvature at distance
#: r, and the starts must stay linearly stable at 0.97·2/λ_max (600r² < 0.6, r < 0.03).
START_SPREAD = 0.005
NUM_STEPS = 2000  # at 0.97·2/λ the error shrinks by |1 − 1.94| = 0.94 a step: 2000 is plenty
SHARP, FLAT = (1.0, 0.0), (-1.0, 0.0)
QUARTIC, SOFTNESS = 50.0, 0.02


def sharp_and_flat(w):
    """Softmin of a flat deep bowl at (−1, 0) (Hessian I, f = −2) and a sharp shallow one at
    (1, 0) (Hessian diag(20, 5), f = −1) whose steep quartic walls leave no orbit in it once the
    minimum itself is unstable (a softer wall would hold a stable two-cycle there)."""
    flat = 0.5 * ((w[0] + 1.0) ** 2 + w[1] ** 2) - 2.0
    u, v = w[0] - 1.0, w[1]
    sharp = -1.0 + 10.0 * u**2 + 2.5 * v**2 + QUARTIC * (u**2 + v**2) ** 2
    return -SOFTNESS * jnp.logaddexp(-flat / SOFTNESS, -sharp / SOFTNESS)


SURFACE = jl.Surface("sharp_and_flat", sharp_and_flat, 2, ((-3.0, 3.0), (-2.0, 2.0)),
                     minima=(FLAT, SHARP), f_min=-2.0, minima_values=(-2.0, -1.0),
                     escape_radius=100.0)


def largest_curvature(point):
    return float(np.linalg.eigvalsh(jax.hessian(sharp_and_flat)(jnp.asarray(point))).max())


@pytest.mark.parametrize("factor, sharp_share, flat_share", [
    (1.0 - BRACKET, 1.0, 0.0),   # below 2/λ_max of the sharp minimum: every start stays
    (1.0 + BRACKET, 0.0, 1.0),   # above: every start leaves it, and settles in the flat one
    (10.0, 0.0, 1.0),            # still below the flat minimum's 2/λ_max = 2
])
def test_the_share_that_leaves_the_sharp_minimum_jumps_at_two_over_its_largest_curvature(
        factor, sharp_share, flat_share):
    escape_rate = 2.0 / largest_curvature(SHARP)
    assert factor * escape_rate < 2.0 / largest_curvature(FLAT)
    starts = jnp.asarray(SHARP) + START_SPREAD * jax.random.normal(jax.random.PRNGKey(0), (64, 2))
    result = jl.sweep(jl.sgd(factor * escape_rate), SURFACE, starts, NUM_STEPS, progress=False)
    shares = jl.analysis.basin_statistics(result.basin, result.status, 2).per_basin
    assert shares.tolist() == [flat_share, sharp_share]
