"""Levenberg-Marquardt.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def levenberg_marquardt(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("levenberg_marquardt is not implemented yet")
