"""Adam and AdamW.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_adam(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_adam is not implemented yet")

def adam(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("adam is not implemented yet")

def adamw(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("adamw is not implemented yet")
