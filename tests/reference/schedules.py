"""Decaying learning rates and reduce-on-plateau, in plain Python floats.

Each schedule is its formula at step k (k = 0 on the first update). No jax, no jaxopt_lab.
"""
from __future__ import annotations

import math


def inverse_time(init_value, k, decay_rate=1.0):
    """η0/(1 + decay_rate·k); η0/(k+1) with the default."""
    return init_value / (1.0 + decay_rate * k)


def inverse_quadratic(init_value, k):
    """η0/(k+1)²."""
    return init_value / (k + 1) ** 2


def inverse_sqrt(init_value, k):
    """1/√k decay, first step at η0."""
    return init_value / math.sqrt(k + 1)


def exponential(init_value, k, beta):
    """η0·e^(−βk)."""
    return init_value * math.exp(-beta * k)


def step(init_value, k, transition_steps, decay_rate):
    """A staircase: multiply by decay_rate after every transition_steps steps."""
    value = init_value
    for j in range(1, k + 1):
        if j % transition_steps == 0:
            value *= decay_rate
    return value


def linear_then_constant(init_value, k, end_value, transition_steps):
    """Goodfellow et al. (2016, eq. 8.14): (1 − k/τ)ε0 + (k/τ)ε_τ until τ, then ε_τ."""
    if k >= transition_steps:
        return end_value
    return (1 - k / transition_steps) * init_value + k / transition_steps * end_value


def plateau_scales(losses, factor, patience, rtol=0.0, atol=0.0):
    """The plateau rule read literally: the scale in force after seeing each loss.

    A loss that is not below (1 − rtol)·best − atol is a stagnant step; after `patience`
    consecutive stagnant steps, η ← factor·η and the count starts again.
    """
    scale, best, stagnant, scales = 1.0, math.inf, 0, []
    for loss in losses:
        if loss < (1 - rtol) * best - atol:
            best, stagnant = loss, 0
        else:
            stagnant += 1
            if stagnant == patience:
                scale, stagnant = scale * factor, 0
        scales.append(scale)
    return scales


def gradient_descent_on_quadratic(curvature, w0, learning_rates):
    """f(w) = ½·a·w²: w_{k+1} = (1 − η_k·a)·w_k; returns w_0 .. w_K."""
    trajectory = [w0]
    for rate in learning_rates:
        trajectory.append((1 - rate * curvature) * trajectory[-1])
    return trajectory
