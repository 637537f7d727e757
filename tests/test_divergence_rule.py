"""Divergence rules on the loss curve: the paper's rule against its published formula, and the
engine feeding a rule every step's loss whatever the check interval."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab import problems

RULE = jl.engine.mean_normalized_loss_rule()
#: The running sums add the ratios one by one where the formula sums the array at once: float64
#: rounding of a few hundred terms.
SUM_RTOL = 1e-12
NAN, INF = float("nan"), float("inf")

#: Loss curves written by hand: each exercises one branch of the paper's rule.
CURVES = {
    "falling": [2.0, 1.0, 0.5, 0.25],
    "one step": [3.0],
    "constant: ratio 1 is not below 1": [1.5] * 30,
    "NaN first: the cap normalises": [NAN, 1.0, 2.0],
    "NaN in the tail": [1.0] + [0.1] * 25 + [NAN],
    "inf in the tail": [1.0] + [0.5] * 30 + [INF, INF],
    "fewer steps than the tail, rising": [1.0, 1.1, 1.2],
    "huge ratio capped": [1e-9, 1e9] + [1e-12] * 19,
    "zero initial loss": [0.0, 0.0, 1.0],
    "long, falling then rising": [*np.geomspace(1.0, 1e-3, 40), *np.geomspace(1e-3, 50, 40)],
}


def _fed(rule, losses):
    losses = jnp.asarray(losses, jnp.float64)
    state = rule.init(losses[0], losses.size)
    for step, loss in enumerate(losses):
        state = rule.update(state, loss, jnp.int32(step), losses.size)
    return state


def _recorded_histories():
    # Loss curves of the trainability network under the paper's per-layer gradient descent.
    problem = problems.trainability_network(jax.random.PRNGKey(0), 4)
    params = problem.init(jax.random.split(jax.random.PRNGKey(0))[1])

    def losses(rates):
        def step(params, _):
            value, grads = jax.value_and_grad(problem.loss)(params)
            return jax.tree.map(lambda w, g, lr: w - lr * g, params, grads, rates), value
        return jax.lax.scan(step, params, None, length=60)[1]

    return {f"rates {a}, {b}": np.asarray(losses({"input": a, "output": b}))
            for a, b in [(0.1, 1.0), (10.0, 30.0), (1e3, 1e2), (3.0, 200.0)]}


@pytest.mark.parametrize("name, losses", list(CURVES.items()) + list(_recorded_histories().items()))
def test_the_papers_rule_labels_as_its_formula(name, losses):
    state = _fed(RULE, losses)
    diverged, measure = problems._convergence(jnp.asarray(losses, jnp.float64))
    assert bool(RULE.diverged(state)) == bool(diverged), name
    colour = jnp.where(RULE.diverged(state), state.inverse_total, -state.total)
    np.testing.assert_allclose(colour, measure, rtol=SUM_RTOL, err_msg=name)


def test_the_tail_is_the_last_losses_in_order():
    state = _fed(jl.engine.mean_normalized_loss_rule(tail=3), [2.0, 4.0, 6.0, 8.0, 1.0])
    np.testing.assert_array_equal(state.tail, [3.0, 4.0, 0.5])


def test_the_rule_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"tail must be an integer in \[1, inf\]"):
        jl.engine.mean_normalized_loss_rule(tail=0)
    with pytest.raises(ValueError, match=r"cap must be in \(0, inf\)"):
        jl.engine.mean_normalized_loss_rule(cap=-1.0)
    line = jl.Surface("line", lambda x: jnp.sum(x**2), 1, ((-1.0, 1.0),))
    with pytest.raises(TypeError, match="divergence must be a jaxopt_lab.engine.DivergenceRule"):
        jl.sweep(optax.sgd(0.1), line, jnp.ones((2, 1)), 5, divergence=lambda s: s)


# f(x) = x²: gradient descent multiplies x by (1 − 2η) every step, so the loss ratio after t
# steps is (1 − 2η)^(2t): the paper's rule calls a run diverged iff |1 − 2η| >= 1, i.e. η >= 1
# (η = 1 exactly: a constant loss, ratio 1, not below 1).
PARABOLA = jl.Surface("parabola", lambda x: jnp.sum(x**2), 1, ((-1.0, 1.0),))
RATES = np.array([0.01, 0.3, 0.9, 0.99, 1.0, 1.01, 1.5, 3.0, 1e3])


@pytest.mark.parametrize("check_every", [1, 3, 7, 50])
@pytest.mark.parametrize("num_steps", [1, 2, 19, 20, 21, 50])
def test_labels_follow_theory_for_any_steps_and_check_interval(num_steps, check_every):
    starts = np.ones((RATES.size, 1))
    result = jl.sweep(optax.sgd, PARABOLA, starts, num_steps, hyperparams={"learning_rate": RATES},
                      hyperparams_per_point=True, divergence=RULE, gtol=0.0, xtol=0.0,
                      engine=jl.Engine(check_every=check_every), progress=False)
    diverged = np.asarray(result.status) == jl.Status.DIVERGED
    expected = (RATES >= 1.0) | (num_steps == 1)  # one step: only the initial loss, ratio 1
    np.testing.assert_array_equal(diverged, expected)
    judged = np.asarray(result.status) == jl.Status.DIVERGED
    assert np.all(np.asarray(result.steps)[judged & (RATES < 2.0)] == num_steps)


def test_a_stopped_point_keeps_the_rule_state_of_its_stop():
    # η = 0.5 lands on the minimum in one step: CONVERGED at step 1 (gradient 0) and frozen;
    # its rule saw the loss before step 0 only. η = 0.1 runs all 30 steps.
    starts = np.ones((2, 1))
    result = jl.sweep(optax.sgd, PARABOLA, starts, 30,
                      hyperparams={"learning_rate": np.array([0.5, 0.1])},
                      hyperparams_per_point=True, divergence=RULE, xtol=0.0,
                      engine=jl.Engine(check_every=1), progress=False)
    assert np.asarray(result.status).tolist() == [jl.Status.CONVERGED, jl.Status.UNFINISHED]
    np.testing.assert_array_equal(result.divergence_state.total[0], 1.0)
    expected = np.sum(0.8 ** (2 * np.arange(30)))
    np.testing.assert_allclose(result.divergence_state.total[1], expected, rtol=SUM_RTOL)


def test_without_a_rule_the_result_has_no_rule_state():
    result = jl.sweep(optax.sgd(0.1), PARABOLA, np.ones((2, 1)), 5, progress=False)
    assert result.divergence_state is None and "divergence" not in result.metadata
