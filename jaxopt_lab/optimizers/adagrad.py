"""AdaGrad.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def scale_by_adagrad(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("scale_by_adagrad is not implemented yet")

def adagrad(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("adagrad is not implemented yet")
