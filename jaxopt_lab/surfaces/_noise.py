"""Minibatch gradient noise around a surface (`noisy_gradient`)."""
from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import check_int, check_nonnegative
from jaxopt_lab.surfaces._surface import Surface

# --- stochastic gradients: minibatch SGD -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NoisyGradient:
    """Minibatch gradients of ``surface`` under the additive noise model; see `noisy_gradient`."""

    surface: Surface
    sigma: float
    batch_size: int
    num_examples: int | None = None
    data_seed: int = 0

    def noise(self, key: jax.Array, dtype=float) -> jax.Array:
        """The minibatch's mean noise vector ξ̄ = (1/B) Σᵢ ξᵢ, shape ``(dim,)``."""
        dim = self.surface.dim
        if self.num_examples is None:
            # The mean of B i.i.d. N(0, σ²I) draws is N(0, σ²/B · I): draw it directly, exact in
            # distribution and O(dim) instead of O(B·dim) per step.
            return self.sigma / math.sqrt(self.batch_size) * jax.random.normal(key, (dim,), dtype)
        batch = jax.random.choice(key, self.num_examples, (self.batch_size,), replace=False)
        return self.examples(dtype)[batch].mean(axis=0)

    @functools.cached_property
    def _examples_by_dtype(self) -> dict[np.dtype, jax.Array]:
        # Filled by `examples`. A cached_property lives in the instance's __dict__, outside the
        # dataclass fields, so equality and the hash (the jit cache key) ignore it.
        return {}

    def examples(self, dtype=float) -> jax.Array:
        """The fixed data set's noise vectors ξ₁..ξ_N, ``(N, dim)`` (``num_examples`` mode only).

        Drawn once per dtype and kept: every minibatch (every step of every run) indexes the same
        array instead of redrawing N·dim normals. It is drawn eagerly even when first asked for
        inside ``jax.jit``/``vmap`` (a traced array kept here would leak out of its trace) and
        then enters compiled code as a constant.
        """
        if self.num_examples is None:
            raise ValueError("examples needs a fixed data set: pass num_examples to noisy_gradient")
        dtype = jax.dtypes.canonicalize_dtype(dtype)
        cache = self._examples_by_dtype
        if dtype not in cache:
            with jax.ensure_compile_time_eval():
                shape = (self.num_examples, self.surface.dim)
                data = jax.random.normal(jax.random.PRNGKey(self.data_seed), shape, dtype)
                # Centred: the full batch gives ∇f exactly.
                cache[dtype] = self.sigma * (data - data.mean(axis=0))
        return cache[dtype]

    def loss(self, params: jax.Array, key: jax.Array) -> jax.Array:
        """Minibatch loss (1/B) Σᵢ [f(w) + w·ξᵢ] = f(w) + w·ξ̄."""
        params = jnp.asarray(params)
        return self.surface.fn(params) + params @ self.noise(key, params.dtype)

    def __call__(self, params: jax.Array, key: jax.Array) -> jax.Array:
        """Minibatch gradient ∇f(w) + ξ̄."""
        params = jnp.asarray(params)
        return jax.grad(self.surface.fn)(params) + self.noise(key, params.dtype)


def noisy_gradient(surface: Surface, sigma: float, batch_size: int, *,
                   num_examples: int | None = None, data_seed: int = 0) -> NoisyGradient:
    """Turn ``surface`` into a minibatch problem: returns ``grad_fn(params, key) -> gradient``.

    Per-example loss ℓᵢ(w) = f(w) + w·ξᵢ with ξᵢ ~ N(0, σ²I) (in 2-D: f(u, v) + u·x + v·y with
    (x, y) ~ N(0, σ²)). A minibatch of B examples has gradient ∇f(w) + ξ̄, ξ̄ the batch mean, so:

    - ``num_examples=None`` (endless data, fresh examples each step): noise variance σ²/B per
      coordinate; B = 1 is SGD.
    - ``num_examples=N``: a fixed data set of N examples (drawn from ``data_seed``, centred so
      the full-batch loss is exactly f); each call samples B of them without replacement, noise
      variance s²/B·(N − B)/(N − 1) with s² the data's variance; B = N is batch gradient descent.

    The result is deterministic given ``key``, hashable (a static jit argument), and has
    ``.loss(params, key)`` for the minibatch loss.

    Args:
      surface: the `Surface` whose gradient gets the noise.
      sigma: σ >= 0, the per-example noise's standard deviation per coordinate (0: exact
        gradients).
      batch_size: B >= 1 examples per minibatch; at most ``num_examples`` when that is given.
      num_examples: N >= 1 examples in a fixed data set, or ``None`` (default) for endless
        data with fresh examples every call.
      data_seed: the seed the fixed data set is drawn from (``num_examples`` mode only).

    Returns:
      A `NoisyGradient`: ``grad_fn(params, key)`` gives the minibatch gradient, shape
      ``(dim,)``, and ``.loss(params, key)`` the minibatch loss.

    Raises:
      ValueError: if ``sigma`` is negative, or ``batch_size`` or ``num_examples`` is not an
        integer in its range.
      TypeError: if ``sigma`` is not a real number.

    >>> import jax, jax.numpy as jnp
    >>> from jaxopt_lab.surfaces import get
    >>> grad_fn = noisy_gradient(get("booth"), sigma=1.0, batch_size=4, num_examples=4)
    >>> gradient = grad_fn(jnp.array([1.0, 3.0]), jax.random.PRNGKey(0))  # B = N: exact
    >>> bool(jnp.all(jnp.abs(gradient) < 1e-12))
    True
    """
    check_nonnegative("sigma", sigma)
    if num_examples is not None:
        num_examples = check_int("num_examples", num_examples, 1)
    batch_size = check_int("batch_size", batch_size, 1,
                           math.inf if num_examples is None else num_examples)
    return NoisyGradient(surface, float(sigma), batch_size, num_examples, int(data_seed))
