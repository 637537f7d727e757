"""Adadelta.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_adadelta(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_adadelta is not implemented yet")

def adadelta(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("adadelta is not implemented yet")
