"""RMSProp.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_rmsprop(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_rmsprop is not implemented yet")

def rmsprop(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("rmsprop is not implemented yet")
