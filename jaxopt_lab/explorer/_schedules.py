"""Learning-rate schedules on the page: `jl.schedules` with traced parameters.

A schedule's parameters are sliders like the optimizer's own: `Scheduled` is the optimizer
factory `jl.sweep` receives, taking both sets as keyword arrays, so moving a decay slider never
recompiles. It is a frozen dataclass of two functions, hence hashable and equal for equal
choices: the sweep's compiled kernels are found again.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import optax

import jaxopt_lab as jl
from jaxopt_lab.explorer._catalogue import Hyperparameter, OptimizerEntry

CONSTANT = "constant"


@dataclasses.dataclass(frozen=True)
class ScheduleEntry:
    name: str
    schedule: Callable[..., optax.Schedule] | None  # None: a constant learning rate
    hyperparameters: tuple[Hyperparameter, ...]
    formula: str

    def as_json(self) -> dict:
        return {"name": self.name, "formula": self.formula,
                "hyperparameters": [h.as_json() for h in self.hyperparameters]}


SCHEDULES: dict[str, ScheduleEntry] = {entry.name: entry for entry in (
    ScheduleEntry(CONSTANT, None, (), "η_k = η"),
    ScheduleEntry("inverse_time", jl.schedules.inverse_time, (
        Hyperparameter("decay_rate", 0.01, 1e-4, 1.0, log=True),), "η_k = η/(1 + decay_rate·k)"),
    ScheduleEntry("inverse_sqrt", jl.schedules.inverse_sqrt, (), "η_k = η/√(k + 1)"),
    ScheduleEntry("exponential", jl.schedules.exponential, (
        Hyperparameter("beta", 0.005, 1e-5, 0.1, log=True),), "η_k = η·exp(−β·k)"),
    ScheduleEntry("step", jl.schedules.step, (
        Hyperparameter("transition_steps", 100.0, 1.0, 1000.0, log=True),
        Hyperparameter("decay_rate", 0.5, 0.05, 0.99)),
        "η_k = η·decay_rate^⌊k / transition_steps⌋"),
)}


def takes_schedule(optimizer: OptimizerEntry) -> bool:
    """Whether the optimizer's learning rate may be a schedule (optax's ScalarOrSchedule)."""
    return optimizer.hyperparameter("learning_rate") is not None and optimizer.name != "rprop"


@dataclasses.dataclass(frozen=True)
class Scheduled:
    """``factory(learning_rate=schedule(learning_rate, **its parameters), **the rest)``."""

    factory: Callable[..., optax.GradientTransformation]
    schedule: Callable[..., optax.Schedule]
    names: tuple[str, ...]  # the schedule's own parameters

    def __call__(self, learning_rate, **hyperparams) -> optax.GradientTransformation:
        own = {name: hyperparams.pop(name) for name in self.names}
        return self.factory(learning_rate=self.schedule(learning_rate, **own), **hyperparams)


@functools.lru_cache(maxsize=None)
def factory(optimizer: OptimizerEntry, schedule: str) -> Callable[..., optax.GradientTransformation]:
    """The factory `jl.sweep` gets for ``optimizer`` under ``schedule`` (the same object each
    time, so the sweep's kernel cache finds it)."""
    entry = SCHEDULES[schedule]
    if entry.schedule is None:
        return optimizer.factory
    return Scheduled(optimizer.factory, entry.schedule,
                     tuple(h.name for h in entry.hyperparameters))
