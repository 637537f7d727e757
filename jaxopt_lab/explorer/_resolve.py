"""Turn a request into checked work: catalogue entries, full hyperparameters, server limits.

Every problem becomes a `RequestError` naming the field (as FastAPI's ``loc``) and what it
allows; the app answers HTTP 422 with all of them, before any work is done.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import optax

import jaxopt_lab as jl
from jaxopt_lab.explorer import _catalogue, _schedules
from jaxopt_lab.explorer._models import Limits, MapRequest, PlaneRequest, Settings


class RequestError(Exception):
    """Bad request values: ``problems`` is a list of (loc, message)."""

    def __init__(self, problems: list[tuple[tuple, str]]):
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems

    def detail(self) -> list[dict]:
        return [{"loc": ["body", *loc], "msg": message, "type": "value_error"}
                for loc, message in self.problems]


@dataclasses.dataclass(frozen=True)
class Work:
    """A checked request: what to sweep."""

    surface: jl.Surface
    optimizer: _catalogue.OptimizerEntry
    hyperparams: dict[str, float]
    steps: int
    dtype: str
    schedule: str = _schedules.CONSTANT

    @property
    def factory(self) -> Callable[..., optax.GradientTransformation]:
        """What `jl.sweep` gets: the optimizer factory, with the schedule where there is one."""
        return _schedules.factory(self.optimizer, self.schedule)


def _in_range(loc: tuple, value: float, low: float, high: float) -> str | None:
    if not math.isfinite(value) or not low <= value <= high:
        return f"{loc[-1]} must be in [{low:g}, {high:g}], got {value:g}"
    return None


def _surface(settings: Settings, problems: list) -> jl.Surface | None:
    names = _catalogue.map_surface_names()
    if settings.surface not in names:
        problems.append((("surface",), f"surface must be one of {', '.join(names)}; "
                                       f"got {settings.surface!r}"))
        return None
    if settings.surface != _catalogue.CUSTOM_QUADRATIC:
        if settings.surface_params:
            problems.append((("surface_params",), f"surface {settings.surface!r} takes no "
                                                  "surface_params"))
        return jl.surfaces.get(settings.surface)
    values = {}
    for control in _catalogue.QUADRATIC_CONTROLS:
        value = settings.surface_params.get(control.name, control.default)
        loc = ("surface_params", control.name)
        if (message := _in_range(loc, value, control.low, control.high)) is not None:
            problems.append((loc, message))
        values[control.name] = value
    known = {c.name for c in _catalogue.QUADRATIC_CONTROLS}
    for name in sorted(set(settings.surface_params) - known):
        problems.append((("surface_params", name), f"unknown quadratic parameter {name!r}; "
                                                   f"allowed: {', '.join(sorted(known))}"))
    return None if problems else _catalogue.custom_quadratic(*values.values())


def sliders(optimizer: str, schedule: str) -> tuple[_catalogue.Hyperparameter, ...]:
    """The optimizer's hyperparameters, then its schedule's."""
    entry = _schedules.SCHEDULES.get(schedule, _schedules.SCHEDULES[_schedules.CONSTANT])
    return _catalogue.OPTIMIZERS[optimizer].hyperparameters + entry.hyperparameters


def _schedule(settings: Settings, problems: list) -> None:
    if settings.schedule not in _schedules.SCHEDULES:
        problems.append((("schedule",), f"schedule must be one of "
                                        f"{', '.join(_schedules.SCHEDULES)}; got "
                                        f"{settings.schedule!r}"))
    elif settings.schedule != _schedules.CONSTANT and not _schedules.takes_schedule(
            _catalogue.OPTIMIZERS[settings.optimizer]):
        problems.append((("schedule",), f"{settings.optimizer} takes no learning-rate schedule; "
                                        f"use {_schedules.CONSTANT!r}"))


def _hyperparams(settings: Settings, problems: list) -> dict[str, float]:
    specs = {h.name: h for h in sliders(settings.optimizer, settings.schedule)}
    values = _catalogue.default_hyperparams(settings.surface, settings.optimizer)
    values.update({name: h.default for name, h in specs.items() if name not in values})
    allowed = list(specs)
    for name, value in settings.hyperparams.items():
        spec = specs.get(name)
        loc = ("hyperparams", name)
        if spec is None:
            problems.append((loc, f"{settings.optimizer} has no hyperparameter {name!r}; "
                                  f"allowed: {', '.join(allowed) or 'none'}"))
        elif (message := _in_range(loc, value, spec.low, spec.high)) is not None:
            problems.append((loc, message))
        else:
            values[name] = float(value)
    return values


def available_dtypes() -> tuple[str, ...]:
    """float32 always; float64 where jax runs with 64-bit floats enabled."""
    return ("float32", "float64") if jax.config.jax_enable_x64 else ("float32",)


def resolve(settings: Settings, limits: Limits, num_points: int = 1) -> Work:
    """The checked `Work` of ``settings`` for ``num_points`` points; raise `RequestError`."""
    problems: list[tuple[tuple, str]] = []
    surface = _surface(settings, problems)
    hyperparams: dict[str, float] = {}
    if settings.optimizer not in _catalogue.OPTIMIZERS:
        problems.append((("optimizer",), f"optimizer must be one of "
                                         f"{', '.join(_catalogue.OPTIMIZERS)}; got "
                                         f"{settings.optimizer!r}"))
    else:
        _schedule(settings, problems)
        hyperparams = _hyperparams(settings, problems)
    if settings.dtype not in available_dtypes():
        problems.append((("dtype",), f"dtype must be one of {', '.join(available_dtypes())} on "
                                     "this server (float64 needs JAX_ENABLE_X64=1), got "
                                     f"{settings.dtype!r}"))
    if settings.steps > limits.max_steps:
        problems.append((("steps",), f"steps must be in [1, {limits.max_steps}] (the server's "
                                     f"--max-steps), got {settings.steps}"))
    if num_points > limits.max_points:
        field = "resolution" if isinstance(settings, MapRequest) else "plane_resolution"
        problems.append(((field,), f"{num_points} points exceed the server's --max-points "
                                   f"{limits.max_points}: ask for fewer"))
    if problems:
        raise RequestError(problems)
    return Work(surface, _catalogue.OPTIMIZERS[settings.optimizer], hyperparams, settings.steps,
                settings.dtype, settings.schedule)


def resolve_plane(request: PlaneRequest, limits: Limits) -> Work:
    """`resolve` plus the two axes: distinct hyperparameters, ranges inside their sliders'."""
    num_points = request.plane_resolution ** 2 * request.start_resolution ** 2
    problems: list[tuple[tuple, str]] = []
    try:
        work = resolve(request, limits, num_points)
    except RequestError as error:
        problems, work = error.problems, None
    if request.optimizer in _catalogue.OPTIMIZERS:
        specs = {h.name: h for h in sliders(request.optimizer, request.schedule)}
        for field in ("x", "y"):
            axis = getattr(request, field)
            spec = specs.get(axis.name)
            if spec is None:
                problems.append(((field, "name"), f"{request.optimizer} has no hyperparameter "
                                                  f"{axis.name!r}"))
                continue
            for end in ("low", "high"):
                loc = (field, end)
                if (message := _in_range(loc, getattr(axis, end), spec.low, spec.high)):
                    problems.append((loc, message.replace(end, f"{field}.{end}", 1)))
            if axis.low >= axis.high:
                problems.append(((field, "high"), f"{field}.high must exceed {field}.low"))
            if axis.log and axis.low <= 0:
                problems.append(((field, "low"), f"{field}.low must be > 0 on a log axis"))
        if request.x.name == request.y.name:
            problems.append((("y", "name"), "x and y must be two different hyperparameters"))
    if problems:
        raise RequestError(problems)
    return work
