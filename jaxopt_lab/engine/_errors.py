"""The engine's own errors: the ones a caller (the CLI, a script) may want to tell apart."""
from __future__ import annotations

from jaxopt_lab.engine._lanes import NotElementwise

__all__ = ["EngineOptionError", "NotElementwise"]


class EngineOptionError(ValueError):
    """A `jaxopt_lab.Engine` option that does not fit this sweep (e.g. ``batches=2`` with the
    fused backend); ``option`` names the field, so a caller can point at its own flag for it."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option
