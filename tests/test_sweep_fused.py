"""The fused backend (one Pallas kernel per block of points), run in Pallas' interpreter on the
CPU, against the scan backend; and the lane evaluator it stands on (jaxopt_lab.engine._lanes)."""
import collections
import importlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _fused, _lanes, _scan
from jaxopt_lab import Status

#: Status and basin identical on at least 99.9 % of points. The two backends
#: run the same per-point program but XLA may contract a*b+c into a fused multiply-add in one
#: and not the other, so a point sitting exactly on a tolerance could flip.
MIN_AGREEMENT = 0.999
#: Final params on a convex quadratic, where both backends contract to the same minimum (float64
#: here, so the difference is far inside this bar).
CONVEX_PARAMS_ATOL = 1e-5
#: Final params after `SHORT_STEPS` steps, float64, relative: the same per-point program, so only
#: last-bit rounding may differ (a contracted multiply-add; a division by a block-wide value done
#: as a multiplication by its reciprocal). Over `NUM_STEPS` such differences can grow without
#: bound where the dynamics amplify them (RMSProp circling a Himmelblau minimum turns 1e-16 at
#: step 40 into 1e-2 at step 80), so long runs are compared by outcome.
PARAMS_RTOL = 1e-12
SHORT_STEPS = 5
#: The lane evaluator runs the same jaxpr as jax.vmap, element by element; only the order of a
#: sum over coordinates may differ (float64).
LANES_RTOL = 1e-12
#: A loose convergence radius, so that some points converge within a short test run.
XTOL = 1e-2
#: 2x2 eigen-decompositions in closed form against LAPACK (float64): the closed form's
#: λ = mean ∓ radius cancels for nearly equal eigenvalues, so compare the inverse to its scale.
EIGH_ATOL = 1e-12
#: Eigenvalues near 0 carry only absolute round-off, about eps·‖A‖ for these entries of at most
#: a few units: a relative tolerance alone would fail there.
EIGENVALUE_ATOL = 1e-14
#: A surface's value is exactly 0 at its minimum in both computations; this absolute floor only
#: lets a signed or subnormal zero pass, nothing of a size that matters.
ZERO_VALUE_ATOL = 1e-300
#: The tests of what auto does off a GPU, and with the CPU posing as one, only hold on a CPU;
#: on a GPU (`bash benchmarks/gpu_session.sh`) the rest of this file checks the compiled kernels.
ON_CPU = jax.default_backend() == "cpu"
cpu_only = pytest.mark.skipif(not ON_CPU, reason="describes auto's behaviour on a CPU")
NUM_POINTS = 96
NUM_STEPS = 80

CONVEX = jl.surfaces.rotated_quadratic((1.0, 10.0), 0.5)
SURFACES = {"himmelblau": jl.surfaces.get("himmelblau"),
            "rosenbrock": jl.surfaces.get("rosenbrock"),
            "rastrigin": jl.surfaces.get("rastrigin"),
            "convex": CONVEX}
OPTIMIZERS = {
    "sgd": jl.sgd(0.01),
    "momentum": jl.momentum(0.01, 0.9),
    "nesterov": jl.nesterov(0.01, 0.9),
    "adagrad": jl.adagrad(0.3),
    "adadelta": jl.adadelta(1.0),
    "rmsprop": jl.rmsprop(0.01),
    "adam": jl.adam(0.05),
    "adamw": jl.adamw(0.05),
    "optax.adam": optax.adam(0.05),
    "optax.nesterov": optax.sgd(0.01, momentum=0.9, nesterov=True),
    "rprop": jl.rprop(0.1, min_step_size=1e-12),
    "quickprop": jl.quickprop(0.01),
    # 2-D Newton-type steps: eigh of the 2x2 Hessian in closed form (jaxopt_lab.engine._lanes).
    "newton": jl.newton(1.0),
    "saddle-free newton": jl.newton(0.5, saddle_free=True),
    "levenberg-marquardt": jl.levenberg_marquardt(),
}
CASES = [
    ("sgd", "convex"), ("momentum", "convex"), ("adam", "convex"), ("rprop", "convex"),
    ("momentum", "himmelblau"), ("nesterov", "himmelblau"), ("adagrad", "himmelblau"),
    ("adadelta", "himmelblau"), ("rmsprop", "himmelblau"), ("adamw", "himmelblau"),
    ("optax.adam", "rosenbrock"), ("optax.nesterov", "rosenbrock"), ("quickprop", "himmelblau"),
    ("rprop", "rastrigin"), ("adam", "rastrigin"), ("newton", "himmelblau"),
    ("saddle-free newton", "himmelblau"), ("levenberg-marquardt", "rosenbrock"),
    ("newton", "convex"),
]


def _starts(surface, num_points=NUM_POINTS, seed=0):
    return jl.starts.uniform(jax.random.PRNGKey(seed), surface, num_points)


def _both(optimizer, surface, starts, num_steps=NUM_STEPS, check_every=None, **kwargs):
    scan = jl.sweep(optimizer, surface, starts, num_steps, progress=False, **kwargs,
                    engine=jl.Engine(backend="scan", check_every=check_every))
    fused = jl.sweep(optimizer, surface, starts, num_steps, progress=False, **kwargs,
                     engine=jl.Engine(backend="fused", check_every=check_every))
    return scan, fused


def _assert_agree(scan, fused, params_atol=None, params_rtol=0.0):
    """Outcomes agree; params too, to the tolerances unless atol is None."""
    assert fused.metadata["backend"] == "fused" and scan.metadata["backend"] == "scan"
    for name in ("status", "basin"):
        agreement = np.mean(np.asarray(getattr(scan, name)) == np.asarray(getattr(fused, name)))
        assert agreement >= MIN_AGREEMENT, (name, agreement)
    same = np.asarray(scan.status) == np.asarray(fused.status)
    np.testing.assert_array_equal(np.asarray(fused.steps)[same], np.asarray(scan.steps)[same])
    if params_atol is None:
        return
    finite = np.isfinite(np.asarray(scan.params)).all(axis=-1) & same
    np.testing.assert_allclose(np.asarray(fused.params)[finite], np.asarray(scan.params)[finite],
                               rtol=params_rtol, atol=params_atol)


@pytest.mark.parametrize("optimizer_name,surface_name", CASES,
                         ids=[f"{o}-{s}" for o, s in CASES])
def test_fused_agrees_with_scan(optimizer_name, surface_name):
    surface, optimizer = SURFACES[surface_name], OPTIMIZERS[optimizer_name]
    starts = _starts(surface)
    scan, fused = _both(optimizer, surface, starts)
    _assert_agree(scan, fused, CONVEX_PARAMS_ATOL if surface is CONVEX else None)
    # Relative to the point and to the starts' scale: a step that lands next to a minimum at 0
    # (Newton on a quadratic) leaves rounding of the size eps·|start| behind.
    scale = float(jnp.max(jnp.abs(starts)))
    _assert_agree(*_both(optimizer, surface, starts, SHORT_STEPS), PARAMS_RTOL * scale,
                  PARAMS_RTOL)


def test_outcomes_are_not_all_alike():
    """The table above exercises every outcome, not only "still running"."""
    seen = set()
    for optimizer_name, surface_name in CASES[:6]:
        surface = SURFACES[surface_name]
        fused = jl.sweep(OPTIMIZERS[optimizer_name], surface, _starts(surface), NUM_STEPS, progress=False, engine=jl.Engine(backend="fused"))
        seen |= set(np.asarray(fused.status).tolist())
    assert {Status.UNFINISHED, Status.CONVERGED} <= seen
    diverging = jl.sweep(jl.sgd(0.3), CONVEX, _starts(CONVEX), 20,
                         progress=False, engine=jl.Engine(backend="fused"))
    assert set(np.asarray(diverging.status).tolist()) == {Status.DIVERGED}


def test_hyperparameter_grid_and_divergence_match_scan():
    surface = SURFACES["himmelblau"]
    starts = np.array(_starts(surface, 40))
    starts[3] = np.nan  # DIVERGED at step 0 on both backends
    grid = {"learning_rate": np.array([0.001, 0.01, 0.05]), "momentum": np.array([0.5, 0.9, 0.99])}
    scan, fused = _both(jl.momentum, surface, starts, 60, hyperparams=grid)
    assert fused.status.shape == (3, 40) and fused.params.shape == (3, 40, 2)
    assert (np.asarray(fused.status)[:, 3] == Status.DIVERGED).all()
    assert (np.asarray(fused.steps)[:, 3] == 0).all()
    assert Status.DIVERGED in set(np.asarray(fused.status)[:, :3].ravel().tolist()) | set(
        np.asarray(fused.status)[:, 4:].ravel().tolist())
    _assert_agree(scan, fused)


def test_check_every_and_padding_follow_the_scan_rules():
    """steps is the first *check* step, as in the scan; 37 points pad a 64-point block."""
    surface = SURFACES["himmelblau"]
    starts = _starts(surface, 37, seed=1)
    for check_every in (1, 7):
        scan, fused = _both(jl.momentum(0.01, 0.9), surface, starts, 150, check_every=check_every,
                            xtol=XTOL)
        assert fused.status.shape == (37,)
        _assert_agree(scan, fused)
        converged = np.asarray(fused.status) == Status.CONVERGED
        assert converged.any()
        steps = np.asarray(fused.steps)[converged]
        assert ((steps % check_every == 0) | (steps == 150)).all()


def test_float32_agrees_with_scan():
    surface = SURFACES["himmelblau"]
    starts = np.array(_starts(surface), np.float32)
    scan, fused = _both(optax.adam(0.05), surface, starts, 100)
    assert fused.params.dtype == np.float32
    agreement = np.mean(np.asarray(scan.status) == np.asarray(fused.status))
    assert agreement >= MIN_AGREEMENT


def test_compiles_once_per_shape():
    traces = []

    def bowl(w):
        traces.append(1)  # runs only while jax traces
        return jnp.sum(w**2)

    surface = jl.Surface("counted_bowl", bowl, 2, ((-1.0, 1.0), (-1.0, 1.0)), minima=((0.0, 0.0),))
    starts, optimizer = _starts(surface, 16), optax.sgd(0.1)
    first = jl.sweep(optimizer, surface, starts, 30, progress=False, engine=jl.Engine(backend="fused"))
    count = len(traces)
    again = jl.sweep(optimizer, surface, starts + 0.1, 30, progress=False, engine=jl.Engine(backend="fused"))
    assert len(traces) == count and count > 0
    assert not np.array_equal(np.asarray(first.params), np.asarray(again.params))


@cpu_only
def test_auto_runs_scan_off_a_gpu_and_says_why():
    surface = SURFACES["convex"]
    result = jl.sweep(jl.sgd(0.1), surface, _starts(surface, 8), 10, progress=False)
    assert result.metadata["backend"] == "scan"
    assert "GPU" in result.metadata["backend_reason"]


def test_bad_backend_requests_are_refused_with_the_reason():
    surface = SURFACES["himmelblau"]
    starts = _starts(surface, 4)
    with pytest.raises(_lanes.NotElementwise, match="backend='fused'.*primitive 'while'"):
        jl.sweep(jl.bfgs(), surface, starts, 5, progress=False, engine=jl.Engine(backend="fused"))
    wide = jl.Surface("wide", lambda x: jnp.sum(x**2), 17, ((-1.0, 1.0),) * 17)
    with pytest.raises(ValueError, match="dim <= 16.*got dim 17"):
        jl.sweep(jl.sgd(0.1), wide, jnp.zeros((2, 17)), 5, progress=False, engine=jl.Engine(backend="fused"))
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'scan', 'fused'"):
        jl.sweep(jl.sgd(0.1), surface, starts, 5, progress=False, engine=jl.Engine(backend="pallas"))


@cpu_only
def test_auto_on_a_gpu_falls_back_to_scan_with_a_warning_saying_why(monkeypatch):
    """Pretend the CPU were a GPU: its Triton compile then fails, and auto must say so."""
    monkeypatch.setattr(importlib.import_module("jaxopt_lab.engine._api"), "FUSED_PLATFORMS", ("cpu",))
    surface = SURFACES["convex"]
    with pytest.warns(RuntimeWarning, match="fused kernel does not compile.*scan backend"):
        result = jl.sweep(jl.sgd(0.1), surface, _starts(surface, 8), 10, progress=False)
    assert result.metadata["backend"] == "scan"
    assert "does not compile" in result.metadata["backend_reason"]
    # Too wide for a fused kernel: auto does not even try (no warning), and says so.
    wide = jl.Surface("wide", lambda x: jnp.sum(x**2), 17, ((-1.0, 1.0),) * 17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = jl.sweep(jl.sgd(0.1), wide, jnp.ones((2, 17)), 5, progress=False)
    assert result.metadata["backend"] == "scan" and "dim 17" in result.metadata["backend_reason"]


@cpu_only
def test_auto_on_a_gpu_runs_the_compiled_fused_kernel_chunk_by_chunk(monkeypatch):
    """auto's GPU path end to end on the CPU: pretend the CPU compiles fused kernels and let it
    build interpreted ones; chunks (with a padded last one) and a grid go through the
    ahead-of-time executable and agree with the scan."""
    monkeypatch.setattr(importlib.import_module("jaxopt_lab.engine._api"), "FUSED_PLATFORMS", ("cpu",))
    build = _fused.get_kernel
    monkeypatch.setattr(_fused, "get_kernel",
                        lambda *args, **kwargs: build(*args, **{**kwargs, "interpret": True}))
    surface = SURFACES["himmelblau"]
    starts = _starts(surface, 50)
    grid = {"learning_rate": np.array([0.002, 0.01])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = jl.sweep(jl.sgd, surface, starts, 60, hyperparams=grid,
                        progress=False, engine=jl.Engine(chunk_size=16))
    assert auto.metadata["backend"] == "fused" and "compiles" in auto.metadata["backend_reason"]
    scan = jl.sweep(jl.sgd, surface, starts, 60, hyperparams=grid,
                    progress=False, engine=jl.Engine(backend="scan"))
    assert auto.status.shape == (2, 50)
    _assert_agree(scan, auto)


def test_compiled_kernel_is_cached_and_gives_the_kernel_results():
    surface = SURFACES["himmelblau"]
    starts = _starts(surface, 32)
    config = LOWERING_CONFIG._replace(num_steps=40, check_every=4)
    kernel = _fused.get_kernel(optax.adam(0.05), surface, config, interpret=True)
    shape = jax.ShapeDtypeStruct(starts.shape, starts.dtype)
    executable = _scan.compiled(kernel, shape, {})
    assert _scan.compiled(kernel, shape, {}) is executable
    for name, value in executable(starts, {}).items():
        np.testing.assert_array_equal(value, kernel(starts, {})[name], err_msg=name)


RECORDINGS = [(1, None), (7, None), (10, 3), (60, None)]  # (record_loss_every, check_every)


@pytest.mark.parametrize("every,check_every", RECORDINGS)
def test_loss_history_is_recorded_as_the_scan_records_it(every, check_every):
    surface, optimizer = SURFACES["himmelblau"], jl.momentum(0.01, 0.9)
    starts = _starts(surface, 40)
    kwargs = {"record_loss_every": every, "check_every": check_every}
    scan, fused = _both(optimizer, surface, starts, 60, **kwargs)
    _assert_agree(scan, fused)
    assert fused.loss_history.shape == scan.loss_history.shape == (40, 60 // every + 1)
    np.testing.assert_array_equal(fused.loss_steps, scan.loss_steps)
    # the first entry is the loss at the start (evaluated lane by lane), the last the final loss
    np.testing.assert_allclose(fused.loss_history[:, 0], jax.vmap(surface.fn)(starts),
                               rtol=LANES_RTOL)
    np.testing.assert_array_equal(fused.loss_history[:, -1], fused.loss)
    # and in between the scan's values, up to rounding, over a short run
    short_scan, short_fused = _both(optimizer, surface, starts, SHORT_STEPS,
                                    record_loss_every=1)
    np.testing.assert_allclose(short_fused.loss_history, short_scan.loss_history,
                               rtol=PARAMS_RTOL)


def test_loss_history_of_a_grid():
    surface = SURFACES["himmelblau"]
    grid = {"learning_rate": np.array([0.001, 0.02])}
    scan, fused = _both(jl.sgd, surface, _starts(surface, 24), 40, hyperparams=grid,
                        record_loss_every=5)
    assert fused.loss_history.shape == scan.loss_history.shape == (2, 24, 9)
    _assert_agree(scan, fused)


def test_a_fused_sweep_checkpoints_and_resumes(tmp_path):
    surface = SURFACES["himmelblau"]
    starts, optimizer = _starts(surface, 40), jl.momentum(0.01, 0.9)
    run = lambda: jl.sweep(optimizer, surface, starts, 50,
                           checkpoint=str(tmp_path), progress=False, engine=jl.Engine(backend="fused", chunk_size=16))
    first, again = run(), run()
    assert (first.metadata["chunks_loaded"], again.metadata["chunks_loaded"]) == (0, 3)
    for name in ("params", "status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name), err_msg=name)
    # The scan backend's sweep of the same starts is another sweep: its chunks may differ in
    # the last bit, so it does not resume from the fused one's directory.
    with pytest.raises(ValueError, match="holds a different sweep"):
        jl.sweep(optimizer, surface, starts, 50,
                 checkpoint=str(tmp_path), progress=False, engine=jl.Engine(backend="scan", chunk_size=16))


def test_trajectories_come_with_a_fused_sweep():
    surface = SURFACES["himmelblau"]
    starts = _starts(surface, 8)
    result = jl.sweep(jl.momentum(0.01, 0.9), surface, starts, 30,
                      trajectories=[0, 5], progress=False, engine=jl.Engine(backend="fused"))
    assert result.trajectories.shape == (2, 31, 2)
    np.testing.assert_allclose(result.trajectories[:, -1], np.asarray(result.params)[[0, 5]],
                               rtol=PARAMS_RTOL)


def test_block_points_is_a_power_of_two_no_larger_than_needed():
    assert [_fused.block_points_for(n) for n in (1, 3, 200, 256, 10**7)] == \
        [1, 4, 256, 256, _fused.BLOCK_POINTS]


# --- GPU lowering, checked without a GPU ---------------------------------------------------
# jax lowers for another platform on request (jax.export): the kernel goes through Pallas'
# Triton lowering rules here, so an operation Triton has no rule for fails on the CPU, long
# before the kernel runs on a GPU. (Compiling the Triton IR to PTX still needs the GPU.)
TRITON_CALL = [jax.export.DisabledSafetyCheck.custom_call("__gpu$xla.gpu.triton")]
LOWERING_CONFIG = _fused.KernelConfig(1000, 3e-4, 3e-4, 0.05, "array", 1, None, False, (),
                                           25)


def _lower_for_cuda(optimizer, surface, config=LOWERING_CONFIG, hyperparams=None):
    kernel = _fused.build(optimizer, surface, config, interpret=False)
    starts = jax.ShapeDtypeStruct((1024, surface.dim), jnp.float32)
    exported = jax.export.export(kernel, platforms=["cuda"], disabled_checks=TRITON_CALL)(
        starts, hyperparams or {})
    assert "__gpu$xla.gpu.triton" in exported.mlir_module()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fused_kernel_lowers_to_triton_for_every_elementwise_optimizer(name):
    _lower_for_cuda(OPTIMIZERS[name], SURFACES["rosenbrock"])


def test_fused_kernel_lowers_to_triton_on_every_surface_and_for_a_grid():
    for name in jl.surfaces.names():
        surface = jl.surfaces.get(name)
        if surface.dim <= 16:
            _lower_for_cuda(optax.adam(1e-3), surface)
    grid = {name: jax.ShapeDtypeStruct((64,), jnp.float32)
            for name in ("learning_rate", "momentum")}
    _lower_for_cuda(jl.momentum, SURFACES["himmelblau"],
                    LOWERING_CONFIG._replace(hyperparam_names=tuple(sorted(grid))), grid)
    # recording the loss: a row stored at a traced index
    _lower_for_cuda(optax.adam(1e-3), SURFACES["rosenbrock"],
                    LOWERING_CONFIG._replace(record_loss_every=10))


def _kernel_primitive_shapes(optimizer, surface, num_points=1024):
    """{primitive: Counter of output shapes} inside the fused kernel built for ``optimizer``."""
    kernel = _fused.build(optimizer, surface, LOWERING_CONFIG, interpret=False)
    closed = jax.make_jaxpr(kernel)(jax.ShapeDtypeStruct((num_points, surface.dim), jnp.float32),
                                    {})
    shapes = collections.defaultdict(collections.Counter)

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            for var in eqn.outvars:
                shapes[eqn.primitive.name][tuple(var.aval.shape)] += 1
            for value in eqn.params.values():
                for item in value if isinstance(value, (tuple, list)) else [value]:
                    inner = getattr(item, "jaxpr", item)
                    if hasattr(inner, "eqns"):
                        walk(inner)

    walk(closed.jaxpr)
    return shapes


@pytest.mark.parametrize("name", ["adam", "optax.adam"])
def test_adam_kernel_computes_bias_corrections_once_per_step(name):
    """β₁ᵗ and β₂ᵗ are block-wide scalars, and dividing by 1 − βᵗ is one reciprocal per step:
    the only division per lane and coordinate is the update's m̂ / (√v̂ + ε), once in a block's
    first step and once in its other steps."""
    surface = SURFACES["rosenbrock"]
    shapes = _kernel_primitive_shapes(OPTIMIZERS[name], surface)
    lanes = (_fused.BLOCK_POINTS,)
    assert set(shapes["pow"]) == {()}
    assert shapes["div"][lanes] == 2 * surface.dim


# --- the lane evaluator ------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in jl.surfaces.names() if jl.surfaces.get(n).dim <= 16])
def test_lanes_value_and_grad_equal_vmap_on_every_surface(name):
    surface = jl.surfaces.get(name)
    points = _starts(surface, 7, seed=3)
    want_value, want_grad = jax.vmap(jax.value_and_grad(surface.fn))(points)
    value, grad = _lanes.call(jax.value_and_grad(surface.fn), _lanes.Lanes.of(points.T))
    np.testing.assert_allclose(value.stacked(7), want_value, rtol=LANES_RTOL, atol=ZERO_VALUE_ATOL)
    np.testing.assert_allclose(grad.stacked(7).T, want_grad, rtol=LANES_RTOL,
                               atol=LANES_RTOL * float(jnp.max(jnp.abs(want_grad))))


def test_lanes_keep_what_all_points_share_as_one_scalar():
    """Adam's step counter and bias correction are computed once per block, not per point."""
    tx = optax.adam(0.1)
    points = jnp.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])

    def two_updates(params):
        state = tx.init(params)
        updates, state = tx.update(2 * params, state, params)
        updates, state = tx.update(2 * params, state, params)
        return updates, state

    updates, state = _lanes.call(two_updates, _lanes.Lanes.of(points.T))
    count = state[0].count
    assert count.shape == () and np.asarray(count.elements[()]).shape == ()
    assert int(count.elements[()]) == 2
    want_updates, _ = jax.vmap(two_updates)(points)
    np.testing.assert_allclose(updates.stacked(3).T, want_updates, rtol=LANES_RTOL)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_counters_stay_one_scalar_per_block(name):
    """Integer state (step counts) is the same for every point: it must not become lanes, so
    that what depends on it (bias corrections, schedules) is computed once per step."""
    tx = OPTIMIZERS[name]
    points = jnp.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])

    def two_updates(params):
        state = tx.init(params)
        for _ in range(2):
            kwargs = {}
            if isinstance(tx, optax.GradientTransformationExtraArgs):
                kwargs = {"value": jnp.sum(params**2), "grad": 2 * params,
                          "value_fn": lambda p: jnp.sum(p**2)}
            _, state = tx.update(2 * params, state, params, **kwargs)
        return state

    state = _lanes.call(two_updates, _lanes.Lanes.of(points.T))
    leaves = jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, _lanes.Lanes))
    integers = [leaf for leaf in leaves if np.issubdtype(leaf.dtype, np.integer)]
    for leaf in integers:
        for element in leaf.elements.reshape(-1):
            assert np.shape(element) == (), (name, leaf)


def test_lanes_eigh_of_2x2_matrices_matches_lapack():
    matrices = jax.random.normal(jax.random.PRNGKey(1), (40, 2, 2))
    matrices = matrices + jnp.swapaxes(matrices, 1, 2)
    # Ties and both orders of a diagonal: where the closed form's angle is decided by atan2(0, x).
    matrices = matrices.at[:3].set(jnp.array([jnp.diag(jnp.array(d)) for d in
                                             ([2.0, 2.0], [1.0, 3.0], [3.0, 1.0])]))

    def eigen_inverse(matrix):  # what Newton computes from eigh: sign-free
        values, vectors = jnp.linalg.eigh(matrix)
        return values, vectors @ jnp.diag(1 / values) @ vectors.T

    want_values, want_inverse = jax.vmap(eigen_inverse)(matrices)
    values, inverse = _lanes.call(eigen_inverse, _lanes.Lanes.of(matrices.transpose(1, 2, 0)))
    scale = float(jnp.max(jnp.abs(want_inverse)))
    np.testing.assert_allclose(values.stacked(40).T, want_values, rtol=LANES_RTOL,
                               atol=EIGENVALUE_ATOL)
    np.testing.assert_allclose(np.moveaxis(np.asarray(inverse.stacked(40)), -1, 0), want_inverse,
                               rtol=0, atol=EIGH_ATOL * scale)


def test_lanes_refuse_a_solve_naming_the_primitive():
    with pytest.raises(_lanes.NotElementwise, match="primitive"):
        _lanes.call(lambda x: jnp.linalg.solve(jnp.eye(2) + jnp.outer(x, x), x),
                       _lanes.Lanes.of(jnp.ones((2, 3))))
