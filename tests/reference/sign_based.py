"""Rprop (four variants, and one-move backtracking) and QuickProp, one scalar at a time.

Written from Riedmiller & Braun (1993), Igel & Hüsken (2000) and Fahlman (1988):
plain Python floats, an explicit ``if`` per case, a loop over coordinates. Steps are parameter
changes Δw (``w ← w + Δw``). No jaxopt_lab imports.
"""
from __future__ import annotations

import math

import numpy as np


def sign(x: float) -> float:
    return (x > 0) - (x < 0)


def rprop_coordinate(g, g_prev, delta, dw_prev, loss_rose, *, eta_minus, eta_plus, delta_min,
                     delta_max, variant):
    """One coordinate of one Rprop step: returns (Δw, new Δ, gradient to remember)."""
    if g_prev * g > 0:
        delta = min(delta * eta_plus, delta_max)
        return -sign(g) * delta, delta, g
    if g_prev * g < 0:
        delta = max(delta * eta_minus, delta_min)
        if variant == "rprop-":
            return -sign(g) * delta, delta, g
        if variant == "irprop-":
            return 0.0, delta, 0.0
        if variant == "rprop+":
            return -dw_prev, delta, 0.0
        if variant == "irprop+":
            return (-dw_prev if loss_rose else 0.0), delta, 0.0
        raise ValueError(variant)
    return -sign(g) * delta, delta, g


def rprop_updates(gradients, values=None, *, learning_rate, eta_minus=0.5, eta_plus=1.2,
                  min_step_size=1e-6, max_step_size=50.0, variant="irprop-"):
    """Updates Δw (T, n) for a given gradient sequence (T, n); ``values`` (T,) for irprop+.

    Also returns the step sizes Δ after each step, (T, n).
    """
    gradients = np.asarray(gradients, dtype=float)
    num_steps, dim = gradients.shape
    delta = [float(learning_rate)] * dim
    g_prev = [0.0] * dim
    dw_prev = [0.0] * dim
    e_prev = math.inf
    updates = np.zeros((num_steps, dim))
    step_sizes = np.zeros((num_steps, dim))
    for t in range(num_steps):
        loss_rose = values is not None and float(values[t]) > e_prev
        for i in range(dim):
            dw, delta[i], g_prev[i] = rprop_coordinate(
                float(gradients[t, i]), g_prev[i], delta[i], dw_prev[i], loss_rose,
                eta_minus=eta_minus, eta_plus=eta_plus, delta_min=min_step_size,
                delta_max=max_step_size, variant=variant,
            )
            dw_prev[i] = dw
            updates[t, i] = dw
            step_sizes[t, i] = delta[i]
        if values is not None:
            e_prev = float(values[t])
    return updates, step_sizes


def rprop_trajectory(grad_fn, w0, num_steps, *, value_fn=None, learning_rate, eta_minus=0.5,
                     eta_plus=1.2, min_step_size=1e-6, max_step_size=50.0, variant="irprop-"):
    """Points w(0..T), (T+1, n), of Rprop on ``grad_fn`` (numpy (n,) -> (n,)) from ``w0``."""
    w = np.array(w0, dtype=float)
    dim = w.size
    delta = [float(learning_rate)] * dim
    g_prev = [0.0] * dim
    dw_prev = [0.0] * dim
    e_prev = math.inf
    points = [w.copy()]
    for _ in range(num_steps):
        g = np.asarray(grad_fn(w), dtype=float)
        loss_rose = False
        if value_fn is not None:
            e = float(value_fn(w))
            loss_rose, e_prev = e > e_prev, e
        for i in range(dim):
            dw_prev[i], delta[i], g_prev[i] = rprop_coordinate(
                float(g[i]), g_prev[i], delta[i], dw_prev[i], loss_rose,
                eta_minus=eta_minus, eta_plus=eta_plus, delta_min=min_step_size,
                delta_max=max_step_size, variant=variant,
            )
        w = w + np.array(dw_prev)
        points.append(w.copy())
    return np.array(points)


def rprop_one_move_trajectory(grad_fn, w0, num_steps, *, learning_rate, eta_minus=0.5,
                              eta_plus=1.2, min_step_size=1e-6, max_step_size=50.0):
    """Rprop for a scalar weight with backtracking in one move: on a sign change return to the
    previous location, shrink the step, take the smaller step forward.

    Returns the points w(0..T) for a scalar w."""
    w = float(w0)
    delta = float(learning_rate)
    g = float(grad_fn(w))
    previous_location, previous_gradient = w, g
    w = w - sign(g) * delta  # "take an initial step against the derivative"
    points = [float(w0), w]
    for _ in range(num_steps - 1):
        g = float(grad_fn(w))
        if g * previous_gradient < 0:
            delta = max(delta * eta_minus, min_step_size)
            # The gradient at the previous location is previous_gradient: same direction again.
            w = previous_location - sign(previous_gradient) * delta
        else:
            if g * previous_gradient > 0:
                delta = min(delta * eta_plus, max_step_size)
            previous_location, previous_gradient = w, g
            w = w - sign(g) * delta
        points.append(w)
    return np.array(points)


def quickprop_coordinate(s, s_prev, dw_prev, epsilon, mu, epsilon_ratio=1.0):
    """One weight of one QuickProp step (Fahlman 1988), S = ∂E/∂w: returns Δw.

    ``epsilon_ratio`` = η_t/η_{t−1} rescales the jump when η follows a schedule (jaxopt_lab's
    documented convention); 1 for Fahlman's constant η.
    """
    if dw_prev == 0.0:
        return -epsilon * s
    shrink = mu / (1.0 + mu)
    step = 0.0
    if dw_prev > 0:
        if s < 0:  # still going downhill to the right: add the gradient term
            step += -epsilon * s
        if s < shrink * s_prev:  # slope barely shrank (or grew): maximum step
            step += epsilon_ratio * mu * dw_prev
        elif s_prev != s:
            step += epsilon_ratio * s / (s_prev - s) * dw_prev
        else:
            return -epsilon * s
    else:
        if s > 0:
            step += -epsilon * s
        if s > shrink * s_prev:
            step += epsilon_ratio * mu * dw_prev
        elif s_prev != s:
            step += epsilon_ratio * s / (s_prev - s) * dw_prev
        else:
            return -epsilon * s
    return step


def quickprop_trajectory(grad_fn, w0, num_steps, *, learning_rate, max_growth=1.75):
    """Points (T+1, n) of QuickProp; ``learning_rate`` a number or a function of the step t."""
    rate = learning_rate if callable(learning_rate) else (lambda t: learning_rate)
    w = np.array(w0, dtype=float)
    dim = w.size
    s_prev = [0.0] * dim
    dw_prev = [0.0] * dim
    points = [w.copy()]
    for t in range(num_steps):
        g = np.asarray(grad_fn(w), dtype=float)
        epsilon = float(rate(t))
        ratio = 1.0 if t == 0 else epsilon / float(rate(t - 1))
        for i in range(dim):
            dw = quickprop_coordinate(float(g[i]), s_prev[i], dw_prev[i], epsilon, max_growth,
                                      ratio)
            s_prev[i], dw_prev[i] = float(g[i]), dw
            w[i] += dw
        points.append(w.copy())
    return np.array(points)
