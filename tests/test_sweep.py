"""jl.sweep: results against a NumPy loop of the same rules, status/steps/basin semantics,
hyperparameter grids, compile-once, chunking, determinism, recordings and bad input."""
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from reference.sweep_loops import adam, first_check, run_point, sgd

import jaxopt_lab as jl
from jaxopt_lab import Status

#: float64 loops of up to 60 steps on Rosenbrock: XLA and NumPy round differently (fused
#: multiply-adds, the order of Adam's terms); the valley's curvature amplifies that a little.
LOOP_RTOL = 1e-9
#: The same operations in the same order on a 1-D quadratic: only last-bit rounding can differ.
EXACT_RTOL = 1e-14


def rosenbrock(w):
    return (1.0 - w[0]) ** 2 + 100.0 * (w[1] - w[0] ** 2) ** 2


def rosenbrock_value_and_grad(w):
    x, y = w
    grad = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    return rosenbrock(w), grad


def himmelblau(w):
    return (w[0] ** 2 + w[1] - 11.0) ** 2 + (w[0] + w[1] ** 2 - 7.0) ** 2


def bowl_1d(w):
    return jnp.sum(w**2)  # a = 2: gradient 2x


ROSENBROCK = jl.Surface("rosenbrock", rosenbrock, 2, ((-1.5, 1.5), (-1.5, 1.5)),
                        minima=((1.0, 1.0),), f_min=0.0)
# Published minima of Himmelblau's function (Himmelblau 1972; 6 digits).
HIMMELBLAU = jl.Surface("himmelblau", himmelblau, 2, ((-5.0, 5.0), (-5.0, 5.0)),
                        minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                                (3.584428, -1.848126)), f_min=0.0, escape_radius=100.0)
BOWL = jl.Surface("bowl", bowl_1d, 1, ((-4.0, 4.0),), minima=((0.0,),), f_min=0.0,
                  escape_radius=100.0)
STARTS = np.array([[-1.2, 1.0], [0.5, -0.5], [1.2, 1.4], [-0.3, 0.8], [0.9, 0.1]])
NUM_STEPS = 60
SGD = optax.sgd(2e-4)
MOMENTUM = optax.sgd(2e-4, momentum=0.9)
ADAM = optax.adam(1e-2)
REFERENCE = {id(SGD): sgd(2e-4), id(MOMENTUM): sgd(2e-4, momentum=0.9), id(ADAM): adam(1e-2)}


@pytest.mark.parametrize("optimizer,layout", [(SGD, "array"), (MOMENTUM, "array"),
                                              (ADAM, "array"), (ADAM, "coordinates")],
                         ids=["sgd", "momentum", "adam", "adam-coordinates"])
def test_matches_numpy_loop_of_the_same_rules(optimizer, layout):
    result = jl.sweep(optimizer, ROSENBROCK, STARTS, NUM_STEPS, gtol=1e-3, xtol=0.0, progress=False, engine=jl.Engine(layout=layout, check_every=1))
    expected = [run_point(REFERENCE[id(optimizer)], rosenbrock_value_and_grad, start, NUM_STEPS,
                          gtol=1e-3) for start in STARTS]
    params, loss, status, steps = (np.array(column) for column in zip(*expected))
    np.testing.assert_allclose(result.params, params, rtol=LOOP_RTOL)
    np.testing.assert_allclose(result.loss, loss, rtol=LOOP_RTOL)
    np.testing.assert_array_equal(result.status, status)
    np.testing.assert_array_equal(result.steps, steps)
    assert result.status.dtype == jnp.int8 and result.params.shape == STARTS.shape


def test_status_steps_and_freezing_on_a_quadratic_grid():
    """sgd on x²: η = 0.25 halves x (converges), η = 1.5 doubles it with flipped sign (escapes)."""
    starts = np.array([[1.0], [-3.0], [0.0], [np.nan], [1e-12]])
    rates = np.array([0.25, 1.5])
    result = jl.sweep(optax.sgd, BOWL, starts, 80, hyperparams={"learning_rate": rates},
                      gtol=1e-9, xtol=0.0, progress=False, engine=jl.Engine(check_every=1))
    assert result.params.shape == (2, 5, 1) and result.status.shape == (2, 5)

    def value_and_grad(x):
        return np.sum(x**2), 2 * x

    for c, rate in enumerate(rates):
        for p, start in enumerate(starts):
            params, loss, status, steps = run_point(sgd(rate), value_and_grad, start, 80,
                                                    gtol=1e-9, escape_radius=100.0)
            assert (result.status[c, p], result.steps[c, p]) == (status, steps), (rate, start)
            np.testing.assert_allclose(result.params[c, p], params, rtol=EXACT_RTOL)
    # Diverged points are frozen where they failed: just past the escape radius, still finite.
    escaped = np.asarray(result.params[1, :2, 0])
    assert np.all((np.abs(escaped) > 100.0) & (np.abs(escaped) <= 200.0))
    assert result.status[0, 3] == Status.DIVERGED and result.steps[0, 3] == 0  # NaN start
    np.testing.assert_array_equal(result.basin[0], [0, 0, 0, -1, 0])
    np.testing.assert_array_equal(result.basin[1], [-1, -1, 0, -1, 0])


def test_non_finite_value_with_finite_gradient_diverges():
    """log(3 − x) is NaN past x = 3 while its gradient stays finite: the value is checked too."""
    surface = jl.Surface("log-wall", lambda w: jnp.log(3.0 - w[0]), 1, ((0.0, 3.0),))
    result = jl.sweep(optax.sgd(0.5), surface, np.array([[2.0], [0.0]]), 50,
                      progress=False, engine=jl.Engine(check_every=1))
    np.testing.assert_array_equal(result.status, [Status.DIVERGED, Status.DIVERGED])
    assert np.all(np.asarray(result.params) > 3.0) and np.all(np.isnan(result.loss))
    # x_{t+1} = x_t + 0.5 / (3 − x_t): from 2.0 → 2.5 → 3.5 (t = 2); from 0 the step grows.
    assert result.steps[0] == 2


#: Steps between checks in the K > 1 tests: not a divisor of their num_steps, so the last
#: (shorter) block is exercised too.
CHECK_EVERY = 7


@pytest.mark.parametrize("optimizer", [optax.sgd(1e-3, momentum=0.9), optax.adam(0.1)],
                         ids=["momentum", "adam"])
def test_checks_every_k_steps_stop_at_the_first_check_meeting_the_criterion(optimizer):
    """check_every = K: status and steps are those of the unchecked path judged at steps 0, K,
    2K, ... and num_steps only (NumPy reference), within K of every-step checks; params are
    those of the path at ``steps``."""
    surface = jl.Surface("rosenbrock", rosenbrock, 2, ((-1.5, 1.5), (-1.5, 1.5)),
                         minima=((1.0, 1.0),), f_min=0.0, escape_radius=2.0)
    # Converging, escaping (finite) and NaN starts, at steps that are not multiples of K.
    starts = np.concatenate([STARTS, [[1.05, 1.1], [0.9, 0.85], [np.nan, 0.0], [1.8, -0.5],
                                      [1.9, 0.4]]])
    options = {"gtol": 1e-3, "xtol": 0.1, "progress": False}
    exact = jl.sweep(optimizer, surface, starts, NUM_STEPS, **options, engine=jl.Engine(check_every=1))
    blocks = jl.sweep(optimizer, surface, starts, NUM_STEPS, **options, engine=jl.Engine(check_every=CHECK_EVERY))
    # Unchecked paths: with gtol = xtol = 0 and no escape radius no point ever stops.
    paths = jl.sweep(optimizer, dataclasses.replace(surface, escape_radius=math.inf), starts,
                     NUM_STEPS, gtol=0.0, xtol=0.0, trajectories=range(len(starts)),
                     progress=False).trajectories
    expected = [first_check(path, rosenbrock_value_and_grad, CHECK_EVERY, gtol=1e-3, xtol=0.1,
                            minima=surface.minima, escape_radius=2.0) for path in paths]
    status, steps = (np.array(column) for column in zip(*expected))
    np.testing.assert_array_equal(blocks.status, status)
    np.testing.assert_array_equal(blocks.steps, steps)
    np.testing.assert_array_equal(blocks.status, exact.status)
    assert {Status.CONVERGED, Status.DIVERGED, Status.UNFINISHED} <= set(exact.status.tolist())
    stopped = steps >= 0
    exact_steps = np.asarray(exact.steps)
    assert np.all((steps[stopped] % CHECK_EVERY == 0) | (steps[stopped] == NUM_STEPS))
    assert np.all((steps[stopped] >= exact_steps[stopped])
                  & (steps[stopped] - exact_steps[stopped] < 2 * CHECK_EVERY))
    assert np.any(exact_steps[stopped] % CHECK_EVERY != 0) and steps[len(STARTS) + 2] == 0
    for point in np.flatnonzero(stopped):
        np.testing.assert_allclose(blocks.params[point], paths[point, steps[point]],
                                   rtol=LOOP_RTOL)
    np.testing.assert_allclose(blocks.params[~stopped], exact.params[~stopped], rtol=LOOP_RTOL)


def test_a_point_that_overflows_between_checks_is_frozen_at_the_last_finite_check():
    """sgd with η = 1e10 on x² (no escape radius): x ← x·(1 − 2η) overflows to inf after ~27
    steps from 1e30, inside the first block of 50; the point is DIVERGED at the first check and
    keeps its start, the last check where it was finite, so nothing non-finite is returned."""
    surface = dataclasses.replace(BOWL, escape_radius=math.inf)
    result = jl.sweep(optax.sgd(1e10), surface, np.array([[1e30], [0.0]]), 100, gtol=0.0,
                      xtol=0.0, progress=False, engine=jl.Engine(check_every=50))
    np.testing.assert_array_equal(result.status, [Status.DIVERGED, Status.CONVERGED])
    np.testing.assert_array_equal(result.steps, [50, 0])
    np.testing.assert_array_equal(result.params, [[1e30], [0.0]])
    assert np.all(np.isfinite(result.loss))


def test_basins_of_himmelblau():
    offsets = np.array([[0.05, -0.04]])
    starts = np.asarray(HIMMELBLAU.minima) + offsets
    result = jl.sweep(optax.sgd(0.005), HIMMELBLAU, starts, 300, progress=False)
    np.testing.assert_array_equal(result.status, [Status.CONVERGED] * 4)
    np.testing.assert_array_equal(result.basin, [0, 1, 2, 3])
    assert np.all(np.asarray(result.steps) > 0)


#: Optimizers whose update mixes a point's coordinates (per-leaf norms, factored moments).
MIXING = {"lamb": optax.lamb(0.05), "lars": optax.lars(0.05), "fromage": optax.fromage(0.05),
          "clipped adam": optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.05)),
          "adafactor": optax.adafactor(0.05)}


@pytest.mark.parametrize("name", list(MIXING))
def test_an_optimizer_that_mixes_coordinates_sees_the_whole_point(name):
    """check_every=1 prefers the per-coordinate layout, which would hand such an optimizer one
    scalar leaf per coordinate: LAMB's trust ratio ‖θ‖/‖u‖ over x alone is another optimizer.
    The engine gives it the (dim,) vector, the surface's own parameter."""
    starts = STARTS * 3.0
    default = jl.sweep(MIXING[name], HIMMELBLAU, starts, 30, progress=False, engine=jl.Engine(check_every=1))
    array = jl.sweep(MIXING[name], HIMMELBLAU, starts, 30,
                     progress=False, engine=jl.Engine(check_every=1, layout="array"))
    assert default.metadata["layout"] == "array"
    np.testing.assert_array_equal(default.params, array.params)
    elementwise = jl.sweep(ADAM, HIMMELBLAU, starts, 30, progress=False, engine=jl.Engine(check_every=1))
    assert elementwise.metadata["layout"] == "coordinates"
    with pytest.raises(ValueError, match="layout='coordinates' does not fit this optimizer"):
        jl.sweep(MIXING[name], HIMMELBLAU, starts, 30, progress=False, engine=jl.Engine(layout="coordinates"))


def test_extra_args_transformation_receives_value_grad_and_value_fn():
    def update(updates, state, params, *, value, grad, value_fn, **extra_args):
        # Equals −η·g exactly when value == value_fn(params) and grad is the gradient passed.
        check = 1.0 + (value_fn(params) - value) + jnp.sum(grad - updates)
        return jax.tree.map(lambda g: -0.01 * g * check, updates), state

    probe = optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)
    result = jl.sweep(probe, HIMMELBLAU, STARTS, 40, progress=False)
    plain = jl.sweep(optax.sgd(0.01), HIMMELBLAU, STARTS, 40, progress=False)
    np.testing.assert_array_equal(result.params, plain.params)


def test_second_call_with_same_shapes_does_not_recompile():
    traces = []

    def counted(w):
        traces.append(1)  # runs only while jax traces, i.e. when it compiles
        return jnp.sum((w - 1.0) ** 2)

    surface = jl.Surface("counted", counted, 2, ((-2.0, 2.0), (-2.0, 2.0)))
    jl.sweep(SGD, surface, STARTS, 5, progress=False)
    after_first = len(traces)
    jl.sweep(SGD, surface, STARTS + 0.5, 5, progress=False)
    assert after_first > 0 and len(traces) == after_first


def test_chunks_padding_and_reruns_are_bit_identical():
    starts = jl.starts.uniform(jax.random.PRNGKey(3), HIMMELBLAU, 11)
    whole = jl.sweep(ADAM, HIMMELBLAU, starts, 30, progress=False)
    chunked = jl.sweep(ADAM, HIMMELBLAU, starts, 30, progress=False, engine=jl.Engine(chunk_size=4))
    again = jl.sweep(ADAM, HIMMELBLAU, starts, 30, progress=False)
    for name in ("params", "loss", "status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))
        np.testing.assert_array_equal(getattr(again, name), getattr(whole, name))
    assert chunked.metadata["chunk_size"] == 4


def test_a_chunk_larger_than_the_sweep_is_cut_to_it():
    """No work on padding: a chunk_size beyond P shrinks to P, rounded up to the devices."""
    num_devices = len(jax.local_devices())
    result = jl.sweep(ADAM, HIMMELBLAU, STARTS, 30, progress=False, engine=jl.Engine(chunk_size=1000))
    assert result.metadata["chunk_size"] == -(-len(STARTS) // num_devices) * num_devices


def test_loss_history_and_trajectories_agree():
    result = jl.sweep(ADAM, HIMMELBLAU, STARTS, 30, record_loss_every=7, trajectories=[0, 3],
                      progress=False)
    np.testing.assert_array_equal(result.loss_steps, [0, 7, 14, 21, 30])
    assert result.loss_history.shape == (5, 5) and result.trajectories.shape == (2, 31, 2)
    np.testing.assert_array_equal(result.trajectories[:, 0], STARTS[[0, 3]])
    np.testing.assert_allclose(result.trajectories[:, -1], np.asarray(result.params)[[0, 3]],
                               rtol=EXACT_RTOL)
    path_losses = jax.vmap(jax.vmap(himmelblau))(result.trajectories)[:, result.loss_steps]
    np.testing.assert_allclose(np.asarray(result.loss_history)[[0, 3]], path_losses, rtol=EXACT_RTOL)


def test_accepts_a_grid_object_with_points():
    grid = jl.starts.grid(HIMMELBLAU, 3)
    result = jl.sweep(SGD, HIMMELBLAU, grid, 5, progress=False)
    assert result.params.shape == (9, 2)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(starts=np.zeros((4, 3))), ValueError, r"starts must be a \(P, 2\) array"),
    (dict(starts=np.zeros(4)), ValueError, r"starts must be a \(P, 2\) array"),
    (dict(starts="abc"), TypeError, "starts must be"),
    (dict(num_steps=0), ValueError, r"num_steps must be an integer in \[1, 1073741823\], got 0"),
    (dict(num_steps=2.5), ValueError, "num_steps must be an integer"),
    (dict(optimizer=optax.sgd, hyperparams={"learning_rate": [0.1, 0.2], "momentum": [0.9]}),
     ValueError, "hyperparams must be 1-D arrays of one common length"),
    (dict(optimizer=optax.sgd, hyperparams={"learning_rat": [0.1]}), TypeError,
     r"hyperparams \['learning_rat'\] do not fit optimizer factory"),
    (dict(optimizer=optax.sgd), TypeError, "optimizer is a factory: pass hyperparams"),
    (dict(hyperparams={"learning_rate": [0.1]}), TypeError, "hyperparams need optimizer"),
    (dict(optimizer=42), TypeError, "optimizer must be an optax.GradientTransformation"),
    (dict(optimizer=lambda learning_rate: 3, hyperparams={"learning_rate": [0.1]}), TypeError,
     "optimizer factory must return an optax transformation"),
    (dict(surface=rosenbrock), TypeError, "surface must be a jaxopt_lab.surfaces.Surface"),
    (dict(gtol=-1.0), ValueError, r"gtol must be a number in \[0, inf\)"),
    (dict(record_loss_every=11), ValueError, r"record_loss_every must be an integer in \[1, 10\]"),
    (dict(trajectories=[7]), ValueError, r"trajectories must be a 1-D sequence of point indices"),
])
def test_bad_input_names_the_argument(kwargs, error, match):
    arguments = dict(optimizer=SGD, surface=ROSENBROCK, starts=STARTS, num_steps=10)
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        jl.sweep(arguments.pop("optimizer"), arguments.pop("surface"), arguments.pop("starts"),
                 arguments.pop("num_steps"), progress=False, **arguments)


@pytest.mark.parametrize("options,match", [
    (dict(layout="rows"), "layout must be one of"),
    (dict(unroll=0), "unroll must be an integer"),
    (dict(check_every=0), r"check_every must be an integer in \[1, inf\], got 0"),
    (dict(memory_budget=-1), r"memory_budget must be an integer in \[1, inf\], got -1"),
    (dict(backend="pallas"), "backend must be one of"),
    (dict(devices=[]), "devices must hold at least one"),
])
def test_bad_engine_option_names_it_before_any_sweep(options, match):
    with pytest.raises(ValueError, match=match):
        jl.Engine(**options)
    with pytest.raises(TypeError, match="engine must be a jaxopt_lab.Engine"):
        jl.sweep(SGD, ROSENBROCK, STARTS, 10, engine=options)


def test_default_tolerances_follow_the_dtype():
    result = jl.sweep(SGD, ROSENBROCK, STARTS, 2, progress=False)
    assert math.isclose(result.metadata["gtol"], math.sqrt(np.finfo(np.float64).eps))
    assert math.isclose(result.metadata["basin_radius"], 0.01 * math.hypot(3.0, 3.0))


def test_progress_bar_counts_chunks_only_when_asked(capsys):
    starts = jl.starts.uniform(jax.random.PRNGKey(3), HIMMELBLAU, 11)
    jl.sweep(ADAM, HIMMELBLAU, starts, 30, progress=True, engine=jl.Engine(chunk_size=4))
    assert "3/3" in capsys.readouterr().err
    jl.sweep(ADAM, HIMMELBLAU, starts, 30, engine=jl.Engine(chunk_size=4))  # pytest's stderr is not a terminal
    assert capsys.readouterr().err == ""
