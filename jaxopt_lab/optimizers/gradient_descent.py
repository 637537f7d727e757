"""Gradient descent: batch, minibatch and stochastic are one rule with different gradients.

Seeds 002, 003 and 004 give the one update

    θ ← θ − η·g,

where g is the gradient of the loss over the whole training set (batch gradient descent), over a
random minibatch of m examples (minibatch SGD, seed 002: typical m = 64 … 512) or over a single
example (stochastic gradient descent, m = 1). The optimizer cannot tell them apart: the caller
chooses which gradient to pass. η may be an ``optax.Schedule`` (seed 003: ε_k decays with k).

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

from jaxopt_lab.checks import check_learning_rate, check_shapes_at_init


def sgd(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformation:
    """Gradient descent θ ← θ − η·g (seeds 002, 003, 004); state: ``optax.ScaleByScheduleState``
    (a step counter) for a schedule, ``optax.EmptyState`` for a constant.

    Args:
      learning_rate: η > 0, a number, array (traceable) or ``optax.Schedule``.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.scale_by_learning_rate(learning_rate), learning_rate=learning_rate
    )
