"""QuickProp.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_quickprop(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_quickprop is not implemented yet")

def quickprop(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("quickprop is not implemented yet")
