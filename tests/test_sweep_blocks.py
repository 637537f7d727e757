"""jl.sweep runs every call on one fixed block of points (and of a grid's settings), so a
sweep's results are the same bit for bit whatever the chunk size, the batches run side by side
(the machine's cores) or the devices; blocks compile once and report failures instead of hanging.
"""
import concurrent.futures

import jax
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _chunks, _plan

FIELDS = ("params", "loss", "status", "steps", "basin", "loss_history", "divergence_state")
#: More than one 2-D block (1,024 points) and not a multiple of it: the last block is padded.
NUM_POINTS = 2500

CASES = {
    "sgd-himmelblau": (optax.sgd(0.01), "himmelblau", {}),
    "momentum-rosenbrock-recorded": (optax.sgd(2e-4, momentum=0.9), "rosenbrock",
                                     dict(record_loss_every=7)),
    "adam-grid-himmelblau": (optax.adam, "himmelblau",
                             dict(hyperparams={"learning_rate": [0.01, 0.1, 1.0]})),
    # 8 starts × 40 settings: blocks of 64 points (8 and padding) × 16 settings, 3 of them.
    "momentum-settings-long-canyon": (jl.momentum, "long_canyon", dict(hyperparams={
        "learning_rate": np.linspace(0.001, 0.05, 40), "momentum": np.linspace(0.0, 0.99, 40)})),
    "rprop-every-step-rastrigin": (jl.rprop(), "rastrigin", dict(engine=dict(check_every=1))),
    "adam-every-step-ackley": (jl.adam(0.05), "ackley", dict(engine=dict(check_every=1))),
    # 100-D: blocks of 64 points, and a value that sums 100 coordinates.
    "adam-100d-reduction": (optax.adam(0.01), "deep_learning_spectrum", {}),
    "newton-saddle": (jl.newton(), "saddle", {}),
    # One learning rate per start: cut into blocks and chunks with the starts.
    "sgd-per-point-himmelblau": (optax.sgd, "himmelblau", dict(
        hyperparams={"learning_rate": np.geomspace(1e-3, 0.1, NUM_POINTS)},
        hyperparams_per_point=True)),
    "momentum-per-point-rule-rastrigin": (jl.momentum, "rastrigin", dict(
        hyperparams={"learning_rate": np.geomspace(1e-3, 0.5, NUM_POINTS),
                     "momentum": np.linspace(0.0, 0.9, NUM_POINTS)},
        hyperparams_per_point=True, divergence=jl.engine.mean_normalized_loss_rule())),
}
#: Ways to run the same sweep: they may change speed, never a bit.
ENGINES = {
    "one-thread": dict(batches=1),
    "three-threads": dict(batches=3),
    "chunks-of-100": dict(chunk_size=100),
    "chunks-of-700-two-threads": dict(chunk_size=700, batches=2),
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


def _num_points(case: str, surface: jl.Surface) -> int:
    if case.startswith("momentum-settings"):
        return 8
    return 300 if surface.dim > 2 else NUM_POINTS


@pytest.mark.parametrize("variant", ENGINES)
@pytest.mark.parametrize("case", CASES)
def test_chunks_and_batches_change_no_bit(case, variant):
    optimizer, name, kwargs = CASES[case]
    surface = jl.surfaces.get(name)
    starts = _starts(surface, _num_points(case, surface))
    kwargs = dict(kwargs)
    tuning = kwargs.pop("engine", {})
    default = jl.sweep(optimizer, surface, starts, 40, progress=False, **kwargs,
                       engine=jl.Engine(**tuning))
    other = jl.sweep(optimizer, surface, starts, 40, progress=False, **kwargs,
                     engine=jl.Engine(**tuning, **ENGINES[variant]))
    assert (other.metadata["block_points"], other.metadata["block_configs"]) == \
        (default.metadata["block_points"], default.metadata["block_configs"])
    for field in FIELDS:
        if getattr(default, field) is not None:
            for mine, theirs in zip(jax.tree.leaves(getattr(other, field)),
                                    jax.tree.leaves(getattr(default, field)), strict=True):
                np.testing.assert_array_equal(mine, theirs, err_msg=field)


def test_batches_work_within_chunks_and_with_checkpoints(tmp_path):
    surface = jl.surfaces.get("himmelblau")
    starts = _starts(surface)
    one = jl.sweep(optax.adam(0.05), surface, starts, 30, progress=False, engine=jl.Engine(batches=1))
    for _ in range(2):  # the second run loads every chunk from the checkpoint
        split = jl.sweep(optax.adam(0.05), surface, starts, 30,
                         checkpoint=str(tmp_path), progress=False, engine=jl.Engine(chunk_size=1024, batches=2))
        for field in ("params", "loss", "status", "steps", "basin"):
            np.testing.assert_array_equal(getattr(split, field), getattr(one, field))
    assert split.metadata["chunks_loaded"] == 3
    # Another count of batches (another machine's cores) resumes the same checkpoint.
    resumed = jl.sweep(optax.adam(0.05), surface, starts, 30,
                       checkpoint=str(tmp_path), progress=False, engine=jl.Engine(chunk_size=1024, batches=1))
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


def test_default_batches_follow_the_cores_and_the_calls(monkeypatch):
    surface = jl.surfaces.get("himmelblau")
    starts = _starts(surface)  # 3 blocks of 1,024 points

    def batches() -> int:
        return jl.sweep(optax.sgd(0.01), surface, starts, 5, progress=False).metadata["batches"]

    monkeypatch.setattr(_plan, "cpu_workers", lambda: 2)
    assert batches() == 2  # one per core
    monkeypatch.setattr(_plan, "cpu_workers", lambda: 8)
    assert batches() == 3  # no more than the chunk's calls
    monkeypatch.setattr(_plan, "cpu_workers", lambda: 1)
    assert batches() == 1


def test_a_large_grid_over_few_starts_is_cut_into_blocks_of_settings():
    surface = jl.surfaces.get("himmelblau")
    rates = np.geomspace(1e-4, 0.05, 4096)
    result = jl.sweep(optax.sgd, surface, _starts(surface, 8), 40,
                      hyperparams={"learning_rate": rates}, progress=False)
    # 2,048 numbers a block: 64 points (8 and padding) × 2 coordinates × 16 settings.
    assert (result.metadata["block_points"], result.metadata["block_configs"]) == (64, 16)
    assert result.params.shape == (4096, 8, 2)
    alone = jl.sweep(optax.sgd(float(rates[1000])), surface, _starts(surface, 8), 40,
                     progress=False)
    np.testing.assert_array_equal(result.status[1000], alone.status)


@pytest.mark.parametrize("kwargs,match", [
    (dict(batches=0), r"batches must be an integer in \[1, inf\], got 0"),
    (dict(batches=2.0), "batches must be an integer"),
    (dict(batches=2, backend="fused"), "batches=2 runs a chunk's blocks side by side"),
])
def test_bad_batches_name_the_argument(kwargs, match):
    surface = jl.surfaces.get("himmelblau")
    with pytest.raises(ValueError, match=match):
        jl.sweep(optax.sgd(0.01), surface, _starts(surface), 5, progress=False,
                 engine=jl.Engine(**kwargs))


#: Points per catalogue sweep: two 2-D blocks and part of a third.
CATALOGUE_POINTS = 2100
#: Steps per catalogue sweep: enough for chaotic surfaces to amplify any last-bit difference.
CATALOGUE_STEPS = 30


def _catalogue_pairs() -> list[tuple[str, str]]:
    """Every surface with Adam, and every optimizer of the CLI on Ackley (chaotic)."""
    from jaxopt_lab.cli import OPTIMIZERS

    return ([("adam", name) for name in jl.surfaces.names()]
            + [(name, "ackley") for name in OPTIMIZERS if name != "adam"])


@pytest.mark.parametrize("optimizer_name,surface_name", _catalogue_pairs())
def test_every_catalogue_surface_and_optimizer_keeps_its_bits_in_any_chunking(
        optimizer_name, surface_name):
    from jaxopt_lab.cli import OPTIMIZERS

    factory, defaults = OPTIMIZERS[optimizer_name]
    surface = jl.surfaces.get(surface_name)
    settings = jl.surfaces.map_settings(surface, optimizer_name)
    optimizer = factory(**{**defaults, **settings.hyperparams})
    starts = _starts(surface, CATALOGUE_POINTS if surface.dim <= 2 else 200)
    default = jl.sweep(optimizer, surface, starts, CATALOGUE_STEPS, progress=False)
    other = jl.sweep(optimizer, surface, starts, CATALOGUE_STEPS, progress=False,
                     engine=jl.Engine(chunk_size=700, batches=3))
    for field in ("params", "loss", "status", "steps", "basin"):
        np.testing.assert_array_equal(getattr(other, field), getattr(default, field),
                                      err_msg=field)
