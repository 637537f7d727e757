"""QuickProp (Fahlman 1988): against the scalar reference loop, the secant step on a
1-D quadratic, the growth cap, schedules, the optax/flax contract, and what happens on a
non-convex surface ("prone to some instability")."""
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from reference.sign_based import quickprop_trajectory

import jaxopt_lab as jl

#: Float64 trajectories of up to 40 steps. The secant divides by S(t−1) − S(t), which loses
#: relative accuracy as both slopes shrink near a minimum, so allow more than one-step round-off.
TRAJECTORY_RTOL = 1e-9
#: Absolute floor for coordinates near 0 (and near-converged points).
TRAJECTORY_ATOL = 1e-10
#: One secant step on a quadratic is exact up to a few float64 round-offs.
LANDING_ATOL = 1e-12
#: Fahlman's default maximum growth factor μ.
MAX_GROWTH = 1.75
NUM_STEPS = 40
#: A loss "rise" must exceed float64 noise of losses near a minimum (~1e-16 of O(1) values).
RISE_TOL = 1e-12
#: The double well's minima are ±1; 100 QuickProp steps end there to better than this.
DOUBLE_WELL_RTOL = 1e-6

#: name: (surface, learning rates, steps compared with the reference). In Rosenbrock's curved
#: valley the secant iteration amplifies round-off about tenfold every 5 steps (measured: 1e-15
#: after 10 steps, 1e-9 after 40), so it is compared over fewer steps.
PROBLEMS = {
    "rotated_quadratic": (
        jl.surfaces.rotated_quadratic((10.0, 1.0), math.pi / 6), (0.05, 0.15), NUM_STEPS
    ),
    "rosenbrock": (jl.surfaces.get("rosenbrock"), (0.0005, 0.001), 25),
    "himmelblau": (jl.surfaces.get("himmelblau"), (0.005, 0.01), NUM_STEPS),
}
STARTS = np.array([[-1.5, 1.2], [0.7, -1.9], [1.9, 1.9]])


def run(tx, fn, start, num_steps):
    """Points w(0..T) of ``tx`` on ``fn`` from ``start``."""

    def step(carry, _):
        params, state = carry
        updates, state = tx.update(jax.grad(fn)(params), state, params)
        params = optax.apply_updates(params, updates)
        return (params, state), params

    _, points = jax.lax.scan(step, (start, tx.init(start)), length=num_steps)
    return jnp.concatenate([start[None], points])


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_trajectories_match_reference_vmapped_over_starts_and_learning_rates(problem):
    surface, learning_rates, num_steps = PROBLEMS[problem]

    def trajectory(start, learning_rate):
        return run(jl.quickprop(learning_rate, MAX_GROWTH), surface.fn, start, num_steps)

    points = jax.jit(
        jax.vmap(jax.vmap(trajectory, in_axes=(0, None)), in_axes=(None, 0))
    )(jnp.asarray(STARTS), jnp.asarray(learning_rates))
    grad_fn = jax.jit(jax.grad(surface.fn))
    for i, learning_rate in enumerate(learning_rates):
        for j, start in enumerate(STARTS):
            expected = quickprop_trajectory(
                grad_fn, start, num_steps, learning_rate=learning_rate, max_growth=MAX_GROWTH
            )
            np.testing.assert_allclose(
                points[i, j], expected, rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL
            )


def quadratic_1d(w, curvature=4.0, minimum=0.5):
    return 0.5 * curvature * jnp.sum((w - minimum) ** 2)


def test_secant_step_on_a_1d_quadratic():
    """Two slopes of a quadratic determine it: step 2 jumps to the vertex. Fahlman adds the
    gradient term while the minimum is not yet crossed, and caps the jump at μ·Δw(1)."""
    curvature, minimum, start = 4.0, 0.5, 2.0
    eta_curvature = jnp.array([3.0, 1.5, 0.5, 0.2])  # crossed, crossed, not crossed, capped
    points = jax.vmap(
        lambda rate: run(jl.quickprop(rate / curvature), quadratic_1d, jnp.array([start]), 2)
    )(eta_curvature)[..., 0]
    w1, w2 = points[:, 1], points[:, 2]
    np.testing.assert_allclose(w2[:2], minimum, rtol=0, atol=LANDING_ATOL)
    # Not crossed: the vertex plus the gradient term −η·S(1).
    slope1 = curvature * (w1[2] - minimum)
    np.testing.assert_allclose(w2[2], minimum - 0.5 / curvature * slope1, atol=LANDING_ATOL)
    # S(1)/S(0) = 1 − η·curvature = 0.8 >= μ/(1+μ): the vertex is 4 steps ahead, the cap μ.
    first_step = w1[3] - start
    slope1 = curvature * (w1[3] - minimum)
    np.testing.assert_allclose(
        w2[3] - w1[3], -0.2 / curvature * slope1 + MAX_GROWTH * first_step, atol=LANDING_ATOL
    )


def log_cosh(w):
    """Slope tanh(w): nearly constant far from 0, so the parabola's vertex is very far away."""
    return jnp.sum(jnp.log(jnp.cosh(w)))


def test_growth_cap_binds_where_the_vertex_is_far():
    learning_rate, num_steps = 0.05, 6
    points = np.asarray(run(jl.quickprop(learning_rate), log_cosh, jnp.array([6.0]), num_steps))
    steps = np.diff(points[:, 0])
    slopes = np.tanh(points[:-1, 0])
    assert np.all(points[:, 0] > 2.0)  # still on the nearly linear flank
    for t in range(1, num_steps):
        uncapped = slopes[t] / (slopes[t - 1] - slopes[t])  # the secant factor Δw(t)/Δw(t−1)
        assert uncapped > MAX_GROWTH
        expected = -learning_rate * slopes[t] + MAX_GROWTH * steps[t - 1]
        np.testing.assert_allclose(steps[t], expected, rtol=TRAJECTORY_RTOL)
    # The steps grow geometrically (by about μ per step), not to the far-away vertex.
    assert np.all(np.abs(steps[1:]) < (MAX_GROWTH + 1.0) * np.abs(steps[:-1]))


def double_well(w):
    """(w² − 1)²: minima at ±1, a maximum at 0, concave for |w| < 1/√3."""
    return jnp.sum((w**2 - 1.0) ** 2)


def test_nonconvex_double_well_record():
    """QuickProp can be unstable on non-convex losses (Fahlman 1988). What happens on
    the double well, η = 0.05, 100 steps, starts in the concave middle (|w0| < 1/√3):
    QuickProp's loss goes up on the way for some starts (the capped growth overshoots once the
    slope turns), gradient descent's never does; all QuickProp runs still end at a minimum."""
    learning_rate, num_steps = 0.05, 100
    starts = jnp.linspace(-0.55, 0.55, 12)[:, None]  # avoids w0 = 0 exactly (zero slope)
    results = {}
    for name, tx in (("quickprop", jl.quickprop(learning_rate)), ("sgd", jl.sgd(learning_rate))):
        points = jax.vmap(lambda start, tx=tx: run(tx, double_well, start, num_steps))(starts)
        losses = np.asarray(jax.vmap(jax.vmap(double_well))(points))
        rises = np.any(np.diff(losses, axis=1) > RISE_TOL, axis=1)
        results[name] = (rises, np.asarray(points[:, -1, 0]))
    quickprop_rises, quickprop_final = results["quickprop"]
    sgd_rises, _ = results["sgd"]
    assert quickprop_rises.any() and not sgd_rises.any()
    np.testing.assert_allclose(np.abs(quickprop_final), 1.0, rtol=DOUBLE_WELL_RTOL)
    # Each start ends in the well on its own side here (at η = 0.1 and above some cross over).
    np.testing.assert_array_equal(np.sign(quickprop_final), np.sign(np.asarray(starts[:, 0])))


def test_schedule_rescales_the_whole_step():
    surface = PROBLEMS["rotated_quadratic"][0]
    # Halve η every 5 steps. A staircase of exact float values: a smooth optax schedule is
    # evaluated in float32, and XLA's pow inside the scan differs from the eager one by an ulp.
    schedule = optax.piecewise_constant_schedule(0.1, {5: 0.5, 10: 0.5, 15: 0.5})
    points = jax.jit(lambda start: run(jl.quickprop(schedule), surface.fn, start, 20))(
        jnp.asarray(STARTS[0])
    )
    expected = quickprop_trajectory(
        jax.jit(jax.grad(surface.fn)), STARTS[0], 20, learning_rate=lambda t: schedule(jnp.int32(t))
    )
    np.testing.assert_allclose(points, expected, rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL)
    constant = run(jl.quickprop(optax.constant_schedule(0.1)), surface.fn, points[0], 20)
    chex.assert_trees_all_close(
        constant, run(jl.quickprop(0.1), surface.fn, points[0], 20), rtol=TRAJECTORY_RTOL
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"learning_rate": 0.1, "max_growth": 1.0}, r"max_growth must be in \(1, inf\), got 1.0"),
        ({"learning_rate": 0.0}, r"learning_rate must be in \(0, inf\), got 0.0"),
    ],
)
def test_bad_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jl.quickprop(**kwargs)


def test_inject_hyperparams_jit_and_pytree_params():
    params = {"a": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)}
    fn = lambda p: jnp.sum(p["a"] ** 2) + 3.0 * p["b"] ** 2
    points = []
    for tx in (jl.quickprop(0.1), optax.inject_hyperparams(jl.quickprop)(learning_rate=0.1)):

        @jax.jit
        def step(carry, _, tx=tx):
            point, state = carry
            updates, state = tx.update(jax.grad(fn)(point), state, point)
            return (optax.apply_updates(point, updates), state), None

        (point, _), _ = jax.lax.scan(step, (params, tx.init(params)), length=10)
        points.append(point)
    chex.assert_trees_all_close(points[0], points[1], rtol=TRAJECTORY_RTOL)
    assert fn(points[0]) < 1e-3 * fn(params)


#: nnx.Optimizer against a plain optax loop: the same float64 operations, compiled apart.
SAME_MATHS_ATOL = 1e-12


def test_flax_nnx_optimizer():
    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, jl.quickprop(0.1), wrt=nnx.Param)
    inputs = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
    targets = jnp.arange(8.0).reshape(4, 2) / 8.0

    def loss_fn(model):
        return jnp.mean((model(inputs) - targets) ** 2)

    @nnx.jit
    def train_step(model, optimizer):
        optimizer.update(model, nnx.grad(loss_fn)(model))

    _, start, _ = nnx.split(nnx.Linear(3, 2, rngs=nnx.Rngs(0)), nnx.Param, ...)
    first = loss_fn(model)
    for _ in range(20):
        train_step(model, optimizer)
    # The same 20 steps by a plain optax loop on the parameter arrays: nnx.Optimizer adds
    # nothing and drops nothing (loss decrease alone would not tell).
    graphdef, _, rest = nnx.split(model, nnx.Param, ...)
    tx, params = jl.quickprop(0.1), start
    state = tx.init(params)
    for _ in range(20):
        loss, grads = jax.value_and_grad(lambda p: loss_fn(nnx.merge(graphdef, p, rest)))(params)
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    chex.assert_trees_all_close(nnx.state(model, nnx.Param), params, atol=SAME_MATHS_ATOL)
    assert loss_fn(model) < 0.5 * first
