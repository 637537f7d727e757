"""The API's request bodies (pydantic): their shape here, their meaning in `_resolve`.

Shape errors (a missing field, a string where a number goes) are FastAPI's usual HTTP 422;
`_resolve` adds the checks that need the catalogue and the server's limits, in the same form.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Map resolutions the page offers (points per side).
MIN_RESOLUTION, MAX_RESOLUTION = 64, 512
#: Default server limits: points per request (a 512 × 512 map) and steps per point.
DEFAULT_MAX_POINTS = 512 * 512
DEFAULT_MAX_STEPS = 5000
#: Starts per trajectory request: paths are drawn one click at a time.
MAX_TRAJECTORIES = 8


@dataclasses.dataclass(frozen=True)
class Limits:
    """Work one request may ask for: points (× hyperparameter settings) and steps per point."""

    max_points: int = DEFAULT_MAX_POINTS
    max_steps: int = DEFAULT_MAX_STEPS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Settings(_Strict):
    """What every computation needs: surface, optimizer, hyperparameters, steps, dtype."""

    surface: str = Field(description="a 2-D catalogue surface, or 'quadratic'")
    surface_params: dict[str, float] = Field(
        default_factory=dict,
        description="for 'quadratic': eigenvalue_1, eigenvalue_2, angle (degrees)")
    optimizer: str = Field(description="an optimizer name from /api/catalogue")
    hyperparams: dict[str, float] = Field(
        default_factory=dict, description="slider values (the optimizer's and the schedule's); "
                                          "missing ones take their default")
    schedule: str = Field("constant", description="learning-rate schedule, from /api/catalogue")
    steps: int = Field(300, ge=1, description="optimizer steps per start (<= --max-steps)")
    dtype: Literal["float32", "float64"] = "float32"
    channel: str | None = Field(
        None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="requests sharing a channel supersede each other: an older one that has "
                    "not started yet when a newer one arrives is dropped (HTTP 409)")


class MapRequest(Settings):
    resolution: int = Field(128, ge=MIN_RESOLUTION, le=MAX_RESOLUTION,
                            description="starts per side of the map")


class TrajectoryRequest(Settings):
    starts: list[tuple[float, float]] = Field(min_length=1, max_length=MAX_TRAJECTORIES)


class Axis(_Strict):
    name: str = Field(description="a hyperparameter of the optimizer")
    low: float
    high: float
    log: bool = False


class PlaneRequest(Settings):
    x: Axis
    y: Axis
    plane_resolution: int = Field(24, ge=4, le=64, description="settings per side")
    start_resolution: int = Field(8, ge=2, le=32, description="starts per side per setting")
