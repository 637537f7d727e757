"""The first-order optimizers written again from their papers and Goodfellow, Bengio &
Courville (2016, ch. 8), in plain NumPy.

Each ``*_run(grad_fn, start, num_steps, ...)`` returns the visited points, shape
(num_steps + 1, dim), row 0 the start. ``grad_fn(point) -> gradient`` (NumPy arrays).
``learning_rate`` is a number or a function of the step index k = 0, 1, … (a schedule).
Nothing here imports jaxopt_lab.
"""
from __future__ import annotations

import numpy as np


def _rate(learning_rate, k):
    return float(learning_rate(k)) if callable(learning_rate) else float(learning_rate)


def _run(step, grad_fn, start, num_steps):
    point = np.array(start, dtype=float)
    points = [point.copy()]
    for k in range(num_steps):
        point = step(point, k)
        points.append(point.copy())
    return np.array(points)


def sgd_run(grad_fn, start, num_steps, learning_rate):
    """θ ← θ − ε_k·g (Goodfellow et al. 2016, Algorithm 8.1)."""
    return _run(lambda x, k: x - _rate(learning_rate, k) * np.asarray(grad_fn(x)),
                grad_fn, start, num_steps)


def momentum_velocity_run(grad_fn, start, num_steps, learning_rate, momentum,
                          return_velocity=False):
    """ΔW ← β·ΔW − η_k·∇L(W), W ← W + ΔW (Polyak 1964; Goodfellow et al. 2016, Algorithm 8.2)."""
    point = np.array(start, dtype=float)
    velocity = np.zeros_like(point)
    points, velocities = [point.copy()], [velocity.copy()]
    for k in range(num_steps):
        velocity = momentum * velocity - _rate(learning_rate, k) * np.asarray(grad_fn(point))
        point = point + velocity
        points.append(point.copy())
        velocities.append(velocity.copy())
    if return_velocity:
        return np.array(points), np.array(velocities)
    return np.array(points)


def momentum_ewma_run(grad_fn, start, num_steps, learning_rate, momentum):
    """m ← β·m + (1−β)·∇J(θ), θ ← θ − η·m (the EWMA form, m₀ = 0)."""
    point = np.array(start, dtype=float)
    average = np.zeros_like(point)
    points = [point.copy()]
    for k in range(num_steps):
        average = momentum * average + (1.0 - momentum) * np.asarray(grad_fn(point))
        point = point - _rate(learning_rate, k) * average
        points.append(point.copy())
    return np.array(points)


def momentum_gradient_plus_velocity_run(grad_fn, start, num_steps, learning_rate, momentum):
    """The form of optax and PyTorch: v ← β·v + g, θ ← θ − ε·v."""
    point = np.array(start, dtype=float)
    velocity = np.zeros_like(point)
    points = [point.copy()]
    for k in range(num_steps):
        gradient = np.asarray(grad_fn(point))
        point = point - _rate(learning_rate, k) * (gradient + momentum * velocity)
        velocity = momentum * velocity + gradient
        points.append(point.copy())
    return np.array(points)


def nesterov_run(grad_fn, start, num_steps, learning_rate, momentum, return_velocity=False):
    """ΔW ← β·ΔW − η_k·∇L(W + β·ΔW), W ← W + ΔW (Sutskever et al. 2013)."""
    point = np.array(start, dtype=float)
    velocity = np.zeros_like(point)
    points, velocities = [point.copy()], [velocity.copy()]
    for k in range(num_steps):
        lookahead = point + momentum * velocity
        velocity = momentum * velocity - _rate(learning_rate, k) * np.asarray(grad_fn(lookahead))
        point = point + velocity
        points.append(point.copy())
        velocities.append(velocity.copy())
    if return_velocity:
        return np.array(points), np.array(velocities)
    return np.array(points)


def adagrad_run(grad_fn, start, num_steps, learning_rate, eps=1e-8, eps_root=0.0,
                initial_accumulator_value=0.0):
    """r ← r + g⊙g, θ ← θ − ε/(δ + √r)⊙g (Duchi et al. 2011; δ may also go inside the root)."""
    point = np.array(start, dtype=float)
    accumulator = np.full_like(point, initial_accumulator_value)
    points = [point.copy()]
    for k in range(num_steps):
        gradient = np.asarray(grad_fn(point))
        accumulator = accumulator + gradient * gradient
        point = point - _rate(learning_rate, k) / (eps + np.sqrt(accumulator + eps_root)) * gradient
        points.append(point.copy())
    return np.array(points)


def rmsprop_run(grad_fn, start, num_steps, learning_rate, decay=0.9, eps=1e-8, eps_root=0.0):
    """r ← ρ·r + (1−ρ)·g⊙g, θ ← θ − ε/(δ + √r)⊙g (Tieleman & Hinton 2012; δ inside the root:
    Goodfellow et al. 2016, Algorithm 8.5)."""
    point = np.array(start, dtype=float)
    mean_square = np.zeros_like(point)
    points = [point.copy()]
    for k in range(num_steps):
        gradient = np.asarray(grad_fn(point))
        mean_square = decay * mean_square + (1.0 - decay) * gradient * gradient
        point = point - _rate(learning_rate, k) / (eps + np.sqrt(mean_square + eps_root)) * gradient
        points.append(point.copy())
    return np.array(points)


def adadelta_run(grad_fn, start, num_steps, learning_rate=1.0, rho=0.9, eps=1e-6):
    """Zeiler (2012), Algorithm 1, with the update scaled by η after accumulating E[Δx²]."""
    point = np.array(start, dtype=float)
    mean_square_grad = np.zeros_like(point)
    mean_square_update = np.zeros_like(point)
    points = [point.copy()]
    for k in range(num_steps):
        gradient = np.asarray(grad_fn(point))
        mean_square_grad = rho * mean_square_grad + (1.0 - rho) * gradient**2
        delta = -np.sqrt(mean_square_update + eps) / np.sqrt(mean_square_grad + eps) * gradient
        mean_square_update = rho * mean_square_update + (1.0 - rho) * delta**2
        point = point + _rate(learning_rate, k) * delta
        points.append(point.copy())
    return np.array(points)


def adam_run(grad_fn, start, num_steps, learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0,
             weight_decay=0.0):
    """Kingma & Ba (2015)'s Algorithm 1 (δ outside the root; ``eps_root`` puts it inside); with
    ``weight_decay`` λ, AdamW's θ ← θ − ε·(ŝ/(δ + √r̂) + λ·θ) (Loshchilov & Hutter 2019)."""
    point = np.array(start, dtype=float)
    first, second = np.zeros_like(point), np.zeros_like(point)
    points = [point.copy()]
    for k in range(num_steps):
        t = k + 1
        gradient = np.asarray(grad_fn(point))
        first = b1 * first + (1.0 - b1) * gradient
        second = b2 * second + (1.0 - b2) * gradient * gradient
        first_hat = first / (1.0 - b1**t)
        second_hat = second / (1.0 - b2**t)
        direction = first_hat / (eps + np.sqrt(second_hat + eps_root)) + weight_decay * point
        point = point - _rate(learning_rate, k) * direction
        points.append(point.copy())
    return np.array(points)
