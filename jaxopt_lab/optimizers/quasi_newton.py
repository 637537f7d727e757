"""BFGS and L-BFGS.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_bfgs(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_bfgs is not implemented yet")

def bfgs(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("bfgs is not implemented yet")

def lbfgs(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("lbfgs is not implemented yet")
