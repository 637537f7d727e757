"""Gradient descent with one learning rate per layer, on a flat parameter vector.

A network's parameters ravelled into one vector (``jax.flatten_util.ravel_pytree``) are its
layers one after another; ``layerwise_sgd`` steps each layer with its own rate

    θ_k ← θ_k − η_k·g_k,   k = 1 … K,

the rule whose (η₀, η₁) plane Sohl-Dickstein (2024) maps for a two-layer network. With a
learning rate per point, `jaxopt_lab.sweep` (``hyperparams_per_point=True``) maps such a plane
as one sweep over a repeated start.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> tx = jl.layerwise_sgd((0.1, 1.0), (2, 1))  # a layer of 2 weights, then one of 1
>>> params = jnp.array([1.0, -2.0, 3.0])
>>> updates, _ = tx.update(2 * params, tx.init(params))   # loss ‖θ‖², gradient 2θ
>>> print(optax.apply_updates(params, updates))
[ 0.8 -1.6 -3. ]
"""
from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import check_int, check_positive


def layerwise_sgd(learning_rates: Sequence[float | jax.Array],
                  layer_sizes: Sequence[int]) -> optax.GradientTransformation:
    """Gradient descent θ_k ← θ_k − η_k·g_k with rate η_k on layer k of a flat vector.

    Layer k is the ``layer_sizes[k]`` entries after those of the layers before it (the order of
    ``ravel_pytree``). The update is ``−η·g`` with η the layer's rate repeated over its entries,
    so ``params + update`` is exactly ``θ − η_k·g`` per entry. State: ``optax.EmptyState``.

    Args:
      learning_rates: one η_k > 0 per layer: numbers or scalar arrays (traceable).
      layer_sizes: one entry count >= 1 per layer; their sum is the parameter vector's length.

    Returns:
      An ``optax.GradientTransformation`` on ``(sum(layer_sizes),)`` vectors.

    Raises:
      ValueError: if the counts differ, a layer size is not an integer >= 1, or a concrete
        learning rate is not > 0; at ``init``, if the parameters are not one vector of
        ``sum(layer_sizes)`` entries or a learning rate is not a scalar.
    """
    sizes = tuple(check_int(f"layer_sizes[{k}]", size, 1) for k, size in enumerate(layer_sizes))
    rates = tuple(learning_rates)
    if len(rates) != len(sizes) or not sizes:
        raise ValueError(f"learning_rates must hold one rate per layer of layer_sizes (>= 1), "
                         f"got {len(rates)} rates for {len(sizes)} layers")
    for k, rate in enumerate(rates):
        check_positive(f"learning_rates[{k}]", rate)
    dim = sum(sizes)

    def init_fn(params: optax.Params) -> optax.EmptyState:
        if np.shape(params) != (dim,):
            raise ValueError(f"layerwise_sgd steps one parameter vector of sum(layer_sizes) = "
                             f"{dim} entries, got params of shape {np.shape(params)}")
        for k, rate in enumerate(rates):
            if np.ndim(rate):
                raise ValueError(f"learning_rates[{k}] must be a scalar, got shape "
                                 f"{np.shape(rate)}")
        return optax.EmptyState()

    def update_fn(updates: optax.Updates, state: optax.EmptyState, params=None):
        del params
        # Broadcasts joined, not jnp.repeat: under vmap a repeat of traced rates is a gather.
        per_entry = jnp.concatenate([jnp.broadcast_to(jnp.asarray(rate, updates.dtype), (size,))
                                     for rate, size in zip(rates, sizes, strict=True)])
        return -(per_entry * updates), state

    return optax.GradientTransformation(init_fn, update_fn)


__all__ = ["layerwise_sgd"]
