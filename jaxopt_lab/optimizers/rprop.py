"""The Rprop family.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_rprop(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_rprop is not implemented yet")

def rprop(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("rprop is not implemented yet")
