"""Test configuration: float64 everywhere (the root conftest does the same for doctests)."""
import jax

jax.config.update("jax_enable_x64", True)
