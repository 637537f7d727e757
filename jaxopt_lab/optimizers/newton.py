"""Newton's method and saddle-free Newton.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_newton(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_newton is not implemented yet")

def newton(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("newton is not implemented yet")
