"""Learning problems: Brady et al.'s spoiler, flax MLPs, Sohl-Dickstein's trainability network."""
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree
from reference.problems import (
    mlp_cross_entropy,
    moons,
    neuron_l2_loss,
    perceptron,
    spoiler_divergence_gradient,
    trainability_gd,
    trainability_loss_and_grads,
)

from jaxopt_lab import initializers, problems

#: Same formula evaluated in a different order (sums, exp): float64 rounding only.
ROUNDING_RTOL = 1e-10
#: At the 3-point optimum the fitted points' residuals are float64 rounding of logit(0.9)
#: (~1e-16), which adds at most that much to the gradient beside the spoiler's term.
FITTED_POINTS_ATOL = 1e-16
#: Gradient descent "to convergence" on the spoiler: the gradient norm it must reach, and the
#: constant step that gets there (the loss's curvature is below 0.25, so 4.0 is stable).
STATIONARY_TOL = 1e-10
SPOILER_LEARNING_RATE = 4.0
#: The spoiler's gradient at the 3-point optimum is σ'(−22) ≈ 3e-10; anything below 1e-8 is
#: "vanished" for a learning rate of order 1 (a step of 1e-8 in a weight of order 10).
VANISHED_GRADIENT = 1e-8
SPOILER_STEPS = 5_000
#: Brady et al.: "local minima with a large basin of attraction". About a quarter of
#: standard-normal starts end in the non-separating minimum; require an eighth, so the test
#: asks for a basin of real size rather than one lucky start.
MIN_BASIN_SHARE = 1 / 8
NUM_STARTS = 64
#: 20 optimizer steps compiled in one scan vs taken one by one: XLA may fuse and reorder the
#: float64 arithmetic differently, a few ulps per step, compounded over the steps.
COMPILED_VS_EAGER_RTOL = 1e-10
#: The trainability reference runs NumPy and JAX matmuls over 20 steps of GD: rounding grows.
TRAINING_RTOL = 1e-8

KEY = jax.random.PRNGKey(0)


def _gradient_descent(loss, learning_rate, num_steps):
    def run(params):
        def step(params, _):
            grads = jax.grad(loss)(params)
            return jax.tree.map(lambda w, g: w - learning_rate * g, params, grads), None

        return jax.lax.scan(step, params, None, length=num_steps)[0]

    return run


def _gradient_norm(loss, params):
    return jnp.linalg.norm(ravel_pytree(jax.grad(loss)(params))[0])


# --- backprop fails to separate where the perceptron succeeds (Brady et al. 1989) ---------------


@pytest.fixture(scope="module")
def spoiler():
    return problems.brady_spoiler(spoiler_distance=10.0, eps=0.1)


def _three_point_optimum(eps):
    # σ(w·x + b) = targets exactly at (1,0), (0,1), (−1,0): w = (L, L), b = 0, L = logit(1 − ε).
    logit = np.log((1 - eps) / eps)
    return {"weights": jnp.array([logit, logit]), "bias": jnp.array(0.0)}


def test_spoiler_loss_matches_the_average_l2_divergence(spoiler):
    params = spoiler.init(KEY)
    targets = np.where(np.asarray(spoiler.labels) == 1, 0.9, 0.1)
    expected = neuron_l2_loss(np.asarray(params["weights"]), float(params["bias"]),
                              np.asarray(spoiler.inputs), targets)
    np.testing.assert_allclose(spoiler.loss(params), expected, rtol=ROUNDING_RTOL)


def test_spoiler_gradient_at_three_point_optimum_is_the_slides_vanishing_term(spoiler):
    params = _three_point_optimum(0.1)
    grad_wy, grad_b = spoiler_divergence_gradient(np.asarray(params["weights"]), 0.0, 10.0, 0.1)
    grads = jax.grad(spoiler.loss)(params)
    # The other three points are fitted exactly; the loss averages over four points.
    np.testing.assert_allclose(grads["weights"][1], grad_wy / 4, atol=FITTED_POINTS_ATOL)
    np.testing.assert_allclose(grads["bias"], grad_b / 4, atol=FITTED_POINTS_ATOL)
    assert abs(grad_wy) < VANISHED_GRADIENT  # "→ 0 exponentially as t → ∞": σ'(−22) ≈ 3e-10


@pytest.mark.parametrize("spoiler_distance", [10.0, 100.0])
def test_perceptron_separates_all_four_points(spoiler_distance):
    spoiler = problems.brady_spoiler(spoiler_distance=spoiler_distance)
    result = problems.perceptron(spoiler.inputs, spoiler.labels)
    weights, bias, num_updates, converged = perceptron(
        np.asarray(spoiler.inputs).tolist(), np.asarray(spoiler.labels).tolist())
    assert bool(result.converged) and converged
    assert float(spoiler.accuracy(result.params)) == 1.0
    np.testing.assert_array_equal(result.params["weights"], weights)
    assert float(result.params["bias"]) == bias and int(result.num_updates) == num_updates


#: Epochs for the non-separable case: enough to cycle through XOR's four points many times.
NON_SEPARABLE_EPOCHS = 50


def test_perceptron_never_converges_on_non_separable_data():
    """XOR admits no separating line: every epoch makes a mistake, so the rule never stops."""
    problem = problems.xor()
    result = problems.perceptron(problem.inputs, problem.labels, max_epochs=NON_SEPARABLE_EPOCHS)
    weights, bias, num_updates, converged = perceptron(
        np.asarray(problem.inputs).tolist(), np.asarray(problem.labels).tolist(),
        max_epochs=NON_SEPARABLE_EPOCHS)
    assert not bool(result.converged) and not converged
    assert int(result.num_updates) == num_updates >= NON_SEPARABLE_EPOCHS
    np.testing.assert_array_equal(result.params["weights"], weights)
    assert float(result.params["bias"]) == bias
    predicted = np.asarray(problem.inputs) @ np.asarray(weights) + bias > 0
    assert np.any(predicted != (np.asarray(problem.labels) == 1))  # some point stays wrong


def test_backprop_optimum_misclassifies_the_spoiler(spoiler):
    # Start 0: the 3-point optimum (the slides' argument); then standard-normal starts.
    random_starts = jax.jit(jax.vmap(spoiler.init))(jax.random.split(KEY, NUM_STARTS))
    starts = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]),
                          _three_point_optimum(0.1), random_starts)
    descend = _gradient_descent(spoiler.loss, SPOILER_LEARNING_RATE, SPOILER_STEPS)
    ends = jax.jit(jax.vmap(descend))(starts)
    gradient_norms = jax.jit(jax.vmap(lambda p: _gradient_norm(spoiler.loss, p)))(ends)
    assert np.all(gradient_norms < STATIONARY_TOL)
    end = jax.tree.map(lambda a: a[0], ends)
    flat, unravel = ravel_pytree(end)
    hessian = jax.jit(jax.hessian(lambda v: spoiler.loss(unravel(v))))(flat)
    assert np.all(np.linalg.eigvalsh(hessian) > 0)  # a true local minimum of the 4-point loss
    np.testing.assert_array_equal(spoiler.predict(end), [1, 1, 0, 0])  # only the spoiler wrong
    # Backprop finds that minimum from random starts too: a broad basin.
    stuck = np.all(np.asarray(jax.vmap(spoiler.predict)(ends)) == [1, 1, 0, 0], axis=1)[1:]
    assert stuck.mean() >= MIN_BASIN_SHARE
    losses = jax.vmap(spoiler.loss)(ends)[1:]
    np.testing.assert_allclose(losses[stuck], spoiler.loss(end), rtol=ROUNDING_RTOL)
    # The other starts reach a separating minimum of lower loss: the failure is the basin.
    separating = jax.vmap(spoiler.accuracy)(ends)[1:] == 1.0
    assert np.all(stuck | separating) and np.all(losses[separating] < spoiler.loss(end))


def test_spoiler_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"eps must be in \(0, 0.5\), got 0.7"):
        problems.brady_spoiler(eps=0.7)
    with pytest.raises(ValueError, match="spoiler_distance"):
        problems.brady_spoiler(spoiler_distance=-1.0)


# --- flax MLPs ---------------------------------------------------------------------------------


MLP_PROBLEMS = {
    "xor": lambda: problems.xor(),
    "two_moons": lambda: problems.two_moons(num_samples=64),
    "digits": lambda: problems.digits(num_samples=100),
}


@pytest.fixture(scope="module", params=sorted(MLP_PROBLEMS))
def mlp_problem(request):
    return MLP_PROBLEMS[request.param]()


@pytest.mark.parametrize("optimizer", [optax.sgd(0.5), optax.adam(0.05)], ids=["sgd", "adam"])
def test_mlp_loss_decreases_under_optax(mlp_problem, optimizer):
    params = mlp_problem.init(KEY)

    def step(carry, _):
        params, state = carry
        updates, state = optimizer.update(jax.grad(mlp_problem.loss)(params), state)
        return (optax.apply_updates(params, updates), state), mlp_problem.loss(params)

    (trained, _), losses = jax.jit(
        lambda p: jax.lax.scan(step, (p, optimizer.init(p)), None, length=20))(params)
    assert np.all(np.isfinite(losses))
    assert mlp_problem.loss(trained) < 0.9 * losses[0]
    # The direct run: the same 20 optax steps one by one, eagerly; then the reference formula
    # for the loss at the trained parameters.
    direct, state = params, optimizer.init(params)
    for _ in range(20):
        updates, state = optimizer.update(jax.grad(mlp_problem.loss)(direct), state)
        direct = optax.apply_updates(direct, updates)
    chex.assert_trees_all_close(trained, direct, rtol=COMPILED_VS_EAGER_RTOL)
    hidden, output = trained["hidden"], trained["output"]
    expected = mlp_cross_entropy(*(np.asarray(a) for a in (
        hidden["kernel"], hidden["bias"], output["kernel"], output["bias"])),
        np.asarray(mlp_problem.inputs), np.asarray(mlp_problem.labels))
    np.testing.assert_allclose(mlp_problem.loss(trained), expected, rtol=ROUNDING_RTOL)


def test_mlp_loss_is_the_two_layer_cross_entropy(mlp_problem):
    params = mlp_problem.init(KEY)
    assert jax.tree.leaves(params)[0].dtype == jnp.float64
    hidden, output = params["hidden"], params["output"]
    expected = mlp_cross_entropy(*(np.asarray(a) for a in (
        hidden["kernel"], hidden["bias"], output["kernel"], output["bias"])),
        np.asarray(mlp_problem.inputs), np.asarray(mlp_problem.labels))
    np.testing.assert_allclose(mlp_problem.loss(params), expected, rtol=ROUNDING_RTOL)


def test_mlp_losses_vmap_over_starting_points():
    problem = problems.xor()  # the vmapped code is mlp_classifier's, the same for every dataset
    keys = jax.random.split(KEY, 3)
    batched = jax.jit(lambda k: jax.vmap(problem.loss)(jax.vmap(problem.init)(k)))(keys)
    one_by_one = [problem.loss(problem.init(k)) for k in keys]
    np.testing.assert_allclose(batched, one_by_one, rtol=ROUNDING_RTOL)


def test_mlp_uses_the_given_initializer():
    params = problems.xor(num_hidden=6, kernel_init=initializers.sparse(1),
                          bias_init=initializers.constant(initializers.RELU_BIAS)).init(KEY)
    np.testing.assert_array_equal((params["hidden"]["kernel"] != 0).sum(axis=0), 1)
    np.testing.assert_array_equal(params["hidden"]["bias"], 0.1)


def test_two_moons_data_follows_the_make_moons_recipe():
    inputs, labels = problems.two_moons_data(num_samples=101, noise=0.2, seed=3)
    np.testing.assert_allclose(inputs, moons(101, 0.2, 3), rtol=ROUNDING_RTOL)
    assert np.bincount(labels).tolist() == [50, 51]
    sklearn = pytest.importorskip("sklearn.datasets")
    clean, clean_labels = sklearn.make_moons(101, shuffle=False, noise=0.0)
    np.testing.assert_allclose(problems.two_moons_data(101, 0.0)[0], clean, atol=1e-12)
    np.testing.assert_array_equal(labels, clean_labels)


def test_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install jaxopt_lab\[data\]"):
        problems.digits(num_samples=10)


def test_digits_subset_is_scaled_and_reproducible():
    problem = problems.digits(num_samples=50, seed=1)
    assert problem.inputs.shape == (50, 64)
    assert 0.0 <= float(problem.inputs.min()) and float(problem.inputs.max()) <= 1.0
    np.testing.assert_array_equal(problem.labels, problems.digits(num_samples=50, seed=1).labels)
    with pytest.raises(ValueError, match="num_samples must be an integer in"):
        problems.digits(num_samples=0)


# --- Sohl-Dickstein (2024) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trainability():
    problem = problems.trainability_network()
    return problem, problem.init(jax.random.split(KEY)[1])


@pytest.fixture(scope="module")
def train_grid(trainability):
    problem, params = trainability
    return jax.jit(jax.vmap(
        lambda lr_in, lr_out: problems.train_two_learning_rates(problem, params, lr_in, lr_out,
                                                                num_steps=100)))


def test_trainability_network_has_as_many_examples_as_parameters(trainability):
    problem, params = trainability
    num_params = ravel_pytree(params)[0].size
    assert num_params == 16 * 16 + 16
    assert problem.inputs.shape == (num_params, 16) and problem.labels.shape == (num_params, 1)


def test_trainability_loss_and_gd_match_the_hand_written_network(trainability):
    problem, params = trainability
    arrays = [np.asarray(a) for a in (params["input"], params["output"], problem.inputs,
                                      problem.labels)]
    loss, grad_input, grad_output = trainability_loss_and_grads(*arrays)
    grads = jax.grad(problem.loss)(params)
    np.testing.assert_allclose(problem.loss(params), loss, rtol=ROUNDING_RTOL)
    np.testing.assert_allclose(grads["input"], grad_input, rtol=ROUNDING_RTOL, atol=1e-14)
    np.testing.assert_allclose(grads["output"], grad_output, rtol=ROUNDING_RTOL, atol=1e-14)
    result = problems.train_two_learning_rates(problem, params, 3.0, 30.0, num_steps=20)
    np.testing.assert_allclose(result.final_loss,
                               trainability_gd(*arrays, 3.0, 30.0, num_steps=20),
                               rtol=TRAINING_RTOL)


def test_trainability_converges_for_tiny_and_diverges_for_huge_learning_rates(train_grid):
    learning_rates = jnp.array([1e-3, 1e4])
    result = train_grid(learning_rates, learning_rates)
    assert not bool(result.diverged[0]) and bool(result.diverged[1])
    assert float(result.measure[0]) < 0 < float(result.measure[1])


def test_trainability_vmaps_over_a_grid_of_learning_rate_pairs(trainability, train_grid):
    problem, params = trainability
    axis = jnp.logspace(-1, 4, 3)
    lr_in, lr_out = (a.ravel() for a in jnp.meshgrid(axis, axis))
    grid = train_grid(lr_in, lr_out)
    assert grid.diverged.shape == (9,)
    assert 0 < int(grid.diverged.sum()) < 9  # the boundary runs through this box
    single = problems.train_two_learning_rates(problem, params, lr_in[4], lr_out[4],
                                               num_steps=100)
    np.testing.assert_allclose(grid.final_loss[4], single.final_loss, rtol=ROUNDING_RTOL)
    assert bool(grid.diverged[4]) == bool(single.diverged)


def test_trainability_caps_a_non_finite_loss_before_normalizing_it():
    # GD on ‖W₀‖² + ‖W₁‖² with W₀ = [[2]], W₁ = [[0]]: the loss is 4·(1 − 2η)^(2k) at step k, so
    # it overflows to inf after a few dozen steps. The paper's convergence_measure counts a
    # non-finite loss as 1e6 *before* dividing by the initial loss 4 (ratio 1e6/4), and a finite
    # ratio above 1e6 as 1e6 after; the initial loss is not 1, so the order shows in `measure`.
    initial_input, learning_rate, num_steps, cap = 2.0, 1e3, 60, 1e6
    zero = jnp.zeros(())
    problem = problems.Problem(
        "square", lambda key: None,
        lambda params: jnp.sum(params["input"] ** 2) + jnp.sum(params["output"] ** 2),
        None, None, zero, zero)
    params = {"input": jnp.full((1, 1), initial_input), "output": jnp.zeros((1, 1))}
    result = problems.train_two_learning_rates(problem, params, learning_rate, learning_rate,
                                               num_steps)
    with np.errstate(over="ignore"):
        losses = initial_input**2 * np.abs(1 - 2 * learning_rate) ** (2.0 * np.arange(num_steps))
    assert 0 < np.sum(~np.isfinite(losses)) < num_steps  # some finite, some not: both rules used
    ratios = np.where(np.isfinite(losses), np.minimum(losses / losses[0], cap),
                      cap / losses[0])
    assert bool(result.diverged)
    np.testing.assert_allclose(result.measure, np.sum(1 / ratios), rtol=ROUNDING_RTOL)
