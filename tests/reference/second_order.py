"""Newton, Levenberg-Marquardt and BFGS written again in plain NumPy, from Nocedal & Wright
(2006) and Marquardt (1963).

Hessians are passed in (analytic for the quadratics, ``jax.hessian`` elsewhere): the oracle is
the update rule, not differentiation. Also the classic test functions of the scipy
comparison, written from their published definitions (Surjanovic & Bingham, "Virtual Library of
Simulation Experiments", sfu.ca/~ssurjano) so the tests do not depend on jaxopt_lab.surfaces.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def rosenbrock(x):
    """(1 − x)² + 100·(y − x²)²; minimum 0 at (1, 1)."""
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


def himmelblau(x):
    """(x² + y − 11)² + (x + y² − 7)²; four minima of value 0, one at (3, 2)."""
    return (x[0] ** 2 + x[1] - 11.0) ** 2 + (x[0] + x[1] ** 2 - 7.0) ** 2


def matyas(x):
    """0.26·(x² + y²) − 0.48·x·y; minimum 0 at the origin."""
    return 0.26 * (x[0] ** 2 + x[1] ** 2) - 0.48 * x[0] * x[1]


def zakharov(x):
    """Σ xᵢ² + (Σ 0.5·i·xᵢ)² + (Σ 0.5·i·xᵢ)⁴ (i from 1); minimum 0 at the origin."""
    weighted = jnp.sum(0.5 * jnp.arange(1, x.shape[0] + 1) * x)
    return jnp.sum(x**2) + weighted**2 + weighted**4


def spd_quadratic(dim, seed):
    """f(x) = ½xᵀAx − bᵀx with A random SPD (eigenvalues in [0.5, 10]); minimum A⁻¹b.

    Returns ``(f, A, b, start)``, ``start`` a random point of scale 3."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    matrix = rotation @ np.diag(rng.uniform(0.5, 10.0, size=dim)) @ rotation.T
    offset = rng.normal(size=dim)
    a, b = jnp.asarray(matrix), jnp.asarray(offset)
    return (lambda x: 0.5 * x @ a @ x - b @ x), matrix, offset, rng.normal(size=dim) * 3.0


def newton_step(hessian, grad, learning_rate=1.0, damping=0.0, saddle_free=False):
    """The update −η·(H + δ·I)⁻¹·g; with ``saddle_free`` H is replaced by Q·|Λ|·Qᵀ."""
    hessian = np.asarray(hessian, dtype=float)
    grad = np.asarray(grad, dtype=float)
    if saddle_free:
        eigenvalues, eigenvectors = np.linalg.eigh(hessian)
        hessian = eigenvectors @ np.diag(np.abs(eigenvalues)) @ eigenvectors.T
    system = hessian + damping * np.eye(len(grad))
    return -learning_rate * np.linalg.solve(system, grad)


def levenberg_marquardt_run(loss, grad_fn, hessian_fn, start, damping, increase, decrease,
                            num_steps):
    """Points and λ values of ``num_steps`` accept/reject steps (both length num_steps + 1)."""
    point = np.asarray(start, dtype=float)
    points, dampings = [point.copy()], [float(damping)]
    for _ in range(num_steps):
        hessian = np.asarray(hessian_fn(point), dtype=float)
        grad = np.asarray(grad_fn(point), dtype=float)
        trial = point - np.linalg.solve(hessian + damping * np.eye(len(point)), grad)
        if float(loss(trial)) < float(loss(point)):
            point, damping = trial, damping / decrease
        else:
            damping = damping * increase
        points.append(point.copy())
        dampings.append(float(damping))
    return np.array(points), np.array(dampings)


def bfgs_inverse_hessian_update(inverse_hessian, s, y):
    """(I − ρ·s·yᵀ)·M·(I − ρ·y·sᵀ) + ρ·s·sᵀ, ρ = 1/(yᵀs), as the product of matrices."""
    s = np.asarray(s, dtype=float)
    y = np.asarray(y, dtype=float)
    rho = 1.0 / float(y @ s)
    identity = np.eye(len(s))
    left = identity - rho * np.outer(s, y)
    right = identity - rho * np.outer(y, s)
    return left @ np.asarray(inverse_hessian, dtype=float) @ right + rho * np.outer(s, s)


def bfgs_run(grad_fn, start, learning_rate, num_steps):
    """BFGS without line search, as documented in jaxopt_lab: M₀ = I, first step scaled by
    min(1, 1/‖g‖), M reset to (yᵀs/yᵀy)·I before the first update, pairs with yᵀs <= 0 (or a
    non-finite update) skipped.

    Returns the points (num_steps + 1, n) and the final M.
    """
    point = np.asarray(start, dtype=float)
    inverse_hessian = np.eye(len(point))
    grad = np.asarray(grad_fn(point), dtype=float)
    points = [point.copy()]
    step = -learning_rate * min(1.0, 1.0 / np.linalg.norm(grad)) * grad
    for index in range(num_steps):
        if index > 0:
            new_grad = np.asarray(grad_fn(point), dtype=float)
            s, y = point - previous_point, new_grad - grad
            grad = new_grad
            if y @ s > 0:
                start = (y @ s) / (y @ y) * np.eye(len(point)) if index == 1 else inverse_hessian
                updated = bfgs_inverse_hessian_update(start, s, y)
                if np.all(np.isfinite(updated)):
                    inverse_hessian = updated
            step = -learning_rate * inverse_hessian @ grad
        previous_point = point
        point = point + step
        points.append(point.copy())
    return np.array(points), inverse_hessian
