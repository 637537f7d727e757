"""Parameter initializations, as samplers of starting points.

Each factory returns a ``jax.nn.initializers.Initializer``: a function ``(key, shape, dtype)
-> array`` that flax layers accept as ``kernel_init`` / ``bias_init`` and that draws a fresh
starting point per key (``jax.vmap`` over keys gives a cloud of starts). Weight matrices are laid
out as flax lays out kernels, ``(fan_in, fan_out)``: row i feeds input i, column j is unit j.

Initialization must break the symmetry between units; common choices (Goodfellow, Bengio &
Courville 2016, §8.4) are

- Gaussian, mean 0 and small variance: :func:`gaussian`;
- uniform (Xavier; Glorot & Bengio 2010), ``W_ij ~ U(−√(6/(m+n)), √(6/(m+n)))``:
  :func:`xavier_uniform`;
- sparse (Martens, 2010), exactly ``k`` non-zero incoming weights per unit: :func:`sparse`;
- orthogonal matrices (Saxe, McClelland & Ganguli 2014), which avoid vanishing gradients:
  :func:`orthogonal`;
- biases: constants chosen heuristically, e.g. 0.1 for ReLU, 1 for LSTM: :func:`constant`.

Where the maths is jax's own, the factory returns jax's initializer (tests prove equality with
the formula written out).

>>> import jax
>>> weights = xavier_uniform()(jax.random.PRNGKey(0), (3, 5))
>>> bool(abs(weights).max() <= (6 / (3 + 5)) ** 0.5)
True
>>> int((sparse(2)(jax.random.PRNGKey(0), (6, 4)) != 0).sum(axis=0).min())
2
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.nn.initializers import Initializer

from jaxopt_lab._validation import check_int, check_nonnegative, check_positive

#: A small positive bias for ReLU units, so they start active (Goodfellow et al. 2016, §8.4).
RELU_BIAS = 0.1
#: The bias of an LSTM's forget gate (Goodfellow et al. 2016, §8.4).
LSTM_BIAS = 1.0
#: Martens (2010) used 15 non-zero incoming weights per unit.
MARTENS_NUM_NONZERO = 15


def gaussian(stddev: float = 0.01, mean: float = 0.0) -> Initializer:
    """``W_ij ~ N(mean, stddev²)``: mean 0 and a small variance (default 0.01²).

    Args:
      stddev: the standard deviation, >= 0.
      mean: the mean of every entry.

    Returns:
      An ``Initializer`` ``(key, shape, dtype=None) -> array`` drawing ``mean + stddev·N(0, 1)``
      entries of ``shape``.

    Raises:
      ValueError: if ``stddev`` is negative.
    """
    check_nonnegative("stddev", stddev)
    normal = jax.nn.initializers.normal(stddev)

    def init(key: jax.Array, shape, dtype=None) -> jax.Array:
        return mean + normal(key, shape, dtype)

    return init


def xavier_uniform() -> Initializer:
    """``W_ij ~ U(−√(6/(m+n)), √(6/(m+n)))``, ``m`` fan-in, ``n`` fan-out (Glorot & Bengio 2010).

    This is ``jax.nn.initializers.glorot_uniform()``: variance scaling with variance
    ``2/(m+n)`` over a uniform of half-width ``√(3·variance) = √(6/(m+n))``.

    Returns:
      An ``Initializer`` ``(key, shape, dtype=None) -> array``, jax's ``glorot_uniform()``.
    """
    return jax.nn.initializers.glorot_uniform()


def orthogonal(scale: float = 1.0) -> Initializer:
    """A Haar-random matrix with orthonormal rows or columns, times ``scale`` (Saxe et al. 2014).

    This is ``jax.nn.initializers.orthogonal``: for ``(m, n)`` with ``m ≥ n`` the columns are
    orthonormal (``WᵀW = scale²·I``), otherwise the rows (``WWᵀ = scale²·I``).

    Args:
      scale: the multiplier, > 0.

    Returns:
      An ``Initializer`` ``(key, shape, dtype=None) -> array``, jax's ``orthogonal(scale)``.

    Raises:
      ValueError: if ``scale`` is not positive.
    """
    check_positive("scale", scale)
    return jax.nn.initializers.orthogonal(scale)


def sparse(num_nonzero: int = MARTENS_NUM_NONZERO, stddev: float = 1.0) -> Initializer:
    """Martens (2010): each unit gets exactly ``num_nonzero`` non-zero incoming weights.

    For a kernel of shape ``(..., fan_in, fan_out)`` every unit (last axis) draws
    ``num_nonzero`` of its ``prod(shape[:-1])`` incoming connections uniformly without
    replacement and gives them ``N(0, stddev²)`` weights (Martens used unit Gaussians); the rest
    are zero. A unit's input then stays of comparable size whatever the fan-in.

    The count is per unit, as in Martens (2010), who limits "the number of non-zero incoming
    connection weights to each unit" (15 in his experiments). A summary that reads "k non-zero
    weights at each layer" would give a layer k non-zeros in total, leaving most units with no
    input at all; that is not what this does.

    Args:
      num_nonzero: k >= 1 non-zero incoming weights per unit; default `MARTENS_NUM_NONZERO`.
        At most the fan-in, checked when the initializer is called.
      stddev: the non-zero weights' standard deviation, > 0.

    Returns:
      An ``Initializer`` ``(key, shape, dtype=None) -> array`` for shapes with at least 2 axes;
      calling it raises ``ValueError`` for fewer axes or a fan-in below ``num_nonzero``.

    Raises:
      ValueError: if ``num_nonzero`` is not an integer >= 1 or ``stddev`` is not positive.
    """
    num_nonzero = check_int("num_nonzero", num_nonzero, 1)
    check_positive("stddev", stddev)

    def init(key: jax.Array, shape, dtype=None) -> jax.Array:
        if len(shape) < 2:
            raise ValueError(f"shape must have at least 2 axes (fan_in, fan_out), got {shape}")
        fan_in, fan_out = math.prod(shape[:-1]), shape[-1]
        if num_nonzero > fan_in:
            raise ValueError(f"num_nonzero must be in [1, {fan_in}] (the fan-in), "
                             f"got {num_nonzero}")
        key_mask, key_values = jax.random.split(key)
        # A uniformly random rank per column; the k lowest ranks are a uniform k-subset.
        scores = jax.random.uniform(key_mask, (fan_in, fan_out))
        ranks = jnp.argsort(jnp.argsort(scores, axis=0), axis=0)
        values = stddev * jax.random.normal(key_values, (fan_in, fan_out), dtype)
        return jnp.where(ranks < num_nonzero, values, 0).astype(values.dtype).reshape(shape)

    return init


def constant(value: float) -> Initializer:
    """Every entry ``value``: the usual bias heuristic (:data:`RELU_BIAS`, :data:`LSTM_BIAS`).

    Args:
      value: the number every entry gets.

    Returns:
      An ``Initializer`` ``(key, shape, dtype=None) -> array``, jax's ``constant(value)``.
    """
    return jax.nn.initializers.constant(value)
