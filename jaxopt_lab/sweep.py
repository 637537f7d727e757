"""The sweep engine: jit + vmap + scan over starting points and hyperparameters.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations


def sweep(*args, **kwargs):
    """Placeholder."""
    raise NotImplementedError("sweep is not implemented yet")


class SweepResult:
    """Placeholder."""
