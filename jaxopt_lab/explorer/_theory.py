"""Closed forms for the page: curvatures of the surface, learning-rate marks, stability edges.

On a quadratic the curvatures are its eigenvalues and the closed forms are exact. Elsewhere
the Hessian's eigenvalues at the lowest listed minimum give the same closed forms for starts
near that minimum (linearization), and the page says which of the two it shows.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lab as jl
from jaxopt_lab.explorer._catalogue import OptimizerEntry

#: Points per stability-boundary polyline in the hyperparameter plane.
BOUNDARY_POINTS = 96


@functools.lru_cache(maxsize=64)
def curvatures(surface: jl.Surface) -> tuple[np.ndarray, str] | None:
    """(ascending positive eigenvalues, "exact" | "local"), or None where none are known."""
    eigenvalues = getattr(surface.fn, "eigenvalues", None)
    kind = "exact"
    if eigenvalues is None:
        if not surface.minima:
            return None
        lowest = surface.minima[int(np.nanargmin(surface.minima_values_array))] \
            if not np.all(np.isnan(surface.minima_values_array)) else surface.minima[0]
        # Jitted: one compilation instead of one per operation of the eager Hessian (seconds).
        hessian = jax.jit(jax.hessian(surface.fn))(jnp.asarray(lowest,
                                                               dtype=jnp.result_type(float)))
        eigenvalues, kind = np.linalg.eigvalsh(np.asarray(hessian, dtype=float)), "local"
    eigenvalues = np.sort(np.asarray(eigenvalues, dtype=float))
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues[0] <= 0:
        return None
    return eigenvalues, kind


def curvatures_json(surface: jl.Surface) -> dict | None:
    known = curvatures(surface)
    return None if known is None else {"eigenvalues": known[0].tolist(), "kind": known[1]}


def _max_learning_rate(optimizer: OptimizerEntry, hyperparams: dict, curvature: float,
                       momentum=None) -> float | np.ndarray | None:
    beta = hyperparams.get("momentum") if momentum is None else momentum
    if optimizer.theory == "gd":
        return float(jl.theory.gd_max_stable_learning_rate(curvature))
    if optimizer.theory == "heavy_ball":
        return np.asarray(jl.theory.heavy_ball_max_learning_rate(beta, curvature))
    if optimizer.theory == "nesterov":
        return np.asarray(jl.theory.nesterov_max_learning_rate(beta, curvature))
    return None


def summary(surface: jl.Surface, optimizer: OptimizerEntry, hyperparams: dict) -> dict | None:
    """Marks on the learning-rate axis (η_opt, edges of stability) for the current settings."""
    known = curvatures(surface)
    if known is None or not optimizer.theory:
        return None
    eigenvalues, kind = known
    low, high = float(eigenvalues[0]), float(eigenvalues[-1])
    marks = []
    if optimizer.theory == "newton":
        marks.append({"label": "η = 1: one step to the minimum of a quadratic", "value": 1.0})
        marks.append({"label": "η = 2: stability edge", "value": 2.0})
    else:
        marks.append({"label": "1/λ_max: stiffest direction in one step", "value": 1.0 / high})
        if optimizer.theory == "gd":
            marks.append({"label": "η_opt = 2/(λ_min+λ_max)",
                          "value": float(jl.theory.gd_optimal_learning_rate(eigenvalues))})
        else:
            alpha, beta, _ = jl.theory.heavy_ball_optimal(eigenvalues)
            marks.append({"label": f"heavy ball optimum (β* = {float(beta):.3g})",
                          "value": float(alpha)})
        edge = float(_max_learning_rate(optimizer, hyperparams, high))
        marks.append({"label": "stability edge (diverges above)", "value": edge})
    learning_rate = hyperparams.get("learning_rate")
    return {"kind": kind, "eigenvalues": eigenvalues.tolist(), "learning_rate": learning_rate,
            "marks": marks, "stable": None if learning_rate is None else
            bool(learning_rate < marks[-1]["value"])}


def boundary(surface: jl.Surface, optimizer: OptimizerEntry, hyperparams: dict,
             x_name: str, y_name: str, x_range: tuple, y_range: tuple) -> list | None:
    """The closed-form stability edge in the (x, y) hyperparameter plane, as [[x, y], ...].

    Drawn for GD, heavy ball and Nesterov when the axes are the learning rate and the momentum
    (in either order; GD's edge does not depend on the other axis).
    """
    known = curvatures(surface)
    names = {x_name, y_name}
    if known is None or optimizer.theory not in ("gd", "heavy_ball", "nesterov") \
            or "learning_rate" not in names:
        return None
    high = float(known[0][-1])
    other = y_name if x_name == "learning_rate" else x_name
    other_range = y_range if x_name == "learning_rate" else x_range
    if optimizer.theory == "gd":
        others = np.linspace(*other_range, 2)
        rates = np.full(2, _max_learning_rate(optimizer, hyperparams, high))
    elif other == "momentum":
        others = np.linspace(*other_range, BOUNDARY_POINTS)
        rates = _max_learning_rate(optimizer, hyperparams, high, momentum=others)
    else:
        return None
    pairs = zip(rates.tolist(), others.tolist())
    return [[r, o] if x_name == "learning_rate" else [o, r] for r, o in pairs]
