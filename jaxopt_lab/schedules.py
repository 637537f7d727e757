"""The seeds' decaying learning-rate schedules and reduce-on-plateau.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def inverse_time(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("inverse_time is not implemented yet")

def inverse_quadratic(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("inverse_quadratic is not implemented yet")

def inverse_sqrt(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("inverse_sqrt is not implemented yet")

def exponential(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("exponential is not implemented yet")

def step(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("step is not implemented yet")

def linear_then_constant(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("linear_then_constant is not implemented yet")

def reduce_on_plateau(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("reduce_on_plateau is not implemented yet")
