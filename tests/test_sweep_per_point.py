"""Hyperparameters per point: each start paired with its own values, run, chunked,
checkpointed and recorded like the starts; and `layerwise_sgd`, a rate per layer of a vector."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl

#: A point of a per-point sweep and the same point in a product grid run in blocks of other
#: shapes: XLA may round their last bits differently, which a smooth bowl does not amplify.
BLOCK_SHAPE_RTOL = 1e-12
NUM_POINTS = 150
BOWL = jl.Surface("bowl", lambda x: x[0] ** 2 + 4.0 * x[1] ** 2, 2, ((-2.0, 2.0), (-2.0, 2.0)),
                  minima=((0.0, 0.0),), f_min=0.0, escape_radius=1e6)


def _starts_and_rates(num_points=NUM_POINTS):
    starts = np.asarray(jl.starts.uniform(jax.random.PRNGKey(1), BOWL, num_points))
    # Across the stability limit η < 2/8 of the steeper axis: some converge, some escape.
    return starts, np.geomspace(0.01, 0.4, num_points)


def test_each_point_runs_as_its_own_configuration_of_a_grid():
    starts, rates = _starts_and_rates()
    paired = jl.sweep(optax.sgd, BOWL, starts, 60, hyperparams={"learning_rate": rates},
                      hyperparams_per_point=True, progress=False)
    grid = jl.sweep(optax.sgd, BOWL, starts, 60, hyperparams={"learning_rate": rates},
                    progress=False)
    assert np.shape(paired.status) == (NUM_POINTS,) and paired.metadata["block_configs"] == 1
    diagonal = np.arange(NUM_POINTS)
    for field in ("status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(paired, field),
                                      np.asarray(getattr(grid, field))[diagonal, diagonal])
    np.testing.assert_allclose(paired.params, np.asarray(grid.params)[diagonal, diagonal],
                               rtol=BLOCK_SHAPE_RTOL)
    statuses = set(np.asarray(paired.status).tolist())
    assert {jl.Status.CONVERGED, jl.Status.DIVERGED} <= statuses  # both sides of the limit


def test_a_grid_of_settings_over_one_start_runs_without_padding():
    start = np.array([[1.0, -1.0]])
    rates = np.geomspace(0.01, 0.2, 640)
    result = jl.sweep(optax.sgd, BOWL, np.repeat(start, rates.size, axis=0), 30,
                      hyperparams={"learning_rate": rates}, hyperparams_per_point=True,
                      progress=False)
    # The settings are the points: one block of all 640, where a product grid over the one
    # start runs blocks of 64 points (63 of them padding) × 16 settings.
    assert (result.metadata["block_points"], result.metadata["block_configs"]) == (640, 1)
    grid = jl.sweep(optax.sgd, BOWL, start, 30, hyperparams={"learning_rate": rates},
                    progress=False)
    assert (grid.metadata["block_points"], grid.metadata["block_configs"]) == (64, 16)
    np.testing.assert_array_equal(result.status, grid.status[:, 0])
    assert result.metadata["hyperparams_per_point"] is True


def test_a_per_point_sweep_resumes_from_its_checkpoint(tmp_path):
    starts, rates = _starts_and_rates()
    options = dict(hyperparams={"learning_rate": rates}, hyperparams_per_point=True,
                   divergence=jl.engine.mean_normalized_loss_rule(), progress=False,
                   engine=jl.Engine(chunk_size=64))
    first = jl.sweep(optax.sgd, BOWL, starts, 40, checkpoint=str(tmp_path), **options)
    again = jl.sweep(optax.sgd, BOWL, starts, 40, checkpoint=str(tmp_path), **options)
    assert again.metadata["chunks_loaded"] == 3
    for field in ("params", "status", "steps"):
        np.testing.assert_array_equal(getattr(again, field), getattr(first, field))
    for mine, theirs in zip(jax.tree.leaves(again.divergence_state),
                            jax.tree.leaves(first.divergence_state), strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("change, differs", [
    (dict(hyperparams={"learning_rate": np.geomspace(0.01, 0.3, NUM_POINTS)}),
     "the hyperparameters"),
    (dict(divergence=jl.engine.mean_normalized_loss_rule(tail=5)), "divergence"),
])
def test_a_checkpoint_knows_its_per_point_settings_and_its_rule(tmp_path, change, differs):
    starts, rates = _starts_and_rates()
    options = dict(hyperparams={"learning_rate": rates}, hyperparams_per_point=True,
                   divergence=jl.engine.mean_normalized_loss_rule(), progress=False)
    jl.sweep(optax.sgd, BOWL, starts, 20, checkpoint=str(tmp_path), **options)
    with pytest.raises(jl.engine.CheckpointError, match=differs):
        jl.sweep(optax.sgd, BOWL, starts, 20, checkpoint=str(tmp_path), **{**options, **change})


def test_per_point_sweeps_over_slices_concatenate_into_the_whole_sweep():
    starts, rates = _starts_and_rates()
    options = dict(divergence=jl.engine.mean_normalized_loss_rule(), progress=False,
                   hyperparams_per_point=True)
    whole = jl.sweep(optax.sgd, BOWL, starts, 60, hyperparams={"learning_rate": rates},
                     **options)
    parts = [jl.sweep(optax.sgd, BOWL, starts[points], 60,
                      hyperparams={"learning_rate": rates[points]}, **options)
             for points in (slice(0, 100), slice(100, NUM_POINTS))]
    joined = jl.SweepResult.concatenate(parts)
    np.testing.assert_array_equal(joined.hyperparams["learning_rate"], rates, strict=True)
    for field in ("status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(joined, field), getattr(whole, field),
                                      err_msg=field)
    # The parts ran in blocks of other shapes than the whole sweep's.
    np.testing.assert_allclose(joined.params, whole.params, rtol=BLOCK_SHAPE_RTOL)
    for joined_leaf, whole_leaf in zip(jax.tree.leaves(joined.divergence_state),
                                       jax.tree.leaves(whole.divergence_state), strict=True):
        np.testing.assert_allclose(joined_leaf, whole_leaf, rtol=BLOCK_SHAPE_RTOL)
    assert joined.metadata["num_points"] == NUM_POINTS


@pytest.mark.parametrize("change, message", [
    ({"divergence": None}, "'divergence'"),
    ({"hyperparams_per_point": False}, "'hyperparams_per_point'"),
])
def test_concatenate_refuses_a_part_of_another_kind_of_sweep(change, message):
    starts, rates = _starts_and_rates(8)
    options = dict(divergence=jl.engine.mean_normalized_loss_rule(), progress=False,
                   hyperparams_per_point=True)
    first = jl.sweep(optax.sgd, BOWL, starts[:4], 20, hyperparams={"learning_rate": rates[:4]},
                     **options)
    other = jl.sweep(optax.sgd, BOWL, starts[4:], 20, hyperparams={"learning_rate": rates[4:]},
                     **{**options, **change})
    with pytest.raises(ValueError, match=message):
        jl.SweepResult.concatenate([first, other])


def test_paths_follow_their_own_hyperparameters():
    starts, rates = _starts_and_rates()
    result = jl.sweep(optax.sgd, BOWL, starts, 25, hyperparams={"learning_rate": rates},
                      hyperparams_per_point=True, trajectories=[0, 149], progress=False,
                      engine=jl.Engine(check_every=1))
    assert result.trajectories.shape == (2, 26, 2)
    for path, index in zip(result.trajectories, [0, 149], strict=True):
        np.testing.assert_array_equal(path[int(result.steps[index]) if result.steps[index] >= 0
                                           else -1], result.params[index])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(hyperparams={"learning_rate": np.ones(3)}, hyperparams_per_point=True), ValueError,
     r"hyperparams\['learning_rate'\] must hold one value per start .* shape \(4,\), got \(3,\)"),
    (dict(hyperparams_per_point=True), TypeError, "pass hyperparams"),
    (dict(hyperparams={"learning_rate": np.ones(4)}, hyperparams_per_point="yes"), TypeError,
     "hyperparams_per_point must be True or False"),
    (dict(hyperparams={"learning_rate": np.full(4, 0.1)}, hyperparams_per_point=True,
          engine=jl.Engine(backend="fused")), jl.engine.EngineOptionError,
     "backend='fused' does not take hyperparams_per_point=True"),
    (dict(hyperparams={"learning_rate": np.full(4, 0.1)},
          divergence=jl.engine.mean_normalized_loss_rule(), engine=jl.Engine(backend="fused")),
     jl.engine.EngineOptionError, "backend='fused' does not take a divergence rule"),
])
def test_bad_per_point_arguments_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        jl.sweep(optax.sgd, BOWL, np.ones((4, 2)), 5, progress=False, **kwargs)


# --- layerwise_sgd ---------------------------------------------------------------------------

LAYERS = (6, 3, 1)


def _float64_layerwise_step(params, grad, rates):
    # θ_k − η_k g_k, layer by layer, in NumPy float64.
    bounds = np.cumsum((0,) + LAYERS)
    out = np.array(params, np.float64)
    for rate, low, high in zip(rates, bounds[:-1], bounds[1:], strict=True):
        out[low:high] = out[low:high] - rate * np.asarray(grad[low:high], np.float64)
    return out


@pytest.mark.parametrize("rates", [(0.1, 1.0, 10.0), (1e-3, 1e-3, 1e-3), (2.5, 0.01, 0.7)])
def test_layerwise_sgd_is_gradient_descent_per_layer(rates):
    params = jax.random.normal(jax.random.PRNGKey(2), (sum(LAYERS),), jnp.float64)
    grad = jax.random.normal(jax.random.PRNGKey(3), (sum(LAYERS),), jnp.float64)
    tx = jl.layerwise_sgd(rates, LAYERS)
    updates, _ = tx.update(grad, tx.init(params), params)
    np.testing.assert_array_equal(optax.apply_updates(params, updates),
                                  _float64_layerwise_step(params, grad, rates))


@pytest.mark.parametrize("call, match", [
    (lambda: jl.layerwise_sgd((0.1,), (2, 3)), "one rate per layer"),
    (lambda: jl.layerwise_sgd((0.1, -1.0), (2, 3)), r"learning_rates\[1\] must be in \(0, inf\)"),
    (lambda: jl.layerwise_sgd((0.1, 0.1), (2, 0)), r"layer_sizes\[1\] must be an integer"),
    (lambda: jl.layerwise_sgd((0.1, 0.1), (2, 3)).init(jnp.zeros(4)), "sum\\(layer_sizes\\) = 5"),
    (lambda: jl.layerwise_sgd((jnp.ones(2), 0.1), (2, 3)).init(jnp.zeros(5)),
     r"learning_rates\[0\] must be a scalar"),
])
def test_layerwise_sgd_refuses_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
