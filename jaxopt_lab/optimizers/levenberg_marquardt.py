"""Levenberg-Marquardt: Newton with an adaptive diagonal load, switching to gradient descent.

Levenberg (1944) and Marquardt (1963) load Newton's Hessian on its diagonal, which makes it
positive definite, and adapt the load so that the method moves between Newton's step (small λ)
and a short gradient step (large λ). Each step solves

    (H + λ·I)·d = g,        w_trial = w − d,

and tests the trial point on the loss:

* E(w_trial) < E(w): accept (w ← w_trial) and trust the quadratic model more, λ ← λ / decrease;
* otherwise (including a non-finite step or trial loss): reject (w stays) and λ ← λ · increase.

With λ → 0 the step is Newton's, −H⁻¹g; with λ ≫ ‖H‖ it is gradient descent with step size
1/λ, −g/λ. The accept/reject is a masked update (``jnp.where``), so the optimizer runs under
``jax.jit`` and ``jax.vmap`` with one λ per point, and a singular H + λ·I (whose non-finite trial
is rejected) only raises λ. λ lives in the state; the ``damping`` argument is its initial value.

Deviation: the textbook method approximates H by JᵀJ from the residuals' Jacobian; the library's
losses are scalar surfaces with no residuals, so H is the exact Hessian of ``value_fn`` (over the
flattened pytree). There is no learning rate: the step is the accepted trial step itself.

>>> import jax.numpy as jnp
>>> import jaxopt_lab as jl
>>> loss = lambda w: jnp.sum(w ** 2)
>>> tx = jl.levenberg_marquardt(damping=1e-3)
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params, value_fn=loss)
>>> print(jnp.round(params + updates, 3), float(state.damping))  # λ/(2 + λ)·w, then λ / 10
[ 0.    -0.001] 0.0001
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import check_in_range, check_positive, check_shapes_at_init
from jaxopt_lab.optimizers.newton import flat_problem, hessian_of, solve_shifted


class LevenbergMarquardtState(NamedTuple):
    """State of ``levenberg_marquardt``.

    Attributes:
      count: int32 number of updates (accepted or rejected).
      damping: λ, the current diagonal load (starts at the ``damping`` argument).
    """

    count: jax.Array
    damping: jax.Array


def levenberg_marquardt(
    damping: jax.typing.ArrayLike = 1e-3,
    increase: jax.typing.ArrayLike = 10.0,
    decrease: jax.typing.ArrayLike = 10.0,
) -> optax.GradientTransformationExtraArgs:
    """Levenberg-Marquardt with accept/reject (Levenberg 1944; Marquardt 1963); needs the extra arg ``value_fn``.

    Args:
      damping: initial λ > 0 (λ = 0 could never grow after a rejected step).
      increase: factor > 1 multiplying λ after a rejected step.
      decrease: factor > 1 dividing λ after an accepted step.

    ``update(grads, state, params, value_fn=loss_fn, value=loss)`` returns the accepted step
    −(H + λ·I)⁻¹g or zeros; ``value`` (the loss at ``params``) is optional and saves one call.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (state ``LevenbergMarquardtState``) whose
      ``update`` returns the accepted step or zeros (like params) and the new state.

    Raises:
      ValueError: if ``damping`` is not > 0, or ``increase`` or ``decrease`` is not > 1.
    """
    check_positive("damping", damping)
    check_in_range("increase", increase, 1.0, low_closed=False)
    check_in_range("decrease", decrease, 1.0, low_closed=False)

    def init_fn(params: optax.Params) -> LevenbergMarquardtState:
        flat_params, _ = jax.flatten_util.ravel_pytree(params)
        return LevenbergMarquardtState(
            count=jnp.zeros([], jnp.int32),
            damping=jnp.asarray(damping, dtype=flat_params.dtype),
        )

    def update_fn(
        updates: optax.Updates,
        state: LevenbergMarquardtState,
        params: optax.Params | None = None,
        *,
        value_fn: Callable[..., jax.Array] | None = None,
        value: jax.typing.ArrayLike | None = None,
        **extra_args: Any,
    ) -> tuple[optax.Updates, LevenbergMarquardtState]:
        del extra_args
        flat_params, flat_grad, flat_value_fn, unravel = flat_problem(
            updates, params, value_fn, "levenberg_marquardt"
        )
        current_loss = flat_value_fn(flat_params) if value is None else jnp.asarray(value)

        hessian = hessian_of(flat_value_fn, flat_params)
        step = -solve_shifted(hessian, flat_grad, state.damping)
        trial_loss = flat_value_fn(flat_params + step)
        # A singular H + λ·I gives a non-finite step, whose trial loss may even read −inf:
        # reject it like an uphill step, so that λ grows past the offending eigenvalue.
        finite = jnp.all(jnp.isfinite(step)) & jnp.isfinite(trial_loss)
        accept = finite & (trial_loss < current_loss)
        new_damping = jnp.where(accept, state.damping / decrease, state.damping * increase)
        masked_step = jnp.where(accept, step, jnp.zeros_like(step))
        return unravel(masked_step), LevenbergMarquardtState(
            count=optax.safe_increment(state.count),
            damping=new_damping.astype(state.damping.dtype),
        )

    return check_shapes_at_init(
        optax.GradientTransformationExtraArgs(init_fn, update_fn), elementwise=False,
        damping=damping, increase=increase, decrease=decrease,
    )
