"""The Rprop family: against the scalar reference loops, a worked sign sequence,
one-move backtracking, optax.rprop's one-step lag, and the optax/flax contract."""
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from reference.sign_based import rprop_one_move_trajectory, rprop_trajectory, rprop_updates

import jaxopt_lab as jl

#: Rprop is multiplications by η± and sign tests: in float64 only the last bits of Δ and of w
#: (summed over up to ~60 steps) can differ from the Python-float reference.
ROUNDOFF_RTOL = 1e-12
#: Absolute floor for coordinates that pass through 0 (relative error is meaningless there).
ROUNDOFF_ATOL = 1e-12
#: Step sizes against optax's: the same products of η± in the same order, equal to the last bit.
SAME_OPERATIONS_RTOL = 1e-15
VARIANTS = ("rprop-", "irprop-", "rprop+", "irprop+")
#: A worked example: learning_rate 0.1, gradients [1, 1, 1, −1, 1] under "irprop-" (η+ = 1.2).
WORKED_GRADIENTS = (1.0, 1.0, 1.0, -1.0, 1.0)
WORKED_STEP_MAGNITUDES = (0.1, 0.12, 0.144, 0.0, 0.072)

PROBLEMS = {
    # A narrow valley at 30°: coordinates' signs flip at different times.
    "rotated_quadratic": jl.surfaces.rotated_quadratic((10.0, 1.0), math.pi / 6),
    "rosenbrock": jl.surfaces.get("rosenbrock"),
    # Non-convex, four minima.
    "himmelblau": jl.surfaces.get("himmelblau"),
}
STARTS = np.array([[-1.5, 1.2], [0.7, -1.9], [1.9, 1.9]])
LEARNING_RATES = np.array([0.02, 0.1, 0.4])
NUM_STEPS = 60


def run(tx, fn, start, num_steps):
    """Points w(0..T) from ``start``; passes ``value`` (irprop+ needs it) like jl.sweep does."""

    def step(carry, _):
        params, state = carry
        value, grad = jax.value_and_grad(fn)(params)
        updates, state = tx.update(grad, state, params, value=value)
        params = optax.apply_updates(params, updates)
        return (params, state), params

    _, points = jax.lax.scan(step, (start, tx.init(start)), length=num_steps)
    return jnp.concatenate([start[None], points])


def run_on_gradients(tx, gradients, values):
    """Updates and step sizes for a fixed gradient (and loss) sequence."""
    params = jnp.zeros_like(gradients[0])

    def step(state, inputs):
        grad, value = inputs
        updates, state = tx.update(grad, state, params, value=value)
        return state, (updates, state[0].step_size)

    _, (updates, step_sizes) = jax.lax.scan(step, tx.init(params), (gradients, values))
    return updates, step_sizes


def test_worked_sequence_irprop_minus():
    gradients = jnp.asarray(WORKED_GRADIENTS)[:, None]
    updates, _ = run_on_gradients(jl.rprop(0.1), gradients, jnp.zeros(len(WORKED_GRADIENTS)))
    np.testing.assert_allclose(
        np.abs(updates[:, 0]), WORKED_STEP_MAGNITUDES, rtol=ROUNDOFF_RTOL, atol=ROUNDOFF_ATOL
    )
    expected, _ = rprop_updates(np.asarray(gradients), learning_rate=0.1)
    np.testing.assert_allclose(updates, expected, rtol=ROUNDOFF_RTOL, atol=ROUNDOFF_ATOL)


@pytest.mark.parametrize("variant", VARIANTS)
def test_first_step_is_learning_rate_times_sign(variant):
    tx = jl.rprop(0.3, variant=variant)
    params = jnp.array([1.0, -2.0, 0.5])
    grads = jnp.array([2.0, -0.001, 0.0])
    updates, _ = tx.update(grads, tx.init(params), params, value=1.0)
    chex.assert_trees_all_close(updates, -0.3 * jnp.sign(grads), rtol=0, atol=0)


def sign_pattern_gradients(seed, num_steps, dim):
    """Runs of equal signs with random lengths, random magnitudes, a few exact zeros."""
    rng = np.random.default_rng(seed)
    signs = np.sign(rng.normal(size=(num_steps, dim)))
    signs = np.where(rng.uniform(size=(num_steps, dim)) < 0.6, 1.0, signs)  # long runs
    signs = np.cumprod(signs, axis=0)
    gradients = signs * rng.uniform(0.1, 3.0, size=(num_steps, dim))
    gradients[rng.uniform(size=(num_steps, dim)) < 0.05] = 0.0
    values = rng.uniform(size=num_steps)  # irprop+: the loss rises about every other step
    return gradients, values


#: (learning_rate, eta_minus, eta_plus, min_step_size, max_step_size): the defaults, and tight
#: bounds with fast factors so that both clips bind within the sequence.
HYPERPARAMETERS = {
    "defaults": (0.1, 0.5, 1.2, 1e-6, 50.0),
    "clipped": (0.1, 0.3, 1.9, 0.02, 0.5),
}


@pytest.mark.parametrize("hyper_name", sorted(HYPERPARAMETERS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_reference_on_gradient_sequence(variant, hyper_name):
    learning_rate, eta_minus, eta_plus, min_step, max_step = HYPERPARAMETERS[hyper_name]
    gradients, values = sign_pattern_gradients(seed=4, num_steps=80, dim=3)
    expected_updates, expected_steps = rprop_updates(
        gradients, values if variant == "irprop+" else None, learning_rate=learning_rate,
        eta_minus=eta_minus, eta_plus=eta_plus, min_step_size=min_step, max_step_size=max_step,
        variant=variant,
    )
    tx = jl.rprop(learning_rate, eta_minus, eta_plus, min_step, max_step, variant=variant)
    updates, step_sizes = jax.jit(run_on_gradients, static_argnums=0)(
        tx, jnp.asarray(gradients), jnp.asarray(values)
    )
    np.testing.assert_allclose(updates, expected_updates, rtol=ROUNDOFF_RTOL, atol=ROUNDOFF_ATOL)
    np.testing.assert_allclose(step_sizes, expected_steps, rtol=ROUNDOFF_RTOL)
    if hyper_name == "clipped":  # the case must exercise both bounds
        assert np.any(expected_steps == max_step) and np.any(expected_steps == min_step)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_trajectories_match_reference_vmapped_over_starts_and_learning_rates(variant, problem):
    surface = PROBLEMS[problem]

    def trajectory(start, learning_rate):
        return run(jl.rprop(learning_rate, variant=variant), surface.fn, start, NUM_STEPS)

    points = jax.jit(
        jax.vmap(jax.vmap(trajectory, in_axes=(0, None)), in_axes=(None, 0))
    )(jnp.asarray(STARTS), jnp.asarray(LEARNING_RATES))
    grad_fn, value_fn = jax.jit(jax.grad(surface.fn)), jax.jit(surface.fn)
    for i, learning_rate in enumerate(LEARNING_RATES):
        for j, start in enumerate(STARTS):
            expected = rprop_trajectory(
                grad_fn, start, NUM_STEPS, learning_rate=float(learning_rate), variant=variant,
                value_fn=value_fn if variant == "irprop+" else None,
            )
            np.testing.assert_allclose(
                points[i, j], expected, rtol=ROUNDOFF_RTOL, atol=ROUNDOFF_ATOL
            )


def quartic_1d(w):
    """Non-convex 1-D: minima near ±1.06 (tilted double well)."""
    return jnp.sum((w**2 - 1.0) ** 2 + 0.2 * w)


@pytest.mark.parametrize(
    "fn, start",
    [(jl.surfaces.get("quadratic_1d").fn, 1.7), (quartic_1d, -0.2), (quartic_1d, 2.5)],
)
def test_rprop_plus_visits_the_points_of_one_move_backtracking(fn, start):
    num_steps, learning_rate = 40, 0.3
    tx = jl.rprop(learning_rate, variant="rprop+")
    params = jnp.array([start])
    state = tx.init(params)
    points, backtracks, previous_update = [float(start)], [], 0.0
    for t in range(num_steps):
        grad = jax.grad(fn)(params)
        sign_changed = float(state[0].prev_grad[0] * grad[0]) < 0
        updates, state = tx.update(grad, state, params)
        if sign_changed:  # rprop+: the update undoes the previous step
            assert float(updates[0]) == -previous_update
            backtracks.append(t)
        previous_update = float(updates[0])
        params = optax.apply_updates(params, updates)
        points.append(float(params[0]))
    assert len(backtracks) >= 2, "the case must exercise backtracking"
    points = np.array(points)
    restored = np.array(backtracks) + 1  # point index after each backtracking step
    # Each restored point is the point before the overshoot...
    np.testing.assert_allclose(points[restored], points[restored - 2], rtol=ROUNDOFF_RTOL)
    # ...and without those extra stops rprop+ walks the one-move path.
    one_move = rprop_one_move_trajectory(
        lambda w: jax.grad(fn)(jnp.array([w]))[0], start, num_steps - len(backtracks),
        learning_rate=learning_rate,
    )
    np.testing.assert_allclose(
        np.delete(points, restored), one_move, rtol=ROUNDOFF_RTOL, atol=ROUNDOFF_ATOL
    )


def run_rprop_plus_recording_sign_changes(fn, start, num_steps, learning_rate):
    """rprop+ points (T+1, n) and, per step, which coordinates saw a sign change (T, n)."""
    tx = jl.rprop(learning_rate, variant="rprop+")
    params = jnp.asarray(start, dtype=float)
    state = tx.init(params)
    points, sign_changed = [np.asarray(params)], []
    for _ in range(num_steps):
        grad = jax.grad(fn)(params)
        sign_changed.append(np.asarray(state[0].prev_grad * grad) < 0)
        updates, state = tx.update(grad, state, params)
        params = optax.apply_updates(params, updates)
        points.append(np.asarray(params))
    return np.array(points), np.array(sign_changed)


def separable_2d(w):
    """quartic_1d(x) + 3(y − 0.4)²: no coupling, each coordinate has its own 1-D term."""
    return quartic_1d(w[:1]) + 3.0 * (w[1] - 0.4) ** 2


SEPARABLE_TERMS = (lambda x: quartic_1d(jnp.array([x])), lambda y: 3.0 * (y - 0.4) ** 2)


def test_rprop_plus_is_the_one_move_path_per_coordinate_on_a_separable_loss():
    num_steps, learning_rate, start = 40, 0.3, np.array([2.5, -1.3])
    points, sign_changed = run_rprop_plus_recording_sign_changes(
        separable_2d, start, num_steps, learning_rate)
    restored_by_coordinate = [np.flatnonzero(sign_changed[:, i]) + 1 for i in range(2)]
    assert all(len(r) >= 2 for r in restored_by_coordinate), "both must backtrack"
    assert not np.array_equal(*restored_by_coordinate), "the stops must fall at different steps"
    for i, (term, restored) in enumerate(zip(SEPARABLE_TERMS, restored_by_coordinate)):
        one_move = rprop_one_move_trajectory(jax.grad(term), start[i], num_steps - len(restored),
                                             learning_rate=learning_rate)
        np.testing.assert_allclose(np.delete(points[:, i], restored), one_move,
                                   rtol=ROUNDOFF_RTOL, atol=ROUNDOFF_ATOL)


def test_rprop_plus_restores_only_the_coordinates_that_changed_sign_on_a_coupled_loss():
    fn = PROBLEMS["rotated_quadratic"].fn
    points, sign_changed = run_rprop_plus_recording_sign_changes(
        fn, STARTS[0], NUM_STEPS, learning_rate=0.1)
    steps, coordinates = np.nonzero(sign_changed)
    assert len(steps) >= 4, "the case must exercise backtracking"
    # The coordinate that changed sign goes back to its value before the overshoot...
    np.testing.assert_allclose(points[steps + 1, coordinates], points[steps - 1, coordinates],
                               rtol=ROUNDOFF_RTOL, atol=ROUNDOFF_ATOL)
    # ...while a coordinate that kept its sign keeps moving: the point is no earlier location.
    partial = ~sign_changed.all(axis=1) & sign_changed.any(axis=1)
    assert partial.any(), "the case must restore one coordinate while the other moves on"
    moved_on = np.abs(points[1:] - points[:-1]).max(axis=1)[partial]
    restored_distance = np.linalg.norm(points[2:] - points[:-2], axis=1)[partial[1:]]
    assert np.all(moved_on > 0) and np.all(restored_distance > ROUNDOFF_ATOL)


def test_optax_rprop_is_one_step_late():
    # Constant-sign gradients: optax's update at step t+1 is ours at step t, its first is 0.
    gradients = jnp.asarray([[1.0, -2.0]] * 6)
    ours, our_steps = run_on_gradients(jl.rprop(0.1), gradients, jnp.zeros(6))
    theirs = []
    tx, params = optax.rprop(0.1), jnp.zeros(2)
    state = tx.init(params)
    for grad in gradients:
        update, state = tx.update(grad, state, params)
        theirs.append(update)
        np.testing.assert_allclose(
            state[0].step_sizes, our_steps[len(theirs) - 1], rtol=SAME_OPERATIONS_RTOL
        )
    theirs = np.array(theirs)
    np.testing.assert_array_equal(theirs[0], [0.0, 0.0])
    np.testing.assert_allclose(theirs[1:], ours[:-1], rtol=ROUNDOFF_RTOL)
    assert not np.allclose(theirs, ours)
    # The worked sequence: ours moves -0.1, -0.12, -0.144, 0, -0.072; optax delivers the first
    # two a step late and never takes the 0.144 step (at the sign change it drops the step it
    # was about to deliver) nor, within these five, the 0.072 one.
    worked = jnp.asarray(WORKED_GRADIENTS)[:, None]
    ours, _ = run_on_gradients(jl.rprop(0.1), worked, jnp.zeros(5))
    state = tx.init(jnp.zeros(1))
    theirs = []
    for grad in worked:
        update, state = tx.update(grad, state, jnp.zeros(1))
        theirs.append(float(update[0]))
    our_moves = ours[:, 0]
    np.testing.assert_allclose(
        theirs, [0.0, our_moves[0], our_moves[1], 0.0, 0.0], rtol=ROUNDOFF_RTOL
    )


def test_irprop_plus_backtracks_only_when_the_loss_rose():
    tx = jl.rprop(0.1, variant="irprop+")
    params = jnp.zeros(1)
    outcomes = {}
    for second_loss in (2.0, 0.5):
        state = tx.init(params)
        _, state = tx.update(jnp.array([1.0]), state, params, value=1.0)
        updates, _ = tx.update(jnp.array([-1.0]), state, params, value=second_loss)
        outcomes[second_loss] = float(updates[0])
    assert outcomes == {2.0: 0.1, 0.5: 0.0}


def test_irprop_plus_needs_value():
    tx = jl.rprop(variant="irprop+")
    params = jnp.zeros(2)
    with pytest.raises(TypeError, match="`value`"):
        tx.update(jnp.ones(2), tx.init(params), params)
    # the other variants need nothing beyond the gradient and ignore unknown extra args
    tx = jl.rprop(variant="rprop+")
    updates, _ = tx.update(jnp.ones(2), tx.init(params), params, value_fn=None, something_else=3)
    np.testing.assert_array_equal(updates, -0.1 * jnp.ones(2))  # first step: −Δ0·sign(g)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"eta_minus": 1.0}, r"eta_minus must be in \(0, 1\), got 1.0"),
        ({"eta_minus": 0.0}, r"eta_minus must be in \(0, 1\), got 0.0"),
        ({"eta_plus": 1.0}, r"eta_plus must be in \(1, inf\), got 1.0"),
        ({"min_step_size": 0.0}, r"min_step_size must be in \(0, inf\), got 0.0"),
        (
            {"min_step_size": 2.0, "max_step_size": 1.0},
            r"max_step_size must be in \[min_step_size, inf\) = \[2, inf\), got 1.0",
        ),
        ({"learning_rate": -0.1}, r"learning_rate must be in \(0, inf\), got -0.1"),
        ({"variant": "rprop"}, r"variant must be one of 'rprop-', 'irprop-', 'rprop\+'"),
    ],
)
def test_bad_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jl.rprop(**kwargs)


def test_schedule_is_rejected_because_the_learning_rate_lives_in_the_state():
    with pytest.raises(TypeError, match="initial step size"):
        jl.rprop(optax.exponential_decay(0.1, 10, 0.5))


def test_inject_hyperparams_and_pytree_params():
    params = {"a": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)}
    fn = lambda p: jnp.sum(p["a"] ** 2) + 3.0 * p["b"] ** 2
    plain = jl.rprop(0.1, variant="irprop+")
    injected = optax.inject_hyperparams(jl.rprop, static_args=("variant",))(
        learning_rate=0.1, variant="irprop+"
    )
    points = []
    for tx in (plain, injected):

        @jax.jit
        def step(carry, _, tx=tx):
            point, state = carry
            value, grad = jax.value_and_grad(fn)(point)
            updates, state = tx.update(grad, state, point, value=value)
            return (optax.apply_updates(point, updates), state), None

        (point, _), _ = jax.lax.scan(step, (params, tx.init(params)), length=8)
        points.append(point)
    chex.assert_trees_all_close(points[0], points[1], rtol=ROUNDOFF_RTOL)
    assert fn(points[0]) < 0.1 * fn(params)


#: nnx.Optimizer against a plain optax loop: the same float64 operations, compiled apart.
SAME_MATHS_ATOL = 1e-12


def test_flax_nnx_optimizer():
    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, jl.rprop(0.01, variant="irprop+"), wrt=nnx.Param)
    inputs = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
    targets = jnp.arange(8.0).reshape(4, 2) / 8.0

    def loss_fn(model):
        return jnp.mean((model(inputs) - targets) ** 2)

    @nnx.jit
    def train_step(model, optimizer):
        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads, value=loss)

    _, start, _ = nnx.split(nnx.Linear(3, 2, rngs=nnx.Rngs(0)), nnx.Param, ...)
    first = loss_fn(model)
    for _ in range(20):
        train_step(model, optimizer)
    # The same 20 steps by a plain optax loop on the parameter arrays: nnx.Optimizer adds
    # nothing and drops nothing (loss decrease alone would not tell).
    graphdef, _, rest = nnx.split(model, nnx.Param, ...)
    tx, params = jl.rprop(0.01, variant="irprop+"), start
    state = tx.init(params)
    for _ in range(20):
        loss, grads = jax.value_and_grad(lambda p: loss_fn(nnx.merge(graphdef, p, rest)))(params)
        updates, state = tx.update(grads, state, params, value=loss)
        params = optax.apply_updates(params, updates)
    chex.assert_trees_all_close(nnx.state(model, nnx.Param), params, atol=SAME_MATHS_ATOL)
    assert loss_fn(model) < 0.5 * first


#: Rprop's last moves are about Δmin = 1e-12 here, so it ends within a few Δmin of a minimum.
CONVERGED_ATOL = 1e-10
#: Enough for the slowest variant: "rprop+" on the rotated quadratic gains only ~100x in
#: distance per 50 steps (measured; the others reach the 1e-12 floor within ~150 steps).
NUM_CONVERGE_STEPS = 400


@pytest.mark.parametrize("problem", ["rotated_quadratic", "himmelblau"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_reaches_a_minimum_with_a_small_step_floor(variant, problem):
    surface = PROBLEMS[problem]
    tx = jl.rprop(0.1, min_step_size=1e-12, variant=variant)
    final = jax.jit(lambda start: run(tx, surface.fn, start, NUM_CONVERGE_STEPS)[-1])(jnp.asarray(STARTS[0]))
    minima = np.asarray(surface.minima)
    nearest = minima[np.argmin(np.linalg.norm(minima - np.asarray(final), axis=1))]
    np.testing.assert_allclose(final, nearest, rtol=0, atol=CONVERGED_ATOL)
