"""The explorer's JSON API through FastAPI's test client: results, theory, compilations, errors."""
from __future__ import annotations

import asyncio
import base64
import json

import jax
import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import jaxopt_lab as jl  # noqa: E402
from jaxopt_lab import explorer  # noqa: E402
from jaxopt_lab.explorer import _app, _catalogue, _resolve, _schedules  # noqa: E402

#: The smallest map the page offers: 64 × 64 starts, small enough for quick tests.
RESOLUTION = 64
#: Multiples of the closed-form stability edge on either side of it: far enough that a few
#: hundred steps settle every start (the slowest contraction at 0.9 × edge is ~0.95 per step).
STABLE_FRACTION, UNSTABLE_FRACTION = 0.9, 1.1
#: Steps for the theory table: at rate 0.95 per step, 2.8 → 3.5e-4 (float32 xtol) takes ~175.
THEORY_STEPS = 600
#: Limits of the test app: a 64 × 64 map, and 400 steps.
LIMITS = explorer.Limits(max_points=RESOLUTION ** 2, max_steps=THEORY_STEPS)


@pytest.fixture(scope="module")
def client():
    return TestClient(explorer.create_app(LIMITS))


def post_map(client, **settings):
    body = {"resolution": RESOLUTION, "steps": 50, **settings}
    response = client.post("/api/map", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def layer(payload, name):
    return np.frombuffer(base64.b64decode(payload["layers"][name]), dtype=np.uint8)


def test_catalogue_lists_every_2d_surface_and_every_jl_optimizer(client):
    catalogue = client.get("/api/catalogue").json()
    surfaces = {s["name"] for s in catalogue["surfaces"]}
    flat = {name for name in jl.surfaces.names() if jl.surfaces.get(name).dim == 2}
    assert surfaces == flat | {"quadratic"}
    optimizers = {o["name"] for o in catalogue["optimizers"]}
    jl_factories = {"sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam",
                    "adamw", "rprop", "quickprop", "newton", "levenberg_marquardt", "bfgs", "lbfgs"}
    assert jl_factories <= optimizers
    assert any(o["source"] == "optax" for o in catalogue["optimizers"])
    assert catalogue["limits"]["max_points"] == LIMITS.max_points


@pytest.mark.parametrize("name", list(_catalogue.OPTIMIZERS))
def test_every_slider_range_builds_the_optimizer(name):
    """Defaults (on every surface), lows and highs are all values the factory accepts."""
    entry = _catalogue.OPTIMIZERS[name]
    for surface in _catalogue.map_surface_names():
        defaults = _catalogue.default_hyperparams(surface, name)
        for spec in entry.hyperparameters:
            assert spec.low <= defaults[spec.name] <= spec.high, (surface, spec)
        entry.factory(**defaults)
    for end in ("low", "high"):
        entry.factory(**{spec.name: getattr(spec, end) for spec in entry.hyperparameters})


@pytest.mark.parametrize("schedule", list(_schedules.SCHEDULES))
def test_every_schedule_slider_range_builds_every_optimizer_that_takes_one(schedule):
    entry = _schedules.SCHEDULES[schedule]
    for optimizer in _catalogue.OPTIMIZERS.values():
        if not _schedules.takes_schedule(optimizer):
            continue
        factory = _schedules.factory(optimizer, schedule)
        assert factory is _schedules.factory(optimizer, schedule)  # one kernel cache entry
        for end in ("default", "low", "high"):
            values = {spec.name: getattr(spec, end)
                      for spec in optimizer.hyperparameters + entry.hyperparameters}
            factory(**values)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "newton", "levenberg_marquardt",
                                       "optax_lion"])
def test_map_layers_are_one_byte_per_start_and_agree_with_the_sweep(client, optimizer):
    payload = post_map(client, surface="himmelblau", optimizer=optimizer)
    status = layer(payload, "status")
    assert all(layer(payload, name).size == RESOLUTION ** 2 for name in payload["layers"])
    counts = payload["counts"]
    assert sum(counts.values()) == RESOLUTION ** 2
    assert counts["converged"] == int(np.sum(status == jl.Status.CONVERGED))
    hyperparams = {k: np.array([v], np.float32) for k, v in payload["hyperparams"].items()}
    grid = jl.starts.grid(jl.surfaces.get("himmelblau"), RESOLUTION)
    direct = jl.sweep(_catalogue.OPTIMIZERS[optimizer].factory, jl.surfaces.get("himmelblau"),
                      np.asarray(grid.points, np.float32), 50, hyperparams=hyperparams,
                      progress=False)
    np.testing.assert_array_equal(status, np.asarray(direct.status)[0])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
def test_quadratic_maps_follow_the_closed_form_stability_edge(client, optimizer):
    """Below the edge every start converges; above it every start diverges (theory as oracle)."""
    quadratic = {"eigenvalue_1": 5.0, "eigenvalue_2": 1.0, "angle": 0.0}
    settings = dict(surface="quadratic", surface_params=quadratic, optimizer=optimizer,
                    steps=THEORY_STEPS)
    if optimizer != "sgd":
        settings["hyperparams"] = {"momentum": 0.5}
    theory = post_map(client, **settings)["theory"]
    assert theory["kind"] == "exact" and theory["eigenvalues"] == pytest.approx([1.0, 5.0])
    edge = theory["marks"][-1]["value"]
    expected = {"sgd": 2 / 5, "momentum": 2 * 1.5 / 5, "nesterov": 2 * 1.5 / (2 * 5)}[optimizer]
    assert edge == pytest.approx(expected)
    for fraction, status in ((STABLE_FRACTION, "converged"), (UNSTABLE_FRACTION, "diverged")):
        hyperparams = {**settings.get("hyperparams", {}), "learning_rate": fraction * edge}
        payload = post_map(client, **{**settings, "hyperparams": hyperparams})
        assert payload["counts"][status] == RESOLUTION ** 2, (fraction, payload["counts"])


def test_divergence_everywhere_is_a_map_of_diverged(client):
    payload = post_map(client, surface="rosenbrock", optimizer="sgd",
                       hyperparams={"learning_rate": 2.0})
    assert payload["counts"]["diverged"] == RESOLUTION ** 2
    assert set(layer(payload, "loss").tolist()) <= {255} | set(range(255))


def test_changing_a_hyperparameter_value_never_recompiles(client):
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, _, **kw: compiles.append(event)
        if event == "/jax/core/compile/backend_compile_duration" else None)
    settings = dict(surface="booth", optimizer="momentum", steps=40)
    post_map(client, **settings, hyperparams={"learning_rate": 0.01})  # compiles once
    before = len(compiles)
    for learning_rate, momentum in ((0.02, 0.5), (0.05, 0.0), (0.3, 0.95)):
        post_map(client, **settings, hyperparams={"learning_rate": learning_rate,
                                                  "momentum": momentum})
    assert len(compiles) == before
    post_map(client, **{**settings, "steps": 41})  # the counter does see a new program
    assert len(compiles) > before


def test_a_schedule_changes_the_map_and_its_parameters_never_recompile(client):
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, _, **kw: compiles.append(event)
        if event == "/jax/core/compile/backend_compile_duration" else None)
    settings = dict(surface="himmelblau", optimizer="momentum", steps=60)
    constant = post_map(client, **settings)["counts"]
    decayed = post_map(client, **settings, schedule="exponential", hyperparams={"beta": 0.1})
    # η·e^(−0.1k) has all but vanished after 50 steps: fewer starts arrive in 60 steps.
    assert decayed["counts"]["converged"] < constant["converged"]
    before = len(compiles)
    for beta in (0.05, 0.01, 1e-4):
        post_map(client, **settings, schedule="exponential", hyperparams={"beta": beta})
    assert len(compiles) == before


def test_trajectories_start_where_asked_and_end_where_the_map_says(client):
    settings = dict(surface="himmelblau", optimizer="momentum", steps=200)
    body = {**settings, "starts": [[1.0, 1.0], [-4.0, 4.0]]}
    response = client.post("/api/trajectories", json=body)
    assert response.status_code == 200, response.text
    paths = response.json()["trajectories"]
    assert [p["start"] for p in paths] == body["starts"]
    surface = jl.surfaces.get("himmelblau")
    for path in paths:
        assert (path["x"][0], path["y"][0]) == tuple(path["start"])
        assert len(path["x"]) == len(path["loss"]) == 201
        if path["status"] == "converged":
            minimum = surface.minima[path["basin"]]
            assert np.hypot(path["x"][-1] - minimum[0], path["y"][-1] - minimum[1]) < 1e-2


def test_plane_shares_and_boundary(client):
    body = dict(surface="long_canyon", optimizer="momentum", steps=200, plane_resolution=8,
                start_resolution=4, x={"name": "learning_rate", "low": 0.01, "high": 1.0,
                                       "log": True},
                y={"name": "momentum", "low": 0.0, "high": 0.9})
    response = client.post("/api/plane", json=body)
    assert response.status_code == 200, response.text
    plane = response.json()
    share = layer(plane, "converged_share").reshape(8, 8)
    boundary = np.asarray(plane["boundary"])
    np.testing.assert_allclose(boundary[:, 0], 2 * (1 + boundary[:, 1]) / 5.0)
    # Past the edge (learning rate 1 > 2(1 + β)/5 for every β < 1.5) only the 4 of 16 starts on
    # the anti-diagonal, with no component along the stiff direction [1, 1], may converge.
    assert np.all(share[:, -1] <= round(254 * 4 / 16))
    assert share.max() == 254


def test_npz_download_is_the_sweep_result(client):
    body = {"surface": "booth", "optimizer": "sgd", "steps": 40, "resolution": RESOLUTION}
    payload = post_map(client, **body)
    response = client.post("/api/map.npz", json=body)
    assert response.status_code == 200
    with open_npz(response.content) as result:
        np.testing.assert_array_equal(result.status[0], layer(payload, "status"))
        assert result.metadata["explorer"]["optimizer"] == "sgd"


class open_npz:
    def __init__(self, content: bytes):
        import tempfile
        self._directory = tempfile.TemporaryDirectory()
        self._path = f"{self._directory.name}/map.npz"
        with open(self._path, "wb") as file:
            file.write(content)

    def __enter__(self):
        return jl.SweepResult.load(self._path)

    def __exit__(self, *exc):
        self._directory.cleanup()


BASE = {"surface": "booth", "optimizer": "sgd", "steps": 20, "resolution": RESOLUTION}
BAD_REQUESTS = [
    ("/api/map", {"surface": "nope"}, ["body", "surface"], "surface must be one of"),
    ("/api/map", {"surface": "deep_learning_spectrum"}, ["body", "surface"], "must be one of"),
    ("/api/map", {"optimizer": "__import__('os')"}, ["body", "optimizer"],
     "optimizer must be one of"),
    ("/api/map", {"hyperparams": {"momentum": 0.9}}, ["body", "hyperparams", "momentum"],
     "sgd has no hyperparameter 'momentum'"),
    ("/api/map", {"hyperparams": {"learning_rate": 50.0}}, ["body", "hyperparams", "learning_rate"],
     "learning_rate must be in [1e-05, 2], got 50"),
    ("/api/map", {"hyperparams": {"learning_rate": -1.0}}, ["body", "hyperparams", "learning_rate"],
     "must be in"),
    ("/api/map", {"steps": LIMITS.max_steps + 1}, ["body", "steps"], "--max-steps"),
    ("/api/map", {"steps": 0}, ["body", "steps"], "greater than or equal to 1"),
    ("/api/map", {"resolution": 128}, ["body", "resolution"], "--max-points"),
    ("/api/map", {"resolution": 1024}, ["body", "resolution"], "less than or equal to 512"),
    ("/api/map", {"resolution": 8}, ["body", "resolution"], "greater than or equal to 64"),
    ("/api/map", {"dtype": "float16"}, ["body", "dtype"], "float32"),
    ("/api/map", {"extra": 1}, ["body", "extra"], "Extra inputs are not permitted"),
    ("/api/map", {"surface_params": {"angle": 1.0}}, ["body", "surface_params"], "takes no"),
    ("/api/map", {"surface": "quadratic", "surface_params": {"eigenvalue_1": 0.0}},
     ["body", "surface_params", "eigenvalue_1"], "eigenvalue_1 must be in"),
    ("/api/map", {"surface": "quadratic", "surface_params": {"shear": 1.0}},
     ["body", "surface_params", "shear"], "unknown quadratic parameter"),
    ("/api/map", {"channel": "a b/c"}, ["body", "channel"], "pattern"),
    ("/api/map", {"schedule": "cosine"}, ["body", "schedule"], "schedule must be one of"),
    ("/api/map", {"optimizer": "rprop", "schedule": "exponential"}, ["body", "schedule"],
     "rprop takes no learning-rate schedule"),
    ("/api/map", {"hyperparams": {"beta": 0.1}}, ["body", "hyperparams", "beta"],
     "sgd has no hyperparameter 'beta'"),
    ("/api/map", {"schedule": "exponential", "hyperparams": {"beta": 5.0}},
     ["body", "hyperparams", "beta"], "beta must be in"),
    ("/api/trajectories", {"starts": [[0.0, 0.0]] * 9}, ["body", "starts"], "at most 8"),
    ("/api/trajectories", {"starts": [[0.0, 0.0, 0.0]]}, ["body", "starts", 0], "at most 2"),
    ("/api/plane", {"optimizer": "momentum", "x": {"name": "learning_rate", "low": 0.01, "high": 1},
                    "y": {"name": "learning_rate", "low": 0.01, "high": 1}},
     ["body", "y", "name"], "two different"),
    ("/api/plane", {"optimizer": "momentum", "x": {"name": "learning_rate", "low": 0.01, "high": 9},
                    "y": {"name": "momentum", "low": 0, "high": 0.9}},
     ["body", "x", "high"], "x.high must be in"),
    ("/api/plane", {"optimizer": "momentum", "x": {"name": "eval", "low": 0.01, "high": 1},
                    "y": {"name": "momentum", "low": 0, "high": 0.9}},
     ["body", "x", "name"], "no hyperparameter 'eval'"),
    ("/api/plane", {"optimizer": "momentum", "plane_resolution": 64, "start_resolution": 32,
                    "x": {"name": "learning_rate", "low": 0.01, "high": 1},
                    "y": {"name": "momentum", "low": 0, "high": 0.9}},
     ["body", "plane_resolution"], "--max-points"),
]


@pytest.mark.parametrize("path, change, loc, message", BAD_REQUESTS,
                         ids=[f"{path}:{'/'.join(map(str, loc[1:]))}"
                              for path, _, loc, _ in BAD_REQUESTS])
def test_bad_input_is_422_naming_the_field(client, path, change, loc, message):
    body = {**BASE, **change}
    if path != "/api/map":
        body.pop("resolution")
        body.setdefault("starts", [[0.0, 0.0]]) if path == "/api/trajectories" else None
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    details = response.json()["detail"]
    assert any(d["loc"][:len(loc)] == loc and message in d["msg"] for d in details), details


class _Request:
    def __init__(self, gone: bool = False):
        self.gone = gone

    async def is_disconnected(self) -> bool:
        return self.gone


def test_newer_request_on_a_channel_supersedes_a_waiting_one():
    gate = _app._Gate(concurrency=1)
    ran = []

    async def scenario():
        release = asyncio.Event()

        def first():
            ran.append("first")
            return "first"

        async def blocker():
            async with gate._slots:
                await release.wait()

        gate._slots = asyncio.Semaphore(1)
        holder = asyncio.create_task(blocker())
        await asyncio.sleep(0)
        older = asyncio.create_task(gate.run(_Request(), "page", first))
        await asyncio.sleep(0)
        newer = asyncio.create_task(gate.run(_Request(), "page", lambda: ran.append("newer")
                                             or "newer"))
        other = asyncio.create_task(gate.run(_Request(), "other", lambda: "other"))
        gone = asyncio.create_task(gate.run(_Request(gone=True), None, lambda: ran.append("gone")))
        await asyncio.sleep(0)
        release.set()
        await holder
        return await asyncio.gather(older, newer, other, gone)

    older, newer, other, gone = asyncio.run(scenario())
    assert older.status_code == 409
    assert json.loads(newer.body) == "newer" and json.loads(other.body) == "other"
    assert gone.status_code == _app.CLIENT_GONE
    assert ran == ["newer"]  # neither the superseded nor the abandoned request did any work


def test_float64_is_offered_exactly_where_jax_has_it(client, monkeypatch):
    assert client.get("/api/catalogue").json()["dtypes"] == ["float32", "float64"]  # x64 tests
    monkeypatch.setattr(_resolve, "available_dtypes", lambda: ("float32",))  # as without x64
    response = client.post("/api/map", json={**BASE, "dtype": "float64"})
    assert response.status_code == 422
    assert "JAX_ENABLE_X64" in response.json()["detail"][0]["msg"]


def test_openapi_describes_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/catalogue", "/api/map", "/api/map.npz", "/api/trajectories",
            "/api/plane"} <= set(paths)
    assert "MapRequest" in str(paths["/api/map"]["post"]["requestBody"])
