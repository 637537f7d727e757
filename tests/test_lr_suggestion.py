"""suggest_learning_rate: the early losses against gradient descent's closed form on quadratics,
the step above the best, the stability guard, and bad input."""
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab import analysis

#: Early losses from the sweep vs the closed form ½Σλᵢcᵢ²(1 − ηλᵢ)^(2k): float64 rounding of ten
#: products.
CLOSED_FORM_RTOL = 1e-10
NUM_STEPS = 10  # short enough that no candidate below reaches the sweep's convergence test

QUADRATICS = {  # name: (eigenvalues, candidate learning rates)
    "kappa 4": ((4.0, 1.0), (0.05, 0.1, 0.2, 0.3, 0.45, 0.6)),
    "kappa 10": ((10.0, 1.0), (0.01, 0.03, 0.1, 0.15, 0.17, 0.19)),
    # after 10 steps 0.01 is best, and the next default rate 0.0215 > 2/100 is unstable
    "kappa 100, default grid": ((100.0, 1.0), None),
}
START = np.array([[1.0, -0.7]])


def closed_form_loss(eigenvalues, learning_rate, num_steps, start):
    """f(w_k) of gradient descent on ½ Σ λᵢ wᵢ²: each coordinate shrinks by 1 − ηλᵢ a step."""
    eigenvalues = np.asarray(eigenvalues)
    return 0.5 * np.sum(eigenvalues * (start * (1 - learning_rate * eigenvalues) ** num_steps) ** 2)


@pytest.mark.parametrize("name", QUADRATICS)
def test_best_rate_is_the_closed_form_best_and_the_suggestion_the_next_stable_one(name):
    eigenvalues, rates = QUADRATICS[name]
    surface = jl.surfaces.quadratic(np.diag(eigenvalues))
    suggestion = analysis.suggest_learning_rate(jl.sgd, surface, START, learning_rates=rates,
                                                num_steps=NUM_STEPS)
    stable = suggestion.learning_rates < 2.0 / max(eigenvalues)
    expected = [closed_form_loss(eigenvalues, rate, NUM_STEPS, START[0])
                for rate in suggestion.learning_rates[stable]]
    np.testing.assert_allclose(suggestion.early_loss[stable], expected, rtol=CLOSED_FORM_RTOL)
    best = suggestion.learning_rates[np.argmin(np.where(stable, suggestion.early_loss, np.inf))]
    assert suggestion.best == best
    above = suggestion.learning_rates[suggestion.learning_rates > best][0]
    if above < 2.0 / max(eigenvalues):
        assert suggestion.learning_rate == above
    else:  # an unstable rate that has not escaped yet: its loss grew, so it is passed over
        assert suggestion.early_loss[suggestion.learning_rates == above] > suggestion.start_loss
        assert suggestion.learning_rate == best


def test_the_suggestion_never_steps_onto_a_rate_that_diverged():
    surface = jl.surfaces.get("quadratic_1d")  # f = ½x², stable for η < 2
    suggestion = analysis.suggest_learning_rate(jl.sgd, surface, START[:, :1],
                                                learning_rates=(0.3, 0.9, 5.0), num_steps=NUM_STEPS)
    assert suggestion.diverged.tolist() == [0.0, 0.0, 1.0]
    assert suggestion.early_loss[-1] == np.inf
    assert suggestion.best == suggestion.learning_rate == 0.9


def test_steps_above_zero_returns_the_best():
    surface = jl.surfaces.quadratic(np.diag([4.0, 1.0]))
    eigenvalues, rates = QUADRATICS["kappa 4"]
    suggestion = analysis.suggest_learning_rate(jl.sgd, surface, START, learning_rates=rates,
                                                num_steps=NUM_STEPS, steps_above=0)
    assert suggestion.learning_rate == suggestion.best == 0.3


@pytest.mark.parametrize("kwargs, message", [
    ({"learning_rates": (0.1,)}, "learning_rates must hold at least 2 finite rates > 0"),
    ({"learning_rates": (-0.1, 0.1)}, "learning_rates must hold at least 2 finite rates > 0"),
    ({"learning_rates": (0.1, np.nan)}, "learning_rates must hold at least 2 finite rates > 0"),
    ({"num_steps": 0}, "num_steps must be"),
    ({"steps_above": -1}, "steps_above must be"),
    ({"learning_rates": (50.0, 100.0)}, "no candidate learning rate lowered the mean loss"),
])
def test_bad_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analysis.suggest_learning_rate(jl.sgd, jl.surfaces.get("quadratic_1d"), START[:, :1],
                                       **kwargs)
