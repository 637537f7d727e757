"""Plain gradient descent (batch, minibatch, stochastic).

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def sgd(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("sgd is not implemented yet")
