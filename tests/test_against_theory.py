"""Sweeps through `jl.sweep` agree with the closed forms of `jl.theory` (tests 1-6 below).

Each test runs one sweep over a grid of hyperparameters (a leading C axis) and compares what
happened at every grid cell with what theory says happens there. Cells within a narrow band of
a theoretical boundary are left out: there the outcome after finitely many steps is decided by
how close to 1 the spectral radius is, not by which side of 1 it is on.
"""
import math

import jax
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab import analysis, theory
from jaxopt_lab.theory import Regime
from jaxopt_lab import Status

#: Tests 1-2: learning rates within 1% of 1/a or 2/a (of 2/λ_max) are not compared: there
#: a 1% excess over 2/a grows the error by only 1.02 a step.
REGIME_BAND = 0.01
#: Tests 3-4: cells within 2% (relative, in α) of the analytic stability boundary are excluded;
#: every other cell must agree with the closed form (a single misclassified cell is a bug).
STABILITY_BAND = 0.02
#: Test 5: at the optimum λ_min and λ_max sit on double roots, so the error decays like k·ρ^k
#: and the rate measured between steps k₁ and k₂ carries the factor (k₂/k₁)^(1/(k₂−k₁)) ≈ 1.016
#: here, which the test divides out. What is left: the transient's lower-order terms, well below
#: this tolerance (a 10× smaller bias than the factor removed).
RATE_RTOL = 0.002
#: Test 6: >= 99.9% of starts reach a minimum for small η: saddles and the
#: maximum attract only measure-zero sets, but grid starts next to a saddle's stable manifold
#: may need more than the run's steps to leave it.
HIMMELBLAU_CONVERGED_SHARE = 0.999
#: 2/λ_max of Himmelblau's flattest minimum, to the 5 decimals it is quoted with (half a unit
#: of the last digit is the tolerance).
HIMMELBLAU_MAX_STABLE_STEP = 0.02483
QUOTED_DIGITS_ATOL = 5e-6
#: Colours read back from the rendered 8-bit image: up to 3 levels of anti-aliasing.
COLOUR_ATOL = 3 / 255


def plt_image(figure):
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3] / 255.0


def grid_starts(surface, resolution):
    return jl.starts.grid(surface, resolution).points


# --- 1. gradient descent on a 1-D quadratic: the regime of every η ------------------------------

CURVATURE = 4.0
#: Enough steps for a 2% growth a step (η 1% past 2/a) to double the error: 1.02^51 ≈ 2.7.
REGIME_STEPS = 51


def test_gradient_descent_regimes_on_a_1d_quadratic():
    surface = jl.surfaces.quadratic_1d(CURVATURE)
    learning_rates = np.linspace(0.002, 2.6, 400) / CURVATURE
    result = jl.sweep(jl.sgd, surface, np.array([[1.3]]), REGIME_STEPS,
                      hyperparams={"learning_rate": learning_rates}, trajectories=[0])
    paths = np.asarray(result.trajectories)[:, 0]  # (C, num_steps + 1, 1)
    measured = analysis.trajectory_regime(paths, surface.minima_array[0])
    expected = np.asarray(theory.gd_regime(learning_rates, CURVATURE))
    product = learning_rates * CURVATURE
    outside = ((np.abs(product / 1.0 - 1.0) > REGIME_BAND)
               & (np.abs(product / 2.0 - 1.0) > REGIME_BAND))
    assert outside.sum() > 380
    np.testing.assert_array_equal(measured[outside], expected[outside])
    assert set(expected[outside]) == {Regime.MONOTONE, Regime.OSCILLATING, Regime.DIVERGENT}


# --- 2. gradient descent on a rotated quadratic, κ = 10 -----------------------------------------

EIGENVALUES = (10.0, 1.0)
ANGLE = 0.3
#: Enough steps for a growth of 1.02 a step (η 1% past 2/λ_max) to carry a start ~0.1 along the
#: steep eigenvector past the escape radius 28.3: 1.02^600 ≈ 1.5e5.
DIVERGENCE_STEPS = 600


def test_rotated_quadratic_diverges_exactly_past_two_over_lambda_max():
    surface = jl.surfaces.rotated_quadratic(EIGENVALUES, ANGLE)
    limit = float(theory.gd_max_stable_learning_rate(EIGENVALUES))
    learning_rates = np.linspace(0.02, 1.6, 160) * limit
    starts = grid_starts(surface, 4)  # 16 starts, none at the minimum (the centre)
    result = jl.sweep(jl.sgd, surface, starts, DIVERGENCE_STEPS,
                      hyperparams={"learning_rate": learning_rates})
    diverged = np.asarray(result.status) == Status.DIVERGED
    outside = np.abs(learning_rates / limit - 1.0) > REGIME_BAND
    unstable = ~np.asarray(theory.gd_is_stable(learning_rates, EIGENVALUES))
    np.testing.assert_array_equal(diverged.all(axis=-1)[outside], unstable[outside])
    np.testing.assert_array_equal(diverged.any(axis=-1)[outside], unstable[outside])
    assert limit == pytest.approx(2.0 / max(EIGENVALUES))


# --- 3-4. heavy ball and Nesterov over a 128 × 128 grid of (α, β) --------------------------------

GRID = 128
#: β up to 0.99: below 1, where neither method can converge. α up to 2.2× the largest boundary.
MOMENTA = np.linspace(0.0, 0.99, GRID)
MOMENTUM_STEPS = 400

METHODS = {
    "heavy_ball": (jl.momentum, theory.heavy_ball_max_learning_rate, 4.0 / max(EIGENVALUES)),
    "nesterov": (jl.nesterov, theory.nesterov_max_learning_rate, 2.2 / max(EIGENVALUES)),
}


@pytest.mark.parametrize("method", METHODS)
def test_momentum_divergence_map_matches_the_analytic_region(method, tmp_path):
    factory, boundary, alpha_max = METHODS[method]
    surface = jl.surfaces.rotated_quadratic(EIGENVALUES, ANGLE)
    alphas = np.linspace(alpha_max / GRID, alpha_max, GRID)
    alpha, beta = (a.reshape(-1) for a in np.meshgrid(alphas, MOMENTA))
    result = jl.sweep(factory, surface, np.array([[1.5, -1.0]]), MOMENTUM_STEPS,
                      hyperparams={"learning_rate": alpha, "momentum": beta})
    diverged = np.asarray(result.status)[:, 0] == Status.DIVERGED
    limit = np.asarray(boundary(beta, max(EIGENVALUES)))
    outside = np.abs(alpha / limit - 1.0) > STABILITY_BAND
    unstable = alpha > limit
    np.testing.assert_array_equal(diverged[outside], unstable[outside])
    # the map is not trivially one-sided: both regions hold a fair share of the cells
    assert 0.2 < unstable[outside].mean() < 0.8
    # and its picture shows it: black beyond the drawn boundary, green well inside it
    figure = jl.plotting.stability_region(alphas, MOMENTA, result.status, curvature=EIGENVALUES,
                                          method=method, path=tmp_path / f"{method}.png")
    ax, image = figure.axes[0], plt_image(figure)
    for a, b, colour in [(0.97 * alpha_max, 0.1, jl.plotting.DIVERGED_COLOUR),
                         (0.1 * alpha_max, 0.5, jl.plotting.CONVERGED_COLOUR)]:
        column, row = ax.transData.transform((a, b))
        np.testing.assert_allclose(image[image.shape[0] - 1 - int(round(row)), int(round(column))],
                                   colour, atol=COLOUR_ATOL)


# --- 5. the heavy-ball rate at the optimal parameters ---------------------------------------------

#: Measure between these steps; the run has tolerances 0, so no point stops early as converged.
RATE_WINDOW = (30, 120)


@pytest.mark.parametrize("kappa", [10.0, 50.0])
def test_heavy_ball_rate_at_the_optimal_parameters(kappa):
    eigenvalues = (kappa, 1.0)
    surface = jl.surfaces.rotated_quadratic(eigenvalues, ANGLE)
    alpha, beta, rate = (float(x) for x in theory.heavy_ball_optimal(eigenvalues))
    hyperparams = {"learning_rate": np.array([alpha]), "momentum": np.array([beta])}
    result = jl.sweep(jl.momentum, surface, np.array([[1.5, -1.0]]), RATE_WINDOW[1],
                      hyperparams=hyperparams, gtol=0.0, xtol=0.0, record_loss_every=1)
    losses = np.asarray(result.loss_history)[0, 0]  # steps 0, 1, ..., RATE_WINDOW[1]
    # the ratio R of successive loss gaps tends to ρ²: its geometric mean's square root is the rate
    loss_rate = analysis.mean_convergence_rate(losses, surface.f_min, start=RATE_WINDOW[0],
                                               stop=RATE_WINDOW[1])
    root = math.sqrt(kappa)
    assert rate == pytest.approx((root - 1) / (root + 1))
    first, last = RATE_WINDOW
    double_root_factor = (last / first) ** (1.0 / (last - first))
    assert math.sqrt(loss_rate) == pytest.approx(rate * double_root_factor, rel=RATE_RTOL)


# --- 6. Himmelblau: every start finds a minimum for small η, none above 2/λ_max -----------------

HIMMELBLAU_RESOLUTION = 64  # 4096 starts: 99.9% allows 4 stragglers
#: The slowest start at η = 0.002 converges after ~590 steps (measured); 1000 leaves room, and
#: above 2/λ_max nothing converges however long it runs.
HIMMELBLAU_STEPS = 1000


@pytest.fixture(scope="module")
def himmelblau_sweep():
    surface = jl.surfaces.get("himmelblau")
    learning_rates = np.array([0.002, 0.005, 0.01, 0.026, 0.03, 0.04])
    result = jl.sweep(jl.sgd, surface, grid_starts(surface, HIMMELBLAU_RESOLUTION),
                      HIMMELBLAU_STEPS, hyperparams={"learning_rate": learning_rates})
    return surface, learning_rates, result


def test_himmelblau_max_stable_step_from_the_hessians():
    surface = jl.surfaces.get("himmelblau")
    hessians = np.asarray(jax.vmap(jax.hessian(surface.fn))(surface.minima_array))
    largest = np.linalg.eigvalsh(hessians)[:, -1]
    limit = float(theory.gd_max_stable_learning_rate(largest.min()))
    assert limit == pytest.approx(HIMMELBLAU_MAX_STABLE_STEP, abs=QUOTED_DIGITS_ATOL)


@pytest.mark.slow
def test_himmelblau_small_steps_converge_to_the_four_minima(himmelblau_sweep):
    surface, learning_rates, result = himmelblau_sweep
    status, basin = np.asarray(result.status), np.asarray(result.basin)
    small = learning_rates < HIMMELBLAU_MAX_STABLE_STEP
    at_minimum = (status == Status.CONVERGED) & (basin >= 0)
    shares = at_minimum[small].mean(axis=-1)
    assert np.all(shares >= HIMMELBLAU_CONVERGED_SHARE), shares
    for row in basin[small]:
        assert set(np.unique(row[row >= 0])) == set(range(len(surface.minima)))


@pytest.mark.slow
def test_himmelblau_no_start_converges_above_the_stable_step(himmelblau_sweep):
    _, learning_rates, result = himmelblau_sweep
    large = learning_rates > HIMMELBLAU_MAX_STABLE_STEP
    assert large.sum() == 3
    converged = np.asarray(result.status)[large] == Status.CONVERGED
    assert not converged.any(), converged.sum(axis=-1)
