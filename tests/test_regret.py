"""Regret of online learners: the estimator against sums by hand, the best fixed point against
all corners of the box, and online gradient descent and AdaGrad against their published bounds."""
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab import analysis

#: Cumulative sums of a few float64 numbers: rounding only.
SUM_RTOL = 1e-12
#: Online rounds in the bound tests, and the box the learners play in.
NUM_ROUNDS = 2000
BOX = ((-1.0, 1.0),) * 6


def linear_costs(seed, num_rounds=NUM_ROUNDS, dim=len(BOX)):
    """Sparse linear losses: coordinate i is active with probability 1/(i+1), with a drift."""
    rng = np.random.default_rng(seed)
    active = rng.random((num_rounds, dim)) < 1.0 / np.arange(1, dim + 1)
    drift = rng.normal(0.0, 0.3, dim)
    return active * (drift + rng.choice([-1.0, 1.0], (num_rounds, dim)))


def play(tx, costs):
    """Projected online learning on BOX from its centre: f_t(θ_t) = ⟨c_t, θ_t⟩ each round."""
    low, high = (jnp.asarray(b) for b in zip(*BOX))
    start = (low + high) / 2

    def round_(carry, cost):
        theta, state = carry
        updates, state = tx.update(cost, state, theta)  # the gradient of ⟨c, θ⟩ is c
        # Clipping is the Euclidean projection onto a box, and also the projection in
        # AdaGrad's diagonal norm (Duchi, Hazan & Singer 2011), so it serves both learners.
        theta_next = jnp.clip(optax.apply_updates(theta, updates), low, high)
        return (theta_next, state), cost @ theta

    return np.asarray(jax.lax.scan(round_, (start, tx.init(start)), jnp.asarray(costs))[1])


@pytest.mark.parametrize("losses, hindsight, expected", [
    ([3.0, 1.0, 2.0], [1.0, 2.0, 2.5], [2.0, 2.0, 3.5]),
    ([0.0, 0.0], [0.0, 0.0], [0.0, 0.0]),
    ([[1.0, 1.0], [2.0, 0.0]], [[0.5, 1.0], [1.0, 1.0]], [[0.5, 1.0], [1.0, 1.0]]),
])
def test_regret_is_cumulative_loss_minus_hindsight(losses, hindsight, expected):
    np.testing.assert_allclose(analysis.regret(losses, hindsight), expected, rtol=SUM_RTOL)


def test_regret_along_another_axis():
    losses = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(analysis.regret(losses, np.zeros((3, 2)), axis=0),
                               np.cumsum(losses, axis=0), rtol=SUM_RTOL)


def test_best_fixed_linear_loss_is_the_best_corner_for_every_horizon():
    costs = linear_costs(seed=1, num_rounds=50, dim=3)
    bounds = ((-1.0, 2.0), (0.0, 1.0), (-3.0, -1.0))
    corners = np.array(list(itertools.product(*bounds)))          # all 8 corners
    by_corner = np.cumsum(costs @ corners.T, axis=0)               # (T, 8)
    np.testing.assert_allclose(analysis.best_fixed_linear_loss(costs, bounds),
                               by_corner.min(axis=1), rtol=SUM_RTOL, atol=SUM_RTOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_online_gradient_descent_stays_within_its_regret_bound(seed):
    # Zinkevich (2003); Hazan (2016), Theorem 3.1: η_t = D/(G√t) gives R(T) <= 3/2·G·D·√T,
    # D the box's diameter and G a bound on ‖∇f_t‖, for every T.
    costs = linear_costs(seed)
    diameter = math.dist(*zip(*BOX))
    gradient_bound = float(np.linalg.norm(costs, axis=1).max())
    schedule = lambda count: diameter / (gradient_bound * jnp.sqrt(count + 1.0))  # noqa: E731
    regret = analysis.regret(play(jl.sgd(schedule), costs),
                             analysis.best_fixed_linear_loss(costs, BOX))
    rounds = np.arange(1, NUM_ROUNDS + 1)
    assert np.all(regret <= 1.5 * gradient_bound * diameter * np.sqrt(rounds))
    assert regret[-1] > 0, "a learner that never pays is not being tested"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adagrad_stays_within_its_regret_bound(seed):
    # Duchi, Hazan & Singer (2011), diagonal AdaGrad with η = D∞/√2:
    # R(T) <= √2·D∞·Σ_i ‖g_{1:T,i}‖₂, D∞ the box's ℓ∞ diameter; the sum grows like √T.
    costs = linear_costs(seed)
    diameter_inf = max(high - low for low, high in BOX)
    regret = analysis.regret(play(jl.adagrad(diameter_inf / math.sqrt(2.0)), costs),
                             analysis.best_fixed_linear_loss(costs, BOX))
    gradient_norms_per_coordinate = np.sqrt(np.cumsum(costs**2, axis=0)).sum(axis=1)
    assert np.all(regret <= math.sqrt(2.0) * diameter_inf * gradient_norms_per_coordinate)
    assert regret[-1] > 0, "a learner that never pays is not being tested"


@pytest.mark.parametrize("call, message", [
    (lambda: analysis.regret([1.0, 2.0], [1.0]), "hindsight_losses must hold one value per"),
    (lambda: analysis.best_fixed_linear_loss(np.ones((4, 2)), BOX), r"costs must be a \(\.\.\., T, 6\)"),
    (lambda: analysis.best_fixed_linear_loss(np.ones((4, 1)), ((1.0, 0.0),)), "low <= high"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
