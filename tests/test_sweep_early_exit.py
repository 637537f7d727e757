"""The sweep kernel's early exit: once every point has stopped, the check blocks left are skipped.

Skipping them must change no output (a stopped point's params, status and steps are frozen), so
each case compares the kernel against a run of the same points where the exit cannot happen:
with a trajectory recorded (the blocks then run a fixed-length scan) or with one more point that
never stops. ``steps_run``, a kernel output that `jl.sweep` drops, shows that the exit happened.
"""
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine._scan import KernelConfig, get_kernel
from jaxopt_lab import Status

#: The outputs `jl.sweep` keeps; all must be bit for bit the same with and without the exit.
POINT_FIELDS = ("params", "loss", "status", "steps", "basin", "loss_history")
GTOL = XTOL = 1e-6
BASIN_RADIUS = 0.1


def bowl(w):
    return jnp.sum(w**2)


#: x <- x (1 - 2 * 0.25) = x / 2 under sgd(0.25): a start at 1 is within XTOL of 0 after 20
#: steps, one at 1e6 only after 40.
BOWL = jl.Surface("bowl", bowl, 1, ((-1.0, 1.0),), minima=((0.0,),), f_min=0.0)
HALVING = optax.sgd(0.25)
#: Momentum on Himmelblau converges from every start of this grid well within 500 steps.
HIMMELBLAU = jl.surfaces.get("himmelblau")
MOMENTUM = optax.sgd(5e-3, momentum=0.9)


def himmelblau_starts() -> jnp.ndarray:
    grid = jnp.linspace(-4.0, 4.0, 6)
    return jnp.stack(jnp.meshgrid(grid, grid), axis=-1).reshape(-1, 2)


def run_kernel(optimizer, surface, starts, num_steps, check_every, *, record_loss_every=None,
               record_trajectory=False, hyperparams=None):
    config = KernelConfig(num_steps, GTOL, XTOL, BASIN_RADIUS, "array", 1, record_loss_every,
                          record_trajectory, tuple(sorted(hyperparams or {})),
                          check_every=check_every, report_steps_run=True)
    return get_kernel(optimizer, surface, config)(jnp.asarray(starts), dict(hyperparams or {}))


def assert_same_points(outputs, reference, points=slice(None)):
    for field in POINT_FIELDS:
        if field in reference:
            np.testing.assert_array_equal(np.asarray(outputs[field])[points],
                                          np.asarray(reference[field])[points], err_msg=field)


# (optimizer, surface, starts, num_steps, check_every, record_loss_every, hyperparams)
EXITING_CASES = {
    "momentum-himmelblau": (MOMENTUM, HIMMELBLAU, himmelblau_starts(), 500, 12, None, None),
    "momentum-himmelblau-every-step": (MOMENTUM, HIMMELBLAU, himmelblau_starts(), 500, 1, None,
                                       None),
    "momentum-himmelblau-loss-history": (MOMENTUM, HIMMELBLAU, himmelblau_starts(), 500, 12, 50,
                                         None),
    "halving-bowl-remainder-block": (HALVING, BOWL, [[1.0], [-0.5], [0.25]], 50, 3, 7, None),
}


@pytest.mark.parametrize("case", EXITING_CASES.values(), ids=EXITING_CASES.keys())
def test_exit_changes_no_output(case):
    optimizer, surface, starts, num_steps, check_every, record_loss_every, hyperparams = case
    kwargs = {"record_loss_every": record_loss_every, "hyperparams": hyperparams}
    exiting = run_kernel(optimizer, surface, starts, num_steps, check_every, **kwargs)
    full = run_kernel(optimizer, surface, starts, num_steps, check_every,
                      record_trajectory=True, **kwargs)
    # The comparison means something only if the exit did happen, and every point stopped.
    assert (np.asarray(exiting["status"]) != Status.UNFINISHED).all()
    assert (np.asarray(exiting["steps_run"]) < num_steps).all()
    assert (np.asarray(full["steps_run"]) == num_steps).all()
    assert_same_points(exiting, full)


def test_exit_per_hyperparameter_grid_changes_no_output():
    """With a grid, each configuration's blocks stop when its own points have all stopped
    (the loop runs on for the others, with that configuration's carry held).

    sgd on the bowl with power-of-two learning rates: ``x - learning_rate * 2x`` rounds once
    however XLA fuses it, so the two programs (with and without a trajectory) agree bit for bit
    by arithmetic, not by luck of the compiler.
    """
    def factory(learning_rate):
        return optax.sgd(learning_rate)

    hyperparams = {"learning_rate": jnp.array([0.25, 0.125])}
    starts = np.array([[1.0], [-0.5], [0.25]])
    exiting = run_kernel(factory, BOWL, starts, 80, 6, hyperparams=hyperparams)
    full = run_kernel(factory, BOWL, starts, 80, 6, hyperparams=hyperparams,
                      record_trajectory=True)
    assert (np.asarray(exiting["status"]) == Status.CONVERGED).all()
    steps = np.asarray(exiting["steps"])
    assert steps[0].max() < steps[1].max()  # the faster configuration stops first
    np.testing.assert_array_equal(np.asarray(exiting["steps_run"]).max(axis=1),
                                  steps.max(axis=1))
    assert_same_points(exiting, full)


@pytest.mark.parametrize("check_every", [1, 3, 7])
def test_exit_after_the_check_where_the_last_point_stopped(check_every):
    """``steps_run`` is the latest stop; a point that never stops keeps every block running,
    and the other points come out the same either way."""
    num_steps = 30
    stopping = np.array([[1.0], [-0.5], [0.25]])
    alone = run_kernel(HALVING, BOWL, stopping, num_steps, check_every)
    steps = np.asarray(alone["steps"])
    assert (np.asarray(alone["status"]) == Status.CONVERGED).all()
    assert (np.asarray(alone["steps_run"]) == steps.max()).all()
    assert steps.max() < num_steps

    with_slow_point = run_kernel(HALVING, BOWL, np.vstack([stopping, [[1e6]]]), num_steps,
                                 check_every)
    assert np.asarray(with_slow_point["status"])[-1] == Status.UNFINISHED
    assert (np.asarray(with_slow_point["steps_run"]) == num_steps).all()
    assert_same_points(with_slow_point, alone, points=slice(0, len(stopping)))


def test_no_exit_while_a_point_runs_on_rosenbrock():
    """Adam's slow valley: points still run at the end, so every block runs."""
    surface = jl.surfaces.get("rosenbrock")
    starts = np.array([[-1.2, 1.0], [0.5, -0.5], [1.2, 1.4]])
    outputs = run_kernel(optax.adam(1e-3), surface, starts, 60, 7)
    assert (np.asarray(outputs["status"]) == Status.UNFINISHED).any()
    assert (np.asarray(outputs["steps_run"]) == 60).all()


def test_sweep_drops_steps_run():
    result = jl.sweep(HALVING, BOWL, jnp.array([[1.0]]), 30, progress=False, engine=jl.Engine(check_every=3))
    assert not hasattr(result, "steps_run")
    assert result.status.tolist() == [Status.CONVERGED]
