"""Sohl-Dickstein (2024)'s conditions: dtype, activations, data sizes, minibatches, both planes."""
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.problems import paper_network_loss

from jaxopt_lab import problems

KEY = jax.random.PRNGKey(0)
#: Same formula evaluated in a different order (NumPy vs XLA matmuls): float64 rounding only.
ROUNDING_RTOL = 1e-12
#: float32 keeps 24 bits; the initial loss of a float32 network from the paper's numbers rounded
#: sums 272 squared residuals, each off by a few float32 ulps.
FLOAT32_RTOL = 1e-5
#: A run that trains: single-datapoint GD at a small learning rate fits its one target; after
#: 500 steps the loss must have fallen this far below the initial loss (it falls geometrically).
FIT_RATIO = 1e-6
WIDTH = 4
STEPS = 30


def _paper_start(problem):
    return problem.init(jax.random.split(KEY)[1])


def test_float32_network_starts_from_the_float64_numbers_rounded():
    wide, narrow = (problems.trainability_network(KEY, 16, dtype=dtype)
                    for dtype in (jnp.float64, jnp.float32))
    for field in ("inputs", "labels"):
        assert getattr(narrow, field).dtype == jnp.float32
        np.testing.assert_array_equal(getattr(narrow, field),
                                      getattr(wide, field).astype(jnp.float32))
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b.astype(jnp.float32)),
                 _paper_start(narrow), _paper_start(wide))


_X64_OFF_SCRIPT = """
import jax, jax.numpy as jnp
from jaxopt_lab import problems
key = jax.random.PRNGKey(0)
problem = problems.trainability_network(key, 16)
params = problem.init(jax.random.split(key)[1])
print(problem.inputs.dtype, repr(float(problem.loss(params))))
try:
    jax.jit(problem.init)(jax.random.split(key)[1])
except ValueError as error:
    print(error)
"""


def test_without_x64_the_default_network_is_the_papers_in_float32():
    # The paper runs with x64; a float32 user (x64 off, JAX's default) must get its numbers too.
    environment = {**os.environ, "JAX_ENABLE_X64": "0", "JAX_PLATFORMS": "cpu"}
    output = subprocess.run([sys.executable, "-c", _X64_OFF_SCRIPT], capture_output=True,
                            text=True, check=True, env=environment).stdout.splitlines()
    dtype, loss = output[0].split()
    problem = problems.trainability_network(KEY, 16)
    assert dtype == "float32"
    assert float(loss) == pytest.approx(float(problem.loss(_paper_start(problem))),
                                        rel=FLOAT32_RTOL)
    assert "key must be a concrete PRNG key when x64 is disabled" in output[1]


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
def test_each_activation_is_the_published_network(activation):
    problem = problems.trainability_network(KEY, WIDTH, activation=activation)
    params = _paper_start(problem)
    expected = paper_network_loss([np.asarray(params["input"]), np.asarray(params["output"])],
                                  np.asarray(problem.inputs), np.asarray(problem.labels),
                                  activation)
    np.testing.assert_allclose(problem.loss(params), expected, rtol=ROUNDING_RTOL)


@pytest.mark.parametrize("activation, num_examples, expected", [
    ("tanh", None, WIDTH * WIDTH + WIDTH), ("relu", None, WIDTH * WIDTH + WIDTH),
    ("identity", None, WIDTH), ("tanh", 1, 1),
])
def test_example_counts_follow_the_paper(activation, num_examples, expected):
    problem = problems.trainability_network(KEY, WIDTH, activation=activation,
                                            num_examples=num_examples)
    assert problem.inputs.shape == (expected, WIDTH) and problem.labels.shape == (expected, 1)


def test_single_datapoint_training_fits_its_target():
    problem = problems.trainability_network(KEY, WIDTH, num_examples=1)
    params = _paper_start(problem)
    result = problems.train_two_learning_rates(problem, params, 0.5, 0.5, 500)
    assert not bool(result.diverged)
    assert float(result.final_loss) < FIT_RATIO * float(problem.loss(params))


def _hand_gradient_descent(problem, params, learning_rates, num_steps, batches=None,
                           offset=0.0):
    losses = []
    for step in range(num_steps):
        params = {**params, "input": params["input"] + offset}
        losses.append(float(problem.loss(params)))
        batch = None if batches is None else (batches[0][step], batches[1][step])
        grads = jax.grad(problem.loss)(params, batch)
        params = {name: params[name] - learning_rates[name] * grads[name] for name in params}
    return params, np.array(losses)


def _paper_rule(losses):
    # convergence_measure of the published code, written out for a loss history.
    ratios = np.minimum(np.where(np.isfinite(losses), losses, 1e6) / losses[0], 1e6)
    converged = np.mean(ratios[-20:]) < 1
    return (not converged), (-np.sum(ratios) if converged else np.sum(1 / ratios))


def test_minibatch_steps_use_the_papers_draws_and_judge_the_full_batch_loss():
    problem = problems.trainability_network(KEY, WIDTH)
    params = _paper_start(problem)
    minibatch_size, num_examples = 3, problem.inputs.shape[0]
    keys = jax.random.split(jax.random.PRNGKey(42), STEPS)
    indices = np.stack([jax.random.randint(k, (minibatch_size,), 0, num_examples) for k in keys])
    batches = (problem.inputs[indices], problem.labels[indices])
    rates = {"input": 0.3, "output": 3.0}
    end, losses = _hand_gradient_descent(problem, params, rates, STEPS, batches)
    result = problems.train_two_learning_rates(problem, params, 0.3, 3.0, STEPS,
                                               minibatch_size=minibatch_size)
    np.testing.assert_allclose(result.final_loss, problem.loss(end), rtol=ROUNDING_RTOL)
    diverged, measure = _paper_rule(losses)
    assert bool(result.diverged) == diverged
    np.testing.assert_allclose(result.measure, measure, rtol=ROUNDING_RTOL)
    full = problems.train_two_learning_rates(problem, params, 0.3, 3.0, STEPS)
    assert float(full.final_loss) != float(result.final_loss)  # the minibatches were used


@pytest.mark.parametrize("offset_every_step", [False, True])
def test_offset_plane_shifts_the_input_weights_once_or_every_step(offset_every_step):
    problem = problems.trainability_network(KEY, WIDTH)
    params = _paper_start(problem)
    offset, learning_rate = 0.2, 0.5
    rates = {"input": learning_rate, "output": learning_rate}
    if offset_every_step:
        end, losses = _hand_gradient_descent(problem, params, rates, STEPS, offset=offset)
        end = {**end, "input": end["input"] + offset}
    else:
        start = {**params, "input": params["input"] + offset}
        end, losses = _hand_gradient_descent(problem, start, rates, STEPS)
    result = problems.train_offset_and_learning_rate(problem, params, offset, learning_rate,
                                                     STEPS, offset_every_step=offset_every_step)
    np.testing.assert_allclose(result.final_loss, problem.loss(end), rtol=ROUNDING_RTOL)
    np.testing.assert_allclose(result.measure, _paper_rule(losses)[1], rtol=ROUNDING_RTOL)


@pytest.mark.parametrize("num_steps", [1, 2, 5, 21])
def test_any_number_of_steps_follows_the_rule_on_the_losses_it_has(num_steps):
    # Fewer than 20 losses: the mean is over all of them (the code's v[-20:] slice); one step
    # records only the initial loss, whose ratio 1 is not below 1, so it reads as diverged.
    problem = problems.trainability_network(KEY, WIDTH)
    params = _paper_start(problem)
    rates = {"input": 0.5, "output": 5.0}
    _, losses = _hand_gradient_descent(problem, params, rates, num_steps)
    result = problems.train_two_learning_rates(problem, params, 0.5, 5.0, num_steps)
    diverged, measure = _paper_rule(losses)
    assert bool(result.diverged) == diverged and (num_steps > 1 or diverged)
    np.testing.assert_allclose(result.measure, measure, rtol=ROUNDING_RTOL)


@pytest.mark.parametrize("plane, train", [
    ("learning_rates", problems.train_two_learning_rates),
    ("offset_and_learning_rate", problems.train_offset_and_learning_rate),
])
def test_trainability_map_is_the_vmapped_run_on_a_log_grid(plane, train):
    problem = problems.trainability_network(KEY, WIDTH, activation="relu")
    params = _paper_start(problem)
    window, resolution = (-2.0, 1.0, -1.0, 3.0), 5
    picture = problems.trainability_map(problem, params, window, resolution, plane=plane,
                                        num_steps=STEPS, minibatch_size=4)
    x_values, y_values = np.logspace(-2, 1, resolution), np.logspace(-1, 3, resolution)
    for row, column in [(0, 0), (1, 3), (4, 2)]:
        single = train(problem, params, x_values[column], y_values[row], STEPS, minibatch_size=4)
        np.testing.assert_allclose(picture.measure[row, column], single.measure,
                                   rtol=ROUNDING_RTOL)
        assert bool(picture.diverged[row, column]) == bool(single.diverged)


def test_trainability_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of 'tanh', 'relu', 'identity'"):
        problems.trainability_network(activation="sigmoid")
    with pytest.raises(ValueError, match=r"num_examples must be an integer in \[1, inf\]"):
        problems.trainability_network(num_examples=0)
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        problems.trainability_network(dtype=jnp.int32)
    problem = problems.trainability_network(KEY, WIDTH)
    params = _paper_start(problem)
    with pytest.raises(ValueError, match=r"num_steps must be an integer in \[1, inf\], got 0"):
        problems.train_two_learning_rates(problem, params, 1.0, 1.0, 0)
    with pytest.raises(ValueError, match=r"minibatch_size must be an integer in \[1, inf\]"):
        problems.train_two_learning_rates(problem, params, 1.0, 1.0, 5, minibatch_size=0)
    with pytest.raises(ValueError, match="plane must be one of"):
        problems.trainability_map(problem, params, (0, 1, 0, 1), 4, plane="lr")
    with pytest.raises(ValueError, match="window must be"):
        problems.trainability_map(problem, params, (1, 0, 0, 1), 4)


def test_a_chunked_map_is_the_whole_map():
    problem = problems.trainability_network(KEY, WIDTH)
    params = _paper_start(problem)
    window, resolution = (-1.0, 4.0, -1.0, 4.0), 6
    whole = problems.trainability_map(problem, params, window, resolution, num_steps=STEPS)
    chunked = problems.trainability_map(problem, params, window, resolution, num_steps=STEPS,
                                        chunk_size=7)  # 36 points: 5 full chunks and 1 of 1
    np.testing.assert_array_equal(chunked.diverged, whole.diverged)
    np.testing.assert_allclose(chunked.measure, whole.measure, rtol=ROUNDING_RTOL)


#: The map's sweep sums the colour value step by step, the direct map sums the array at once:
#: float64 rounding of a few dozen terms; float32 keeps 24 bits of each partial sum.
SUM_RTOL = {"float64": 1e-12, "float32": 1e-5}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("plane, window", [
    ("learning_rates", (-1.0, 4.0, -1.0, 4.0)),
    ("offset_and_learning_rate", (-2.0, 0.5, -1.0, 1.5)),
])
@pytest.mark.parametrize("num_steps", [1, 2, 21, STEPS])
def test_the_swept_map_labels_every_cell_as_the_direct_runs(plane, window, dtype, num_steps):
    # The full-batch map runs as one jl.sweep; the direct vmap of the single runs is the oracle.
    problem = problems.trainability_network(KEY, WIDTH, dtype=jnp.dtype(dtype))
    params = _paper_start(problem)
    resolution = 9
    picture = problems.trainability_map(problem, params, window, resolution, plane=plane,
                                        num_steps=num_steps)
    x_values, y_values = np.meshgrid(np.logspace(*window[:2], resolution),
                                     np.logspace(*window[2:], resolution))
    direct = problems._direct_map(problem, params, x_values.ravel(), y_values.ravel(),
                                  plane=plane, num_steps=num_steps, minibatch_size=None,
                                  minibatch_key=None, offset_every_step=False, chunk_size=None)
    labels = np.asarray(direct.diverged).reshape(resolution, resolution)
    np.testing.assert_array_equal(picture.diverged, labels)
    assert num_steps == 1 or 0 < labels.mean() < 1  # the window crosses the boundary
    np.testing.assert_allclose(picture.measure.ravel(), direct.measure, rtol=SUM_RTOL[dtype])
    trained = ~labels.ravel()
    np.testing.assert_allclose(picture.final_loss.ravel()[trained],
                               np.asarray(direct.final_loss)[trained], rtol=SUM_RTOL[dtype])
