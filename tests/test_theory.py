"""The closed forms of jaxopt_lab.theory against spectral radii and runs computed here by hand.

Every oracle below is independent of the formula it checks: iteration matrices are written out
from the update rules and their eigenvalues taken with numpy, or the iteration is run.
"""
import math
import re

import numpy as np
import pytest

from jaxopt_lab import theory
from jaxopt_lab.theory import Regime

#: Closed form vs numpy eigenvalues of a 2×2 matrix: both exact up to float64 rounding; near a
#: double root numpy's eigenvalues carry √eps-sized error (≈1e-8), hence 1e-7.
SPECTRAL_RADIUS_ATOL = 1e-7
#: Cells this close (relative) to a stability boundary are left out of the stable/unstable
#: comparison, where ρ = 1 ± rounding decides.
BOUNDARY_MARGIN = 1e-6
#: The optimal step minimizes the worst-case rate; on a grid of 20001 steps the best grid point
#: is within one spacing of it.
OPTIMUM_GRID_POINTS = 20001
#: Rates agree to rounding: formulas and eigenvalues in float64.
RATE_RTOL = 1e-9
#: ηa this close to 1 or 2 is a tie (one-step or marginal), tested on its own.
TIE_MARGIN = 1e-9
#: A few float64 operations on numbers of order 1: a handful of ulps.
ROUNDING_RTOL = 1e-12
#: One step of ηa = 1 from an error of order 1 leaves float64 rounding of that error, ~1e-16.
ONE_STEP_ATOL = 1e-15
#: Loss changes of the SGD table: about 1e-2 in size, differences of two float64 losses of
#: order 1e2 (κ = 100), so ~1e-14 absolute rounding; the relative bound covers the large ones.
LOSS_CHANGE_RTOL = 1e-9
LOSS_CHANGE_ATOL = 1e-12

SEED = 0
CURVATURES = np.array([0.1, 1.0, 3.0, 40.0])
MOMENTA = np.linspace(0.0, 0.99, 34)


def heavy_ball_matrix(alpha, beta, curvature):
    # state (x_k, x_{k-1}): x_{k+1} = x_k - α λ x_k + β (x_k - x_{k-1})
    return np.array([[1.0 + beta - alpha * curvature, -beta], [1.0, 0.0]])


def nesterov_matrix(alpha, beta, curvature):
    # Sutskever et al. (2013)'s form, state (x, v): v' = β v − α λ (x + β v), x' = x + v'
    shrink = 1.0 - alpha * curvature
    return np.array([[shrink, beta * shrink], [-alpha * curvature, beta * shrink]])


def spectral_radius(matrix):
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


def run_gradient_descent_1d(learning_rate, curvature, num_steps=41, start=1.0):
    errors = [start]
    for _ in range(num_steps):
        errors.append(errors[-1] - learning_rate * curvature * errors[-1])
    return np.array(errors)


# --- gradient descent ---------------------------------------------------------------------------


@pytest.mark.parametrize("curvature", [0.5, 2.0, 7.0])
def test_gd_regime_matches_a_run(curvature):
    learning_rates = np.linspace(0.01, 3.0, 300) / curvature
    regimes = np.asarray(theory.gd_regime(learning_rates, curvature))
    for learning_rate, regime in zip(learning_rates, regimes):
        product = learning_rate * curvature
        if min(abs(product - 1.0), abs(product - 2.0)) < TIE_MARGIN:
            continue  # the ties have their own test
        errors = run_gradient_descent_1d(learning_rate, curvature)
        flips = np.any(np.sign(errors[1:]) * np.sign(errors[:-1]) < 0)
        if abs(errors[-1]) > abs(errors[0]):
            expected = Regime.DIVERGENT
        else:
            expected = Regime.OSCILLATING if flips else Regime.MONOTONE
        assert regime == expected, (learning_rate * curvature, Regime(regime), expected)


def test_gd_regime_ties():
    curvature = 3.0
    regimes = theory.gd_regime(np.array([1.0, 2.0]) / curvature, curvature)
    assert [Regime(int(r)) for r in regimes] == [Regime.ONE_STEP, Regime.MARGINAL]
    errors = run_gradient_descent_1d(1.0 / curvature, curvature, num_steps=1)
    assert abs(errors[-1]) < ONE_STEP_ATOL  # one step lands on the minimum
    marginal = run_gradient_descent_1d(2.0 / curvature, curvature, num_steps=5)
    np.testing.assert_allclose(np.abs(marginal), 1.0, rtol=ROUNDING_RTOL)


@pytest.fixture
def rng():
    """A generator of its own per test: the draws do not depend on which tests ran before it
    in the same process (pytest-xdist distributes them differently on every run)."""
    return np.random.default_rng(SEED)


def random_spectra(rng, num, dim):
    return np.sort(rng.uniform(0.1, 10.0, (num, dim)), axis=-1)


def test_gd_stability_is_spectral_radius_below_one(rng):
    eigenvalues = random_spectra(rng, 50, 3)
    learning_rates = rng.uniform(0.0, 1.0, 50)
    stable = np.asarray(theory.gd_is_stable(learning_rates, eigenvalues))
    for eta, eigs, is_stable in zip(learning_rates, eigenvalues, stable):
        basis, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        hessian = basis @ np.diag(eigs) @ basis.T
        radius = spectral_radius(np.eye(3) - eta * hessian)
        if abs(radius - 1.0) > BOUNDARY_MARGIN:
            assert is_stable == (radius < 1.0)
    limits = np.asarray(theory.gd_max_stable_learning_rate(eigenvalues))
    np.testing.assert_allclose(limits, 2.0 / eigenvalues[:, -1], rtol=RATE_RTOL)
    # LeCun et al. (1998): η < 2·min_i η_i,opt with η_i,opt = 1/λ_i
    np.testing.assert_allclose(limits, 2.0 * np.min(1.0 / eigenvalues, axis=-1), rtol=RATE_RTOL)


def test_gd_non_positive_curvature_is_never_stable():
    assert not bool(theory.gd_is_stable(0.1, [-1.0, 2.0]))
    assert not bool(theory.gd_is_stable(0.1, [0.0, 2.0]))


@pytest.mark.parametrize("eigenvalues", [[2.0], [1.0, 10.0], [0.3, 1.0, 5.0]])
def test_gd_optimal_learning_rate_minimizes_the_worst_rate(eigenvalues):
    eigenvalues = np.asarray(eigenvalues)
    grid = np.linspace(1e-4, 2.0 / eigenvalues.max(), OPTIMUM_GRID_POINTS)
    worst = np.max(np.abs(1.0 - grid[:, None] * eigenvalues), axis=-1)
    best = grid[np.argmin(worst)]
    optimal = float(theory.gd_optimal_learning_rate(eigenvalues))
    assert abs(best - optimal) <= grid[1] - grid[0]
    rate = float(theory.gd_optimal_rate(eigenvalues))
    # the worst rate is Lipschitz in η with constant λ_max: one grid spacing bounds the gap
    assert abs(rate - worst.min()) <= (grid[1] - grid[0]) * eigenvalues.max()
    # the worst factor |1 − η·λ| over the spectrum, written out (not theory's own gd_rate)
    worst_at_optimal = np.max(np.abs(1.0 - optimal * eigenvalues))
    np.testing.assert_allclose(rate, worst_at_optimal, rtol=RATE_RTOL)
    if eigenvalues.size == 1:
        assert optimal == pytest.approx(1.0 / eigenvalues[0], rel=RATE_RTOL)  # η_opt = 1/a


def test_condition_number_is_the_eigenvalue_ratio():
    eigenvalues = np.array([[1.0, -4.0, 2.0], [3.0, 3.0, 3.0]])
    ratios = np.abs(eigenvalues[:, :, None] / eigenvalues[:, None, :]).max(axis=(1, 2))
    np.testing.assert_allclose(theory.condition_number(eigenvalues), ratios, rtol=RATE_RTOL)
    spd = random_spectra(np.random.default_rng(SEED), 1, 4)[0]
    np.testing.assert_allclose(theory.condition_number(spd), np.linalg.cond(np.diag(spd)),
                               rtol=RATE_RTOL)


# --- heavy ball and Nesterov ---------------------------------------------------------------------

METHODS = {
    "heavy_ball": (heavy_ball_matrix, theory.heavy_ball_rate, theory.heavy_ball_is_stable,
                   theory.heavy_ball_max_learning_rate, lambda b: 2.0 * (1.0 + b)),
    "nesterov": (nesterov_matrix, theory.nesterov_rate, theory.nesterov_is_stable,
                 theory.nesterov_max_learning_rate, lambda b: 2.0 * (1.0 + b) / (1.0 + 2.0 * b)),
}


@pytest.mark.parametrize("method", METHODS)
def test_momentum_rate_and_stability_match_the_iteration_matrix(method):
    matrix, rate_fn, stable_fn, max_lr_fn, boundary = METHODS[method]
    products = np.linspace(0.01, 4.5, 61)  # αλ, past both boundaries
    for curvature in CURVATURES:
        alpha = products[:, None] / curvature
        beta = MOMENTA[None, :]
        rates = np.asarray(rate_fn(alpha, beta, curvature))
        stable = np.asarray(stable_fn(alpha, beta, curvature))
        radii = np.array([[spectral_radius(matrix(a, b, curvature)) for b in MOMENTA]
                          for a in alpha[:, 0]])
        np.testing.assert_allclose(rates, radii, atol=SPECTRAL_RADIUS_ATOL)
        away = np.abs(products[:, None] / boundary(beta) - 1.0) > BOUNDARY_MARGIN
        np.testing.assert_array_equal(stable[away], (radii < 1.0)[away])
        np.testing.assert_allclose(max_lr_fn(MOMENTA, curvature) * curvature, boundary(MOMENTA),
                                   rtol=RATE_RTOL)


def test_heavy_ball_spirals_at_sqrt_beta_in_the_complex_region():
    low, high = (np.asarray(x) for x in theory.heavy_ball_complex_region(MOMENTA))
    np.testing.assert_allclose(low, (1 - np.sqrt(MOMENTA)) ** 2, rtol=RATE_RTOL)
    for beta, lo, hi in zip(MOMENTA[1:], low[1:], high[1:]):
        products = np.linspace(lo, hi, 12)[1:-1]
        rates = theory.heavy_ball_rate(products, beta, 1.0)
        np.testing.assert_allclose(rates, math.sqrt(beta), rtol=RATE_RTOL)
        eigenvalues = np.linalg.eigvals(heavy_ball_matrix(products[3], beta, 1.0))
        assert np.all(np.abs(eigenvalues.imag) > 0.0)


@pytest.mark.parametrize("kappa", [4.0, 10.0, 100.0])
def test_heavy_ball_optimal_parameters(kappa):
    eigenvalues = np.array([0.5, 0.5 * kappa])
    alpha, beta, rate = (float(x) for x in theory.heavy_ball_optimal(eigenvalues))
    root = math.sqrt(kappa)
    assert rate == pytest.approx((root - 1) / (root + 1), rel=RATE_RTOL)  # Goh 2017
    spectrum = np.linspace(eigenvalues[0], eigenvalues[1], 41)
    worst = max(spectral_radius(heavy_ball_matrix(alpha, beta, lam)) for lam in spectrum)
    assert worst == pytest.approx(rate, abs=SPECTRAL_RADIUS_ATOL)
    # no nearby (α, β) has a smaller worst-case rate
    for scale_alpha in (0.97, 1.03):
        for scale_beta in (0.97, 1.0, 1.03):
            a, b = alpha * scale_alpha, beta * scale_beta
            nearby = max(spectral_radius(heavy_ball_matrix(a, b, lam)) for lam in spectrum)
            assert nearby > rate


@pytest.mark.parametrize("kappa", [4.0, 10.0, 100.0])
def test_nesterov_parameters_give_one_minus_inverse_sqrt_kappa(kappa):
    eigenvalues = np.array([2.0, 2.0 * kappa])
    alpha, beta, rate = (float(x) for x in theory.nesterov_parameters(eigenvalues))
    assert alpha == pytest.approx(1.0 / eigenvalues[1], rel=RATE_RTOL)
    assert rate == pytest.approx(1.0 - 1.0 / math.sqrt(kappa), rel=RATE_RTOL)
    spectrum = np.linspace(eigenvalues[0], eigenvalues[1], 41)
    worst = max(spectral_radius(nesterov_matrix(alpha, beta, lam)) for lam in spectrum)
    assert worst == pytest.approx(rate, abs=SPECTRAL_RADIUS_ATOL)


# --- Newton, and Goodfellow et al. (2016, §8.2.1)'s ill-conditioning test ----------------------


def test_damped_newton_converges_iff_step_below_two():
    hessian = np.array([[4.0, 1.0], [1.0, 0.5]])
    start = np.array([1.0, -2.0])
    for eta in [0.1, 0.9, 1.0, 1.5, 1.99, 2.01, 3.0]:
        x = start
        for _ in range(60):
            x = x - eta * np.linalg.solve(hessian, hessian @ x)
        assert bool(theory.newton_is_stable(eta)) == (np.linalg.norm(x) < np.linalg.norm(start))
        assert float(theory.newton_rate(eta)) == pytest.approx(abs(1 - eta), rel=RATE_RTOL)


def test_sgd_step_fails_exactly_when_a_quadratic_loss_does_not_decrease(rng):
    hessian = np.diag([100.0, 1.0])  # ill-conditioned: κ = 100
    loss = lambda x: 0.5 * x @ hessian @ x  # noqa: E731
    points = rng.standard_normal((200, 2))
    grads = points @ hessian
    learning_rates = rng.uniform(0.0, 0.05, 200)
    fails = np.asarray(theory.sgd_step_fails(learning_rates, grads, hessian))
    change = np.asarray(theory.sgd_loss_change(learning_rates, grads, hessian))
    actual = np.array([loss(x - eps * g) - loss(x)
                       for x, g, eps in zip(points, grads, learning_rates)])
    np.testing.assert_allclose(change, actual, rtol=LOSS_CHANGE_RTOL, atol=LOSS_CHANGE_ATOL)
    np.testing.assert_array_equal(fails, actual >= 0.0)
    assert fails.any() and not fails.all()  # the table exercises both outcomes


@pytest.mark.parametrize("call, message", [
    (lambda: theory.gd_regime(-0.1, 1.0), "learning_rate must be in (0, inf), got -0.1"),
    (lambda: theory.gd_regime(0.1, 0.0), "curvature must be in (0, inf), got 0.0"),
    (lambda: theory.heavy_ball_rate(0.1, 1.2, 1.0), "momentum must be in [0, 1), got 1.2"),
    (lambda: theory.nesterov_is_stable(0.1, -0.5, 1.0), "momentum must be in [0, 1), got -0.5"),
    (lambda: theory.heavy_ball_optimal([0.0, 1.0]), "eigenvalues must be in (0, inf), got"),
])
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
