"""Starting points: grids, random clouds, 2-D slices.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def grid(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("grid is not implemented yet")

def uniform(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("uniform is not implemented yet")

def gaussian(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("gaussian is not implemented yet")

def plane(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("plane is not implemented yet")
