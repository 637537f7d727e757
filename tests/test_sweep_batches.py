"""jl.sweep's batches on a CPU: a chunk cut into batches run side by side (of points, or of a
grid's settings) gives the results of one call (bit for bit up to 8 coordinates, in float64),
compiles once, and reports failures instead of hanging."""
import concurrent.futures

import jax
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _chunks, _plan

FIELDS = ("params", "loss", "status", "steps", "basin", "loss_history")
#: A 100-D quadratic's value is a reduction over the coordinates; XLA's CPU loop computes the
#: last few points of a call in its scalar tail and the others in vector lanes, which round the
#: sum differently in the last bits (points 296-299 of 300 moved by 1e-13 relative). Surfaces of
#: up to 8 coordinates have their sums written out term by term: bit-identical.
REDUCTION_RTOL = 1e-12
#: Not a multiple of the batch alignment (64): the last batch is padded and cut (2 batches of
#: 192 points, or 3 of 128).
NUM_POINTS = 300

CASES = {
    "sgd-himmelblau": (optax.sgd(0.01), "himmelblau", {}),
    "momentum-rosenbrock-recorded": (optax.sgd(2e-4, momentum=0.9), "rosenbrock",
                                     dict(record_loss_every=7)),
    "adam-grid-himmelblau": (optax.adam, "himmelblau",
                             dict(hyperparams={"learning_rate": [0.01, 0.1, 1.0]})),
    # 8 starts × 40 settings: too few points for a batch each, so the settings are split.
    "momentum-settings-long-canyon": (jl.momentum, "long_canyon", dict(hyperparams={
        "learning_rate": np.linspace(0.001, 0.05, 40), "momentum": np.linspace(0.0, 0.99, 40)})),
    "rprop-every-step-rastrigin": (jl.rprop(), "rastrigin", dict(engine=dict(check_every=1))),
    "adam-100d-reduction": (optax.adam(0.01), "deep_learning_spectrum", {}),
    "newton-saddle": (jl.newton(), "saddle", {}),
}


def _starts(surface: jl.Surface, num_points: int = NUM_POINTS) -> np.ndarray:
    starts = np.array(jl.starts.uniform(jax.random.PRNGKey(0), surface, num_points))
    starts[5] = np.nan  # a failure in the middle of a batch: DIVERGED at step 0
    return starts


def counting_surface(traces: list) -> jl.Surface:
    """A fresh 2-D bowl (its own kernels) that appends to ``traces`` whenever jax traces it,
    i.e. whenever a kernel on it is compiled."""
    def counted(w):
        traces.append(1)
        return (w[0] - 1.0) ** 2 + 3.0 * w[1] ** 2

    return jl.Surface("counted", counted, 2, ((-2.0, 2.0), (-2.0, 2.0)))


@pytest.mark.parametrize("batches", [2, 3])
@pytest.mark.parametrize("case", CASES)
def test_batches_give_the_results_of_one_call(case, batches):
    optimizer, name, kwargs = CASES[case]
    surface = jl.surfaces.get(name)
    settings = case.startswith("momentum-settings")
    starts = _starts(surface, 8 if settings else NUM_POINTS)
    kwargs = dict(kwargs)
    tuning = kwargs.pop("engine", {})
    one = jl.sweep(optimizer, surface, starts, 40, progress=False, **kwargs,
                   engine=jl.Engine(batches=1, **tuning))
    split = jl.sweep(optimizer, surface, starts, 40, progress=False, **kwargs,
                     engine=jl.Engine(batches=batches, **tuning))
    assert split.metadata["batches"] == batches and one.metadata["batches"] == 1
    assert split.metadata["batch_axis"] == ("configs" if settings else "points")
    for field in FIELDS:
        if getattr(one, field) is None:
            continue
        if case.endswith("reduction"):
            np.testing.assert_allclose(getattr(split, field), getattr(one, field),
                                       rtol=REDUCTION_RTOL, atol=0, err_msg=field)
        else:
            np.testing.assert_array_equal(getattr(split, field), getattr(one, field),
                                          err_msg=field)


def test_batches_work_within_chunks_and_with_checkpoints(tmp_path):
    surface = jl.surfaces.get("himmelblau")
    starts = _starts(surface)
    one = jl.sweep(optax.adam(0.05), surface, starts, 30, progress=False, engine=jl.Engine(batches=1))
    for _ in range(2):  # the second run loads every chunk from the checkpoint
        split = jl.sweep(optax.adam(0.05), surface, starts, 30,
                         checkpoint=str(tmp_path), progress=False, engine=jl.Engine(chunk_size=128, batches=2))
        for field in ("params", "loss", "status", "steps", "basin"):
            np.testing.assert_array_equal(getattr(split, field), getattr(one, field))
    assert split.metadata["chunks_loaded"] == 3
    # Another count of batches (another machine's cores) resumes the same checkpoint.
    resumed = jl.sweep(optax.adam(0.05), surface, starts, 30,
                       checkpoint=str(tmp_path), progress=False, engine=jl.Engine(chunk_size=128, batches=1))
    assert resumed.metadata["chunks_loaded"] == 3


def test_batches_compile_once_however_many_threads_run_them():
    starts = jl.starts.uniform(jax.random.PRNGKey(1), ((-2.0, 2.0), (-2.0, 2.0)), NUM_POINTS)
    optimizer = optax.sgd(0.1)  # one object: kernels are cached per optimizer
    one_call, batched = [], []
    jl.sweep(optimizer, counting_surface(one_call), starts, 5, progress=False, engine=jl.Engine(batches=1))
    surface = counting_surface(batched)
    jl.sweep(optimizer, surface, starts, 5, progress=False, engine=jl.Engine(batches=3))
    assert len(batched) == len(one_call) > 0  # one trace, not one per thread or batch
    jl.sweep(optimizer, surface, starts + 0.5, 5, progress=False, engine=jl.Engine(batches=3))
    assert len(batched) == len(one_call)


def test_sweeps_from_several_threads_compile_once_and_agree():
    starts = jl.starts.uniform(jax.random.PRNGKey(2), ((-2.0, 2.0), (-2.0, 2.0)), NUM_POINTS)
    optimizer = optax.sgd(0.1)
    alone, together = [], []
    single = jl.sweep(optimizer, counting_surface(alone), starts, 5, progress=False, engine=jl.Engine(batches=3))
    surface = counting_surface(together)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(
            lambda _: jl.sweep(optimizer, surface, starts, 5, progress=False, engine=jl.Engine(batches=3)),
            range(3)))
    assert len(together) == len(alone) > 0  # three threads, one compile
    for result in results:
        np.testing.assert_array_equal(result.params, single.params)


def test_a_failing_batch_raises_and_the_next_sweep_runs(monkeypatch):
    surface = jl.surfaces.get("himmelblau")
    starts = _starts(surface)

    def broken(kernel, shape, hyperparams):
        def run(part, hyperparams):
            raise RuntimeError("batch failed")
        return run

    monkeypatch.setattr(_chunks, "compiled", broken)
    with pytest.raises(RuntimeError, match="batch failed"):
        jl.sweep(optax.sgd(0.01), surface, starts, 10, progress=False, engine=jl.Engine(batches=4))
    monkeypatch.undo()
    result = jl.sweep(optax.sgd(0.01), surface, starts, 10, progress=False, engine=jl.Engine(batches=4))
    assert result.params.shape == (NUM_POINTS, 2)


def test_default_batches_follow_the_cores_and_the_work(monkeypatch):
    surface = jl.surfaces.get("himmelblau")
    starts = _starts(surface)

    def batches(num_steps: int) -> int:
        return jl.sweep(optax.sgd(0.01), surface, starts, num_steps,
                        progress=False).metadata["batches"]

    monkeypatch.setattr(_plan, "cpu_workers", lambda: 3)
    assert batches(5) == 1  # 1,500 point-steps: not worth a dispatch per batch
    monkeypatch.setattr(_plan, "MIN_BATCHED_WORK", NUM_POINTS * 2 * 5)
    assert batches(5) == 3  # one batch per core
    monkeypatch.setattr(_plan, "cpu_workers", lambda: 1)
    assert batches(5) == 1


def test_a_large_grid_over_few_starts_is_split_by_settings(monkeypatch):
    surface = jl.surfaces.get("himmelblau")
    monkeypatch.setattr(_plan, "cpu_workers", lambda: 2)
    rates = np.geomspace(1e-4, 0.05, 4096)  # 8 × 4,096 × 2 numbers: 4 batches of 16,384
    result = jl.sweep(optax.sgd, surface, _starts(surface, 8), 400,
                      hyperparams={"learning_rate": rates}, progress=False)
    assert (result.metadata["batches"], result.metadata["batch_axis"]) == (4, "configs")
    assert result.params.shape == (4096, 8, 2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(batches=0), r"batches must be an integer in \[1, inf\], got 0"),
    (dict(batches=2.0), "batches must be an integer"),
    (dict(batches=2, backend="fused"), "batches=2 splits chunks for the scan backend"),
])
def test_bad_batches_name_the_argument(kwargs, match):
    surface = jl.surfaces.get("himmelblau")
    with pytest.raises(ValueError, match=match):
        jl.sweep(optax.sgd(0.01), surface, _starts(surface), 5, progress=False,
                 engine=jl.Engine(**kwargs))
