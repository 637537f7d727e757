"""jaxopt_lab: classic optimizers as optax transformations, and an engine that maps them.

>>> import jax.numpy as jnp
>>> import jaxopt_lab as jl
>>> tx = jl.momentum(learning_rate=0.1, momentum=0.9)
>>> params = jnp.array([1.0, -2.0])
>>> state = tx.init(params)
>>> updates, state = tx.update(2 * params, state, params)
>>> updates
Array([-0.2,  0.4], dtype=float64)
"""
from jaxopt_lab import _interrupt

# Importing jax takes seconds: a Ctrl-C meanwhile must not be lost in one of its callbacks.
_interrupt.watch_import()

from jaxopt_lab import schedules as schedules
from jaxopt_lab import surfaces as surfaces
from jaxopt_lab import starts as starts
from jaxopt_lab import problems as problems
from jaxopt_lab import initializers as initializers
from jaxopt_lab import theory as theory
from jaxopt_lab import analysis as analysis
from jaxopt_lab.engine import Status as Status
from jaxopt_lab.surfaces import Surface as Surface
from jaxopt_lab.optimizers.gradient_descent import sgd as sgd
from jaxopt_lab.optimizers.layerwise import layerwise_sgd as layerwise_sgd
from jaxopt_lab.optimizers.momentum import momentum as momentum
from jaxopt_lab.optimizers.momentum import nesterov as nesterov
from jaxopt_lab.optimizers.momentum import scale_by_momentum as scale_by_momentum
from jaxopt_lab.optimizers.momentum import scale_by_nesterov as scale_by_nesterov
from jaxopt_lab.optimizers.adagrad import adagrad as adagrad
from jaxopt_lab.optimizers.adagrad import scale_by_adagrad as scale_by_adagrad
from jaxopt_lab.optimizers.adadelta import adadelta as adadelta
from jaxopt_lab.optimizers.adadelta import scale_by_adadelta as scale_by_adadelta
from jaxopt_lab.optimizers.rmsprop import rmsprop as rmsprop
from jaxopt_lab.optimizers.rmsprop import scale_by_rmsprop as scale_by_rmsprop
from jaxopt_lab.optimizers.adam import adam as adam
from jaxopt_lab.optimizers.adam import adamw as adamw
from jaxopt_lab.optimizers.adam import scale_by_adam as scale_by_adam
from jaxopt_lab.optimizers.rprop import rprop as rprop
from jaxopt_lab.optimizers.rprop import scale_by_rprop as scale_by_rprop
from jaxopt_lab.optimizers.quickprop import quickprop as quickprop
from jaxopt_lab.optimizers.quickprop import scale_by_quickprop as scale_by_quickprop
from jaxopt_lab.optimizers.newton import newton as newton
from jaxopt_lab.optimizers.newton import scale_by_newton as scale_by_newton
from jaxopt_lab.optimizers.levenberg_marquardt import levenberg_marquardt as levenberg_marquardt
from jaxopt_lab.optimizers.quasi_newton import bfgs as bfgs
from jaxopt_lab.optimizers.quasi_newton import lbfgs as lbfgs
from jaxopt_lab.optimizers.quasi_newton import scale_by_bfgs as scale_by_bfgs
from jaxopt_lab.schedules import reduce_on_plateau as reduce_on_plateau
from jaxopt_lab import engine as engine
from jaxopt_lab.engine import Engine as Engine
from jaxopt_lab.engine import SweepResult as SweepResult
from jaxopt_lab.engine import sweep as sweep

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "schedules",
    "surfaces",
    "starts",
    "problems",
    "initializers",
    "theory",
    "analysis",
    "engine",
    "plotting",
    "Status",
    "Surface",
    "sgd",
    "layerwise_sgd",
    "momentum",
    "nesterov",
    "scale_by_momentum",
    "scale_by_nesterov",
    "adagrad",
    "scale_by_adagrad",
    "adadelta",
    "scale_by_adadelta",
    "rmsprop",
    "scale_by_rmsprop",
    "adam",
    "adamw",
    "scale_by_adam",
    "rprop",
    "scale_by_rprop",
    "quickprop",
    "scale_by_quickprop",
    "newton",
    "scale_by_newton",
    "levenberg_marquardt",
    "bfgs",
    "lbfgs",
    "scale_by_bfgs",
    "reduce_on_plateau",
    "Engine",
    "SweepResult",
    "sweep",
]

_interrupt.import_done()


def __getattr__(name: str):
    # matplotlib costs a second to import, FastAPI (the explorer) a little less: load these
    # modules only when they are used.
    if name in ("plotting", "explorer"):
        import importlib

        return importlib.import_module(f"jaxopt_lab.{name}")
    raise AttributeError(f"module 'jaxopt_lab' has no attribute {name!r}")
