"""Gradient descent: batch, minibatch and stochastic are one rule with different gradients.

The one update (Goodfellow, Bengio & Courville 2016, Algorithm 8.1)

    θ ← θ − η·g,

where g is the gradient of the loss over the whole training set (batch gradient descent), over a
random minibatch of m examples (minibatch SGD, typically m = 32 … 256, Goodfellow et al. 2016,
§8.1.3) or over a single example (stochastic gradient descent, m = 1). The optimizer cannot tell them apart: the caller
chooses which gradient to pass. η may be an ``optax.Schedule`` (a rate ε_k that decays with k).

``sgd`` is ``optax.scale_by_learning_rate`` (the same maths as ``optax.sgd`` without momentum)
with the range check of this library: a learning rate ``None`` or <= 0 is refused, where optax
would silently skip the scaling and step uphill.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> tx = jl.sgd(learning_rate=0.1)
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params)   # loss ‖θ‖², gradient 2θ
>>> print(optax.apply_updates(params, updates))
[ 0.8 -1.6]
"""
from __future__ import annotations

import optax

from jaxopt_lab._validation import check_learning_rate, check_shapes_at_init


def sgd(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformation:
    """Gradient descent θ ← θ − η·g (Goodfellow et al. 2016, Algorithm 8.1).

    State: ``optax.ScaleByScheduleState`` (a step counter) for a schedule, ``optax.EmptyState`` for a constant.

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``.

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` returns the step −η·g and the new
      state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.scale_by_learning_rate(learning_rate), learning_rate=learning_rate
    )
