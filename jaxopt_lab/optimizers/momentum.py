"""Heavy-ball momentum and Nesterov's accelerated gradient.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_momentum(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_momentum is not implemented yet")

def momentum(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("momentum is not implemented yet")

def scale_by_nesterov(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_nesterov is not implemented yet")

def nesterov(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("nesterov is not implemented yet")
