"""Matplotlib figures.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations

