"""Parameter initializations: the stated distributions, exact sparsity, orthogonality."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.problems import xavier_limit

from jaxopt_lab import initializers

KEY = jax.random.PRNGKey(0)
#: The same draw computed by jax's initializer and by the formula written out: rounding only.
ROUNDING_ATOL = 1e-15
#: Sample moments must lie within this many standard errors of the stated value: a false alarm
#: has probability ~6e-7 per check, yet a wrong scale (e.g. a factor √2) is far outside.
STANDARD_ERRORS = 5.0
#: Orthogonal to 1e-6, what float32 use needs; QR in float64 reaches ~1e-15.
ORTHOGONALITY_TOL = 1e-6
NUM_DRAWS = 4000


def _assert_moment(sample_value, expected, standard_error):
    assert abs(sample_value - expected) <= STANDARD_ERRORS * standard_error, (
        sample_value, expected, standard_error)


def test_gaussian_is_jax_normal_shifted_and_has_the_stated_moments():
    mean, stddev, shape = 0.5, 0.3, (200, 100)
    weights = initializers.gaussian(stddev, mean)(KEY, shape)
    assert weights.dtype == jnp.float64
    np.testing.assert_allclose(weights, mean + stddev * jax.random.normal(KEY, shape),
                               atol=ROUNDING_ATOL)
    count = weights.size
    _assert_moment(float(weights.mean()), mean, stddev / math.sqrt(count))
    # Var of a Gaussian sample variance: 2σ⁴/N.
    _assert_moment(float(weights.var()), stddev**2, stddev**2 * math.sqrt(2 / count))


@pytest.mark.parametrize("shape", [(30, 50), (784, 10)])
def test_xavier_uniform_is_the_glorot_bengio_formula(shape):
    limit = xavier_limit(*shape)
    weights = initializers.xavier_uniform()(KEY, shape)
    formula_draw = jax.random.uniform(KEY, shape, minval=-limit, maxval=limit)
    np.testing.assert_allclose(weights, formula_draw, atol=ROUNDING_ATOL)
    assert float(jnp.abs(weights).max()) <= limit


def test_xavier_uniform_has_the_uniform_moments():
    fan_in, fan_out = 300, 500
    limit = xavier_limit(fan_in, fan_out)
    weights = initializers.xavier_uniform()(KEY, (fan_in, fan_out))
    count = weights.size
    _assert_moment(float(weights.mean()), 0.0, limit / math.sqrt(3 * count))
    # U(−a, a): E w² = a²/3, E w⁴ = a⁴/5.
    _assert_moment(float((weights**2).mean()), limit**2 / 3,
                   math.sqrt((limit**4 / 5 - limit**4 / 9) / count))


@pytest.mark.parametrize("shape, num_nonzero", [((20, 7), 3), ((3, 3, 4, 6), 15), ((5, 2), 5)])
def test_sparse_has_exactly_k_nonzero_incoming_weights_per_unit(shape, num_nonzero):
    weights = initializers.sparse(num_nonzero)(KEY, shape)
    assert weights.shape == shape
    per_unit = (np.asarray(weights).reshape(-1, shape[-1]) != 0).sum(axis=0)
    np.testing.assert_array_equal(per_unit, num_nonzero)


def test_sparse_picks_connections_uniformly_with_gaussian_weights():
    fan_in, fan_out, num_nonzero, stddev = 10, 4, 3, 2.0
    keys = jax.random.split(KEY, NUM_DRAWS)
    draws = np.asarray(jax.vmap(
        lambda k: initializers.sparse(num_nonzero, stddev)(k, (fan_in, fan_out)))(keys))
    share = num_nonzero / fan_in
    included = (draws != 0).mean(axis=0)
    assert np.all(np.abs(included - share)
                  <= STANDARD_ERRORS * math.sqrt(share * (1 - share) / NUM_DRAWS))
    values = draws[draws != 0]
    _assert_moment(values.mean(), 0.0, stddev / math.sqrt(values.size))
    _assert_moment(values.var(), stddev**2, stddev**2 * math.sqrt(2 / values.size))


def test_sparse_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"num_nonzero must be in \[1, 4\] \(the fan-in\), got 5"):
        initializers.sparse(5)(KEY, (4, 3))
    with pytest.raises(ValueError, match=r"num_nonzero must be an integer in \[1, inf\], got 0"):
        initializers.sparse(0)
    with pytest.raises(ValueError, match="shape must have at least 2 axes"):
        initializers.sparse(1)(KEY, (4,))


@pytest.mark.parametrize("shape, scale", [((64, 32), 1.0), ((16, 40), 1.0), ((8, 8), 2.0)])
def test_orthogonal_has_orthonormal_columns_or_rows(shape, scale):
    weights = np.asarray(initializers.orthogonal(scale)(KEY, shape))
    gram = weights.T @ weights if shape[0] >= shape[1] else weights @ weights.T
    np.testing.assert_allclose(gram, scale**2 * np.eye(min(shape)), atol=ORTHOGONALITY_TOL)


def test_orthogonal_entries_have_the_haar_moments():
    size = 8
    draws = jax.vmap(lambda k: initializers.orthogonal()(k, (size, size)))(
        jax.random.split(KEY, NUM_DRAWS))
    entry = np.asarray(draws[:, 2, 5])  # one entry across independent draws
    # Haar orthogonal n×n: E u = 0, E u² = 1/n, E u⁴ = 3/(n(n+2)).
    second, fourth = 1 / size, 3 / (size * (size + 2))
    _assert_moment(entry.mean(), 0.0, math.sqrt(second / NUM_DRAWS))
    _assert_moment((entry**2).mean(), second, math.sqrt((fourth - second**2) / NUM_DRAWS))


def test_constant_bias_heuristics():
    assert (initializers.RELU_BIAS, initializers.LSTM_BIAS) == (0.1, 1.0)  # Goodfellow et al., §8.4
    biases = initializers.constant(initializers.RELU_BIAS)(KEY, (5,))
    np.testing.assert_array_equal(biases, np.full(5, 0.1))


def test_initializers_reject_bad_scales():
    with pytest.raises(ValueError, match="stddev must be in"):
        initializers.gaussian(stddev=-1.0)
    with pytest.raises(ValueError, match=r"scale must be in \(0, inf\), got 0.0"):
        initializers.orthogonal(scale=0.0)
