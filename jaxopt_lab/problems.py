"""Data-driven losses: perceptron-vs-backprop, small flax MLPs, initializers.

Not yet implemented: this module is a placeholder in the package skeleton.
"""
from __future__ import annotations

