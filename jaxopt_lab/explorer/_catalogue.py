"""What the explorer offers: 2-D surfaces, optimizers with slider ranges, and their defaults.

Only names listed here can be asked for: a request names an entry of these tables, never a
module or a function, so no request can make the server import or run code it names.
Every slider is a numeric hyperparameter that `jl.sweep` passes to the optimizer factory as a
traced array, so moving it never recompiles; settings that change the program (Newton's
``saddle_free``, L-BFGS's ``memory_size``) are fixed per entry instead.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import optax

import jaxopt_lab as jl

#: Name of the quadratic whose eigenvalues and rotation the request chooses.
CUSTOM_QUADRATIC = "quadratic"
#: Surfaces the explorer draws: the catalogue's 2-D ones (a map is a picture of the plane).
MAP_DIM = 2


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One slider: ``low <= value <= high``, on a log scale when the range spans decades."""

    name: str
    default: float
    low: float
    high: float
    log: bool = False
    description: str = ""

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class OptimizerEntry:
    """A named optimizer factory and the sliders of its numeric hyperparameters."""

    name: str
    factory: Callable[..., optax.GradientTransformation]
    hyperparameters: tuple[Hyperparameter, ...]
    label: str
    source: str  # "jaxopt_lab" or "optax"
    #: Closed-form stability on a quadratic: "gd", "heavy_ball", "nesterov", "newton" or "".
    theory: str = ""

    def as_json(self) -> dict:
        return {"name": self.name, "label": self.label, "source": self.source,
                "theory": self.theory or None,
                "hyperparameters": [h.as_json() for h in self.hyperparameters]}

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)


def _lr(default: float, low: float = 1e-5, high: float = 2.0) -> Hyperparameter:
    return Hyperparameter("learning_rate", default, low, high, log=True,
                          description="step size η")


_MOMENTUM = Hyperparameter("momentum", 0.9, 0.0, 0.999, description="momentum β")
_B1 = Hyperparameter("b1", 0.9, 0.0, 0.999, description="decay of the first moment")
_B2 = Hyperparameter("b2", 0.999, 0.5, 0.9999, description="decay of the second moment")
_EPS = Hyperparameter("eps", 1e-8, 1e-12, 1.0, log=True, description="added outside the root")
_EPS_ROOT = Hyperparameter("eps_root", 0.0, 0.0, 1e-3, description="added inside the root")

_OPTIMIZERS = (
    OptimizerEntry("sgd", jl.sgd, (_lr(0.01),), "gradient descent", "jaxopt_lab", "gd"),
    OptimizerEntry("momentum", jl.momentum, (_lr(0.005), _MOMENTUM), "heavy-ball momentum",
                   "jaxopt_lab", "heavy_ball"),
    OptimizerEntry("nesterov", jl.nesterov, (_lr(0.005), _MOMENTUM), "Nesterov momentum",
                   "jaxopt_lab", "nesterov"),
    OptimizerEntry("adagrad", jl.adagrad, (
        _lr(0.5, 1e-3, 10.0), Hyperparameter("eps", 1e-8, 1e-12, 1.0, log=True),
        Hyperparameter("eps_root", 0.0, 0.0, 1e-3),
        Hyperparameter("initial_accumulator_value", 0.0, 0.0, 1.0)), "AdaGrad", "jaxopt_lab"),
    OptimizerEntry("adadelta", jl.adadelta, (
        _lr(1.0, 1e-3, 10.0), Hyperparameter("rho", 0.9, 0.01, 0.999),
        Hyperparameter("eps", 1e-6, 1e-10, 1e-1, log=True)), "AdaDelta", "jaxopt_lab"),
    OptimizerEntry("rmsprop", jl.rmsprop, (
        _lr(0.01), Hyperparameter("decay", 0.9, 0.01, 0.999), _EPS, _EPS_ROOT),
        "RMSProp", "jaxopt_lab"),
    OptimizerEntry("adam", jl.adam, (_lr(0.05), _B1, _B2, _EPS, _EPS_ROOT), "Adam", "jaxopt_lab"),
    OptimizerEntry("adamw", jl.adamw, (
        _lr(0.05), _B1, _B2, _EPS, _EPS_ROOT,
        Hyperparameter("weight_decay", 0.01, 0.0, 1.0)), "AdamW", "jaxopt_lab"),
    OptimizerEntry("rprop", jl.rprop, (
        Hyperparameter("learning_rate", 0.1, 1e-4, 1.0, log=True, description="initial step"),
        Hyperparameter("eta_minus", 0.5, 0.01, 0.99),
        Hyperparameter("eta_plus", 1.2, 1.01, 3.0),
        # 1e-12, not the usual 1e-6: a floor of 1e-6 stalls Rprop about 1e-6 from a minimum,
        # short of the sweep's convergence tolerance.
        Hyperparameter("min_step_size", 1e-12, 1e-14, 1e-2, log=True),
        Hyperparameter("max_step_size", 50.0, 1e-2, 100.0, log=True)), "iRprop−", "jaxopt_lab"),
    OptimizerEntry("quickprop", jl.quickprop, (
        _lr(0.01, 1e-4, 1.0), Hyperparameter("max_growth", 1.75, 1.01, 5.0)),
        "Quickprop", "jaxopt_lab"),
    OptimizerEntry("newton", jl.newton, (
        _lr(1.0, 1e-3, 2.0), Hyperparameter("damping", 0.0, 0.0, 10.0)),
        "Newton", "jaxopt_lab", "newton"),
    OptimizerEntry("saddle_free_newton", functools.partial(jl.newton, saddle_free=True), (
        _lr(1.0, 1e-3, 2.0), Hyperparameter("damping", 0.0, 0.0, 10.0)),
        "saddle-free Newton", "jaxopt_lab"),
    OptimizerEntry("levenberg_marquardt", jl.levenberg_marquardt, (
        Hyperparameter("damping", 1e-3, 1e-6, 10.0, log=True),
        Hyperparameter("increase", 10.0, 1.1, 100.0, log=True),
        Hyperparameter("decrease", 10.0, 1.1, 100.0, log=True)),
        "Levenberg–Marquardt", "jaxopt_lab"),
    OptimizerEntry("bfgs", jl.bfgs, (_lr(1.0, 1e-3, 2.0),), "BFGS", "jaxopt_lab"),
    OptimizerEntry("lbfgs", jl.lbfgs, (_lr(1.0, 1e-3, 2.0),), "L-BFGS (memory 10)",
                   "jaxopt_lab"),
    OptimizerEntry("optax_adabelief", optax.adabelief, (
        _lr(0.05), _B1, _B2, Hyperparameter("eps", 1e-16, 1e-20, 1e-4, log=True)),
        "optax.adabelief", "optax"),
    OptimizerEntry("optax_lion", optax.lion, (
        _lr(0.005), _B1, Hyperparameter("b2", 0.99, 0.5, 0.9999),
        Hyperparameter("weight_decay", 1e-3, 0.0, 1.0)), "optax.lion", "optax"),
    OptimizerEntry("optax_yogi", optax.yogi, (
        _lr(0.05), _B1, _B2, Hyperparameter("eps", 1e-3, 1e-8, 1.0, log=True)),
        "optax.yogi", "optax"),
)

OPTIMIZERS: dict[str, OptimizerEntry] = {entry.name: entry for entry in _OPTIMIZERS}

#: The custom quadratic's controls: its two curvatures and the rotation of its axes.
QUADRATIC_CONTROLS = (
    Hyperparameter("eigenvalue_1", 5.0, 1e-2, 100.0, log=True, description="curvature λ₁"),
    Hyperparameter("eigenvalue_2", 1.0, 1e-2, 100.0, log=True, description="curvature λ₂"),
    Hyperparameter("angle", 45.0, -90.0, 90.0, description="rotation of λ₁'s axis (degrees)"),
)

#: The view the page opens with (and the one `jaxopt-lab serve` compiles while it starts).
FIRST_VIEW = {"surface": "himmelblau", "optimizer": "momentum", "steps": 300, "resolution": 128,
              "dtype": "float32"}



def map_surface_names() -> tuple[str, ...]:
    """The catalogue's 2-D surfaces, then the custom quadratic."""
    return tuple(name for name in jl.surfaces.names()
                 if jl.surfaces.get(name).dim == MAP_DIM) + (CUSTOM_QUADRATIC,)


@functools.lru_cache(maxsize=64)
def custom_quadratic(eigenvalue_1: float, eigenvalue_2: float, angle: float) -> jl.Surface:
    """½ wᵀAw with A's eigenvalues λ₁, λ₂ and λ₁'s axis at ``angle`` degrees.

    Equal numbers give an equal (hashable) surface, so the sweep's compiled kernel is reused.
    """
    return jl.surfaces.rotated_quadratic((eigenvalue_1, eigenvalue_2), math.radians(angle),
                                         name=CUSTOM_QUADRATIC)


def default_hyperparams(surface: str, optimizer: str) -> dict[str, float]:
    """The values the page starts from for ``optimizer`` on ``surface``.

    The map's settings follow the surface's own rule, `jaxopt_lab.surfaces.map_settings` (a
    learning rate from the largest Hessian eigenvalue at the minima, or from the box's size, and
    AdamW's map weight decay), as `jaxopt-lab map` does, kept inside each slider's range; the
    other sliders, optimizers without a rule and the quadratic of chosen eigenvalues start from
    the slider's default.
    """
    entry = OPTIMIZERS[optimizer]
    values = {h.name: h.default for h in entry.hyperparameters}
    if surface not in jl.surfaces.names():  # the chosen quadratic, or a bad name
        return values
    settings = jl.surfaces.map_settings(jl.surfaces.get(surface), optimizer).hyperparams
    for name, value in settings.items():
        slider = entry.hyperparameter(name)
        if slider is not None and value is not None and math.isfinite(value):
            values[name] = min(max(value, slider.low), slider.high)
    return values


def surface_json(name: str) -> dict:
    """A surface's catalogue entry: bounds, minima (with values) and saddles."""
    if name == CUSTOM_QUADRATIC:
        surface = custom_quadratic(*(c.default for c in QUADRATIC_CONTROLS))
        entry = {"controls": [c.as_json() for c in QUADRATIC_CONTROLS],
                 "label": "quadratic (chosen eigenvalues, rotation)"}
    else:
        surface = jl.surfaces.get(name)
        entry = {"controls": [], "label": name.replace("_", " ")}
    values = surface.minima_values_array.tolist()
    return {"name": name, **entry, "bounds": [list(b) for b in surface.bounds],
            "minima": [list(m) for m in surface.minima],
            "minima_values": [None if math.isnan(v) else v for v in values],
            "saddles": [list(s) for s in surface.saddles], "f_min": surface.f_min}
