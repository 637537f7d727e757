"""Root conftest: applies to the docstring examples in jaxopt_lab/ as well as to tests/.

Everything the suite checks is checked in float64, so that a disagreement is a bug, not rounding.
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
