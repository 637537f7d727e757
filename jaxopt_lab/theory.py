"""Closed forms for quadratics: step-size regimes, stability regions, optimal parameters, rates.

On a quadratic every method here is linear, so each eigen-direction of the Hessian (curvature λ)
evolves on its own and its error is multiplied, step after step, by a fixed factor (gradient
descent, Newton) or a fixed 2×2 matrix (momentum). The *rate* returned below is that factor's
modulus, the spectral radius ρ: asymptotically ‖x_k − x*‖ shrinks like ρ^k and the loss gap of
R = |f(x_{k+1}) − f*| / |f(x_k) − f*| tends to ρ² (`jaxopt_lab.analysis` measures it).

Two kinds of functions, and their arguments say which:

* ``curvature`` functions work per eigenvalue and broadcast elementwise over all arguments, so
  ``gd_regime(learning_rates[:, None], curvatures[None, :])`` is a whole (η, λ) map. For a
  spectrum take the worst eigenvalue: ``heavy_ball_rate(a[..., None], b[..., None], eigs).max(-1)``.
* ``eigenvalues`` functions reduce over the last axis (a Hessian's spectrum; a scalar is a
  1-element spectrum): condition number, largest stable step, optimal parameters.

Sources: LeCun, Bottou, Orr & Müller (1998) (gradient descent regimes, η_opt = 1/a,
η < 2·min η_i,opt), Goodfellow, Bengio & Courville (2016) (condition number max|λ_i/λ_j|, §4.2; a
step fails when ½ε²gᵀHg >= εgᵀg, §8.2.1), Polyak (1964) and Goh (2017) (heavy-ball rates and
optimal parameters). Nesterov's iteration is v ← βv − η∇f(x + βv), x ← x + v (Sutskever et al.
2013).

>>> float(gd_optimal_learning_rate(4.0)), Regime(int(gd_regime(0.3, 4.0))).name
(0.25, 'OSCILLATING')
>>> alpha, beta, rate = heavy_ball_optimal([1.0, 100.0])
>>> round(float(alpha), 6), round(float(beta), 6), round(float(rate), 6)
(0.033058, 0.669421, 0.818182)
"""
from __future__ import annotations

import enum

import jax
import jax.numpy as jnp

from jaxopt_lab._validation import check_in_range, check_positive

#: Relative tolerance of `gd_regime` for "exactly" η = 1/a and η = 2/a (floating-point ties).
REGIME_RTOL = 1e-12


class Regime(enum.IntEnum):
    """How a fixed-step iteration behaves on a 1-D quadratic (LeCun et al. 1998, and the ties).

    ``MONOTONE``: η < η_opt, the error keeps its sign and shrinks. ``ONE_STEP``: η = η_opt lands
    on the minimum at once. ``OSCILLATING``: η_opt < η < 2η_opt, the error flips sign and shrinks.
    ``MARGINAL``: η = 2η_opt, it flips sign forever at constant size. ``DIVERGENT``: η > 2η_opt.
    """

    MONOTONE = 0
    ONE_STEP = 1
    OSCILLATING = 2
    MARGINAL = 3
    DIVERGENT = 4


def _spectrum(eigenvalues: jax.typing.ArrayLike) -> jax.Array:
    eigenvalues = jnp.asarray(eigenvalues, dtype=jnp.result_type(float))
    return eigenvalues[..., None] if eigenvalues.ndim == 0 else eigenvalues


def _positive_spectrum(name: str, eigenvalues: jax.typing.ArrayLike) -> jax.Array:
    if isinstance(eigenvalues, (list, tuple)):  # "(10.0, 1.0)" is how a spectrum is written
        eigenvalues = jnp.asarray(eigenvalues)
    check_positive(name, eigenvalues)
    return _spectrum(eigenvalues)


def _spectral_radius_2x2(trace: jax.Array, det: jax.Array) -> jax.Array:
    """Largest |z| over the roots of z² − trace·z + det = 0 (real coefficients)."""
    discriminant = trace**2 - 4.0 * det
    real_roots = 0.5 * (jnp.abs(trace) + jnp.sqrt(jnp.maximum(discriminant, 0.0)))
    complex_pair = jnp.sqrt(jnp.abs(det))  # |z|² = det for a conjugate pair
    return jnp.where(discriminant < 0.0, complex_pair, real_roots)


# --- gradient descent ----------------------------------------------------------------------------


def condition_number(eigenvalues: jax.typing.ArrayLike) -> jax.Array:
    """max_{i,j} |λ_i / λ_j| over the last axis (Goodfellow et al. 2016, §4.2).

    Args:
      eigenvalues: a spectrum ``(..., n)``, or a scalar (a 1-element spectrum).

    Returns:
      The condition number ``(...)``; ``inf`` if some λ is 0.
    """
    magnitudes = jnp.abs(_spectrum(eigenvalues))
    return jnp.max(magnitudes, axis=-1) / jnp.min(magnitudes, axis=-1)


def gd_regime(learning_rate: jax.typing.ArrayLike, curvature: jax.typing.ArrayLike) -> jax.Array:
    """The `Regime` (int8 codes) of gradient descent with step η on ½·a·w² + bw + c.

    The error is multiplied by 1 − ηa each step (LeCun et al. 1998): monotone for ηa < 1, one
    step at ηa = 1, oscillating for 1 < ηa < 2, marginal at 2, divergent above. Ties are judged with
    relative tolerance `REGIME_RTOL`.

    Args:
      learning_rate: η > 0; broadcasts elementwise with ``curvature``.
      curvature: a > 0.

    Returns:
      int8 `Regime` codes of the broadcast shape.

    Raises:
      ValueError: if a concrete ``learning_rate`` or ``curvature`` is not positive.
    """
    check_positive("learning_rate", learning_rate)
    check_positive("curvature", curvature)
    product = jnp.asarray(learning_rate) * jnp.asarray(curvature)
    regime = jnp.select(
        [jnp.isclose(product, 1.0, rtol=REGIME_RTOL, atol=0.0),
         jnp.isclose(product, 2.0, rtol=REGIME_RTOL, atol=0.0),
         product < 1.0, product < 2.0],
        [Regime.ONE_STEP, Regime.MARGINAL, Regime.MONOTONE, Regime.OSCILLATING],
        Regime.DIVERGENT)
    return regime.astype(jnp.int8)


def gd_rate(learning_rate: jax.typing.ArrayLike, curvature: jax.typing.ArrayLike) -> jax.Array:
    """|1 − ηλ|: the factor gradient descent multiplies the error by along curvature λ.

    Args:
      learning_rate: η; broadcasts elementwise with ``curvature``.
      curvature: λ.

    Returns:
      The error factor |1 − ηλ| per step, of the broadcast shape.
    """
    return jnp.abs(1.0 - jnp.asarray(learning_rate) * jnp.asarray(curvature))


def gd_is_stable(learning_rate: jax.typing.ArrayLike,
                 eigenvalues: jax.typing.ArrayLike) -> jax.Array:
    """Whether gradient descent converges from every start: 0 < ηλ_i < 2 for all i.

    For a positive spectrum this is η < 2/λ_max = 2·min_i η_i,opt (LeCun et al. 1998). A
    non-positive λ makes the quadratic unbounded below along its eigenvector, so no step size
    can fix it.

    Args:
      learning_rate: η, shape ``(...)``.
      eigenvalues: the Hessian's spectrum ``(..., n)`` (a scalar is one eigenvalue).

    Returns:
      A boolean array ``(...)``.
    """
    products = jnp.asarray(learning_rate)[..., None] * _spectrum(eigenvalues)
    return jnp.all((products > 0.0) & (products < 2.0), axis=-1)


def gd_max_stable_learning_rate(eigenvalues: jax.typing.ArrayLike) -> jax.Array:
    """2/λ_max: gradient descent diverges for any larger fixed step.

    Args:
      eigenvalues: a positive spectrum ``(..., n)``.

    Returns:
      The largest stable step 2/λ_max, shape ``(...)``.

    Raises:
      ValueError: if a concrete eigenvalue is not positive.
    """
    return 2.0 / jnp.max(_positive_spectrum("eigenvalues", eigenvalues), axis=-1)


def gd_optimal_learning_rate(eigenvalues: jax.typing.ArrayLike) -> jax.Array:
    """2/(λ_min + λ_max), the fixed step with the smallest worst-case rate; 1/a in 1-D.

    Args:
      eigenvalues: a positive spectrum ``(..., n)``.

    Returns:
      The optimal step 2/(λ_min + λ_max), shape ``(...)``.

    Raises:
      ValueError: if a concrete eigenvalue is not positive.
    """
    spectrum = _positive_spectrum("eigenvalues", eigenvalues)
    return 2.0 / (jnp.min(spectrum, axis=-1) + jnp.max(spectrum, axis=-1))


def gd_optimal_rate(eigenvalues: jax.typing.ArrayLike) -> jax.Array:
    """(κ − 1)/(κ + 1): the error factor per step at `gd_optimal_learning_rate`.

    Args:
      eigenvalues: a positive spectrum ``(..., n)``.

    Returns:
      The rate (κ − 1)/(κ + 1), shape ``(...)``.

    Raises:
      ValueError: if a concrete eigenvalue is not positive.
    """
    kappa = condition_number(_positive_spectrum("eigenvalues", eigenvalues))
    return (kappa - 1.0) / (kappa + 1.0)


# --- heavy-ball momentum (Goh, Distill 2017) -----------------------------------------------------


def _check_momentum(learning_rate, momentum, curvature) -> None:
    check_positive("learning_rate", learning_rate)
    check_in_range("momentum", momentum, 0.0, 1.0, high_closed=False)
    check_positive("curvature", curvature)


def heavy_ball_is_stable(learning_rate: jax.typing.ArrayLike, momentum: jax.typing.ArrayLike,
                         curvature: jax.typing.ArrayLike) -> jax.Array:
    """0 < αλ < 2(1 + β): heavy ball v ← βv − α∇f, x ← x + v converges along curvature λ.

    The characteristic polynomial of the 2×2 iteration is z² − (1 + β − αλ)z + β; both roots
    lie inside the unit circle exactly on this interval.

    Args:
      learning_rate: α > 0; all three arguments broadcast elementwise.
      momentum: β in [0, 1).
      curvature: λ > 0.

    Returns:
      A boolean array of the broadcast shape, True where heavy ball converges.

    Raises:
      ValueError: if a concrete argument is out of its range.
    """
    _check_momentum(learning_rate, momentum, curvature)
    product = jnp.asarray(learning_rate) * jnp.asarray(curvature)
    return (product > 0.0) & (product < 2.0 * (1.0 + jnp.asarray(momentum)))


def heavy_ball_max_learning_rate(momentum: jax.typing.ArrayLike,
                                 curvature: jax.typing.ArrayLike) -> jax.Array:
    """2(1 + β)/λ: the stability boundary of heavy ball in the (α, β) plane.

    Args:
      momentum: β in [0, 1); broadcasts elementwise with ``curvature``.
      curvature: λ > 0.

    Returns:
      The largest stable step 2(1 + β)/λ, of the broadcast shape.

    Raises:
      ValueError: if a concrete argument is out of its range.
    """
    check_in_range("momentum", momentum, 0.0, 1.0, high_closed=False)
    check_positive("curvature", curvature)
    return 2.0 * (1.0 + jnp.asarray(momentum)) / jnp.asarray(curvature)


def heavy_ball_rate(learning_rate: jax.typing.ArrayLike, momentum: jax.typing.ArrayLike,
                    curvature: jax.typing.ArrayLike) -> jax.Array:
    """Spectral radius of heavy ball's iteration along curvature λ (elementwise).

    The largest |z| with z² − (1 + β − αλ)z + β = 0. In the complex region
    (1 − √β)² < αλ < (1 + √β)² (see `heavy_ball_complex_region`) it is exactly √β.

    Args:
      learning_rate: α > 0; all three arguments broadcast elementwise.
      momentum: β in [0, 1).
      curvature: λ > 0.

    Returns:
      The spectral radius ρ (< 1 where stable), of the broadcast shape.

    Raises:
      ValueError: if a concrete argument is out of its range.
    """
    _check_momentum(learning_rate, momentum, curvature)
    momentum = jnp.asarray(momentum)
    product = jnp.asarray(learning_rate) * jnp.asarray(curvature)
    return _spectral_radius_2x2(1.0 + momentum - product, momentum + 0.0 * product)


def heavy_ball_complex_region(momentum: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array]:
    """((1 − √β)², (1 + √β)²): the αλ interval where heavy ball spirals at rate √β.

    Args:
      momentum: β in [0, 1).

    Returns:
      A pair ``(low, high)`` of αλ bounds, each of ``momentum``'s shape.

    Raises:
      ValueError: if a concrete ``momentum`` is out of range.
    """
    check_in_range("momentum", momentum, 0.0, 1.0, high_closed=False)
    root = jnp.sqrt(jnp.asarray(momentum, dtype=jnp.result_type(float)))
    return (1.0 - root) ** 2, (1.0 + root) ** 2


def heavy_ball_optimal(eigenvalues: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(α*, β*, rate) for a spectrum in [λ_min, λ_max] (Goh, Distill 2017).

    α* = (2/(√λ_min + √λ_max))², β* = ((√κ − 1)/(√κ + 1))², rate (√κ − 1)/(√κ + 1).

    Args:
      eigenvalues: a positive spectrum ``(..., n)``.

    Returns:
      A tuple ``(alpha, beta, rate)`` of arrays, each of shape ``(...)``.

    Raises:
      ValueError: if a concrete eigenvalue is not positive.
    """
    spectrum = _positive_spectrum("eigenvalues", eigenvalues)
    low, high = jnp.min(spectrum, axis=-1), jnp.max(spectrum, axis=-1)
    root_kappa = jnp.sqrt(high / low)
    rate = (root_kappa - 1.0) / (root_kappa + 1.0)
    return (2.0 / (jnp.sqrt(low) + jnp.sqrt(high))) ** 2, rate**2, rate


# --- Nesterov (the look-ahead form of Sutskever et al. 2013) --------------------------------------


def nesterov_is_stable(learning_rate: jax.typing.ArrayLike, momentum: jax.typing.ArrayLike,
                       curvature: jax.typing.ArrayLike) -> jax.Array:
    """0 < αλ < 2(1 + β)/(1 + 2β): Nesterov converges along curvature λ (elementwise).

    Its iteration has characteristic polynomial z² − (1 + β)(1 − αλ)z + β(1 − αλ).

    Args:
      learning_rate: α > 0; all three arguments broadcast elementwise.
      momentum: β in [0, 1).
      curvature: λ > 0.

    Returns:
      A boolean array of the broadcast shape, True where Nesterov converges.

    Raises:
      ValueError: if a concrete argument is out of its range.
    """
    _check_momentum(learning_rate, momentum, curvature)
    momentum = jnp.asarray(momentum)
    product = jnp.asarray(learning_rate) * jnp.asarray(curvature)
    return (product > 0.0) & (product < 2.0 * (1.0 + momentum) / (1.0 + 2.0 * momentum))


def nesterov_max_learning_rate(momentum: jax.typing.ArrayLike,
                               curvature: jax.typing.ArrayLike) -> jax.Array:
    """2(1 + β)/((1 + 2β)λ): Nesterov's stability boundary in the (α, β) plane.

    Args:
      momentum: β in [0, 1); broadcasts elementwise with ``curvature``.
      curvature: λ > 0.

    Returns:
      The largest stable step 2(1 + β)/((1 + 2β)λ), of the broadcast shape.

    Raises:
      ValueError: if a concrete argument is out of its range.
    """
    check_in_range("momentum", momentum, 0.0, 1.0, high_closed=False)
    check_positive("curvature", curvature)
    momentum = jnp.asarray(momentum)
    return 2.0 * (1.0 + momentum) / ((1.0 + 2.0 * momentum) * jnp.asarray(curvature))


def nesterov_rate(learning_rate: jax.typing.ArrayLike, momentum: jax.typing.ArrayLike,
                  curvature: jax.typing.ArrayLike) -> jax.Array:
    """Spectral radius of Nesterov's iteration along curvature λ (elementwise).

    Args:
      learning_rate: α > 0; all three arguments broadcast elementwise.
      momentum: β in [0, 1).
      curvature: λ > 0.

    Returns:
      The spectral radius ρ (< 1 where stable), of the broadcast shape.

    Raises:
      ValueError: if a concrete argument is out of its range.
    """
    _check_momentum(learning_rate, momentum, curvature)
    momentum = jnp.asarray(momentum)
    shrink = 1.0 - jnp.asarray(learning_rate) * jnp.asarray(curvature)
    return _spectral_radius_2x2((1.0 + momentum) * shrink, momentum * shrink)


def nesterov_parameters(
        eigenvalues: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(α, β, rate) = (1/L, (√κ − 1)/(√κ + 1), 1 − 1/√κ) for a spectrum in [μ, L].

    The classic choice for strongly convex quadratics; the rate is exact at λ = μ, where the
    two roots coincide, and an upper bound elsewhere.

    Args:
      eigenvalues: a positive spectrum ``(..., n)`` with μ = λ_min, L = λ_max.

    Returns:
      A tuple ``(alpha, beta, rate)`` of arrays, each of shape ``(...)``.

    Raises:
      ValueError: if a concrete eigenvalue is not positive.
    """
    spectrum = _positive_spectrum("eigenvalues", eigenvalues)
    high = jnp.max(spectrum, axis=-1)
    root_kappa = jnp.sqrt(condition_number(spectrum))
    return 1.0 / high, (root_kappa - 1.0) / (root_kappa + 1.0), 1.0 - 1.0 / root_kappa


# --- Newton, and the ill-conditioning test of Goodfellow et al. (2016, §8.2.1) -----------------


def newton_is_stable(learning_rate: jax.typing.ArrayLike) -> jax.Array:
    """0 < η < 2: damped Newton x ← x − ηH⁻¹∇f converges on a quadratic.

    Args:
      learning_rate: η, any shape.

    Returns:
      A boolean array of ``learning_rate``'s shape.
    """
    learning_rate = jnp.asarray(learning_rate)
    return (learning_rate > 0.0) & (learning_rate < 2.0)


def newton_rate(learning_rate: jax.typing.ArrayLike) -> jax.Array:
    """|1 − η|: damped Newton shrinks the error by this factor in every direction.

    Args:
      learning_rate: η, any shape.

    Returns:
      The error factor |1 − η|, of ``learning_rate``'s shape.
    """
    return jnp.abs(1.0 - jnp.asarray(learning_rate))


def sgd_loss_change(learning_rate: jax.typing.ArrayLike, grad: jax.typing.ArrayLike,
                    hessian: jax.typing.ArrayLike) -> jax.Array:
    """½ε²·gᵀHg − ε·gᵀg: the second-order change of f after the step −εg.

    Goodfellow, Bengio & Courville (2016, eq. 8.10); exact on a quadratic.

    Args:
      learning_rate: the step ε, shape ``(...)``.
      grad: g, ``(..., n)``.
      hessian: H, ``(..., n, n)``.

    Returns:
      The predicted change of the loss, shape ``(...)``; negative means the step helps.
    """
    grad, hessian = jnp.asarray(grad), jnp.asarray(hessian)
    learning_rate = jnp.asarray(learning_rate)
    curvature = jnp.einsum("...i,...ij,...j->...", grad, hessian, grad)
    return 0.5 * learning_rate**2 * curvature - learning_rate * jnp.sum(grad * grad, axis=-1)


def sgd_step_fails(learning_rate: jax.typing.ArrayLike, grad: jax.typing.ArrayLike,
                   hessian: jax.typing.ArrayLike) -> jax.Array:
    """½ε²·gᵀHg >= ε·gᵀg: the step −εg does not decrease the loss (to second order).

    The ill-conditioning test of Goodfellow, Bengio & Courville (2016, §8.2.1).

    Args:
      learning_rate: the step ε, shape ``(...)``.
      grad: g, ``(..., n)``.
      hessian: H, ``(..., n, n)``.

    Returns:
      A boolean array ``(...)``, True where the step does not decrease the loss.
    """
    grad, hessian = jnp.asarray(grad), jnp.asarray(hessian)
    learning_rate = jnp.asarray(learning_rate)
    curvature = jnp.einsum("...i,...ij,...j->...", grad, hessian, grad)
    return 0.5 * learning_rate**2 * curvature >= learning_rate * jnp.sum(grad * grad, axis=-1)
