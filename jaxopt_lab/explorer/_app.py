"""The FastAPI app: the page, its static files, and the JSON API it and scripts use.

Each computation runs in a worker thread, at most ``concurrency`` at once. Requests that share
a ``channel`` supersede each other: one still waiting for a slot when a newer one arrives is
dropped with HTTP 409, and one whose client has gone is dropped too, so a page that sends a
request per slider movement never builds a queue of stale work.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import pathlib
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

import jaxopt_lab as jl
from jaxopt_lab.explorer import _catalogue, _compute, _schedules
from jaxopt_lab.explorer._models import (MAX_RESOLUTION, MAX_TRAJECTORIES, MIN_RESOLUTION,
                                         Limits, MapRequest, PlaneRequest, TrajectoryRequest)
from jaxopt_lab.explorer._resolve import (RequestError, available_dtypes, resolve,
                                          resolve_plane)

STATIC = pathlib.Path(__file__).parent / "static"
#: Channels remembered for superseding (the oldest are forgotten first).
MAX_CHANNELS = 1024
#: HTTP status of a request dropped because its client left (nginx's "client closed request").
CLIENT_GONE = 499


class _Gate:
    """At most ``concurrency`` computations at once; newer requests on a channel win."""

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None
        self._latest: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._tickets = 0

    def _ticket(self, channel: str | None) -> int:
        self._tickets += 1
        if channel is not None:
            self._latest[channel] = self._tickets
            self._latest.move_to_end(channel)
            while len(self._latest) > MAX_CHANNELS:
                self._latest.popitem(last=False)
        return self._tickets

    async def run(self, request: Request, channel: str | None, work: Callable[[], Any]):
        ticket = self._ticket(channel)
        if self._slots is None:  # created inside the server's event loop
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            if channel is not None and self._latest.get(channel) != ticket:
                return JSONResponse({"detail": "superseded by a newer request"}, status_code=409)
            if await request.is_disconnected():
                return Response(status_code=CLIENT_GONE)
            started = time.perf_counter()
            try:
                result = await run_in_threadpool(work)
            except ValueError as error:  # the optimizer's own range checks, before any work
                return JSONResponse({"detail": [{"loc": ["body", "hyperparams"],
                                                 "msg": str(error), "type": "value_error"}]},
                                    status_code=422)
            return _respond(result, time.perf_counter() - started)


def _respond(result: dict | bytes, seconds: float) -> Response:
    """JSON, or an .npz file's bytes; the Server-Timing header says what the computation took
    (apart from the network and the wait for a slot)."""
    timing = {"Server-Timing": f"compute;dur={1e3 * seconds:.1f}"}
    if isinstance(result, bytes):
        return Response(result, media_type="application/octet-stream",
                        headers={**timing, "Content-Disposition": 'attachment; filename="map.npz"'})
    return JSONResponse(result, headers=timing)


@functools.lru_cache(maxsize=8)
def catalogue(limits: Limits) -> dict:
    """Everything the page offers, with defaults, ranges and the server's limits."""
    surfaces = [_catalogue.surface_json(name) for name in _catalogue.map_surface_names()]
    defaults = {s["name"]: {o: _catalogue.default_hyperparams(s["name"], o)
                            for o in _catalogue.OPTIMIZERS} for s in surfaces}
    return {
        "surfaces": surfaces,
        "optimizers": [{**entry.as_json(), "takes_schedule": _schedules.takes_schedule(entry)}
                       for entry in _catalogue.OPTIMIZERS.values()],
        "defaults": defaults,
        "schedules": [entry.as_json() for entry in _schedules.SCHEDULES.values()],
        "dtypes": list(available_dtypes()),
        "first_view": _catalogue.FIRST_VIEW,
        "statuses": {str(int(s)): s.name.lower() for s in jl.Status},
        "limits": {"max_points": limits.max_points, "max_steps": limits.max_steps,
                   "resolution": [MIN_RESOLUTION, MAX_RESOLUTION],
                   "max_trajectories": MAX_TRAJECTORIES},
    }


def warm_up(limits: Limits) -> None:
    """Compile and run the page's first view (and build the catalogue) before it is asked for."""
    catalogue(limits)
    body = MapRequest(**_catalogue.FIRST_VIEW)
    work = resolve(body, limits, body.resolution ** 2)
    _compute.encode_map(*_compute.sweep_map(work, body.resolution), work)


def create_app(limits: Limits = Limits(), concurrency: int = 2) -> FastAPI:
    """The explorer's app; ``limits`` bound the work of one request."""
    app = FastAPI(title="jaxopt_lab explorer",
                  description="Convergence maps computed live by jl.sweep.",
                  version=jl.__version__)
    gate = _Gate(concurrency)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RequestError)
    async def bad_values(_: Request, error: RequestError):
        return JSONResponse({"detail": error.detail()}, status_code=422)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/catalogue", summary="surfaces, optimizers, defaults, ranges and limits")
    async def get_catalogue() -> dict:
        return catalogue(limits)

    @app.post("/api/map", summary="a convergence map: one byte per start and layer")
    async def post_map(body: MapRequest, request: Request):
        work = resolve(body, limits, body.resolution ** 2)
        def compute() -> dict:
            return _compute.encode_map(*_compute.sweep_map(work, body.resolution), work)

        return await gate.run(request, body.channel, compute)

    @app.post("/api/map.npz", summary="the map's SweepResult as an .npz file",
              response_class=Response)
    async def post_map_npz(body: MapRequest, request: Request):
        work = resolve(body, limits, body.resolution ** 2)
        return await gate.run(request, body.channel,
                              lambda: _compute.result_npz(work, body.resolution))

    @app.post("/api/trajectories", summary="paths and loss curves of chosen starts")
    async def post_trajectories(body: TrajectoryRequest, request: Request):
        work = resolve(body, limits, len(body.starts))
        return await gate.run(request, body.channel,
                              lambda: {"trajectories": _compute.trajectories(work, body.starts)})

    @app.post("/api/plane", summary="a plane of two hyperparameters: share converged, "
                                    "median steps, closed-form stability edge")
    async def post_plane(body: PlaneRequest, request: Request):
        work = resolve_plane(body, limits)
        return await gate.run(request, body.channel, lambda: _compute.plane(work, body))

    return app
