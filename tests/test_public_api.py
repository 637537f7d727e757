"""The package's public surface: `__all__` is the contract the tests, notebooks and CLI share."""
import collections

import optax
import pytest

import jaxopt_lab as jl

OPTIMIZER_FACTORIES = [
    "sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw",
    "rprop", "quickprop", "newton", "levenberg_marquardt", "bfgs", "lbfgs",
]


def test_all_has_no_duplicates():
    counts = collections.Counter(jl.__all__)
    assert [name for name, count in counts.items() if count > 1] == []


@pytest.mark.parametrize("name", jl.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(jl, name) is not None


def test_design_optimizers_are_exported():
    assert set(OPTIMIZER_FACTORIES) <= set(jl.__all__)


def test_version_matches_package_metadata():
    from importlib import metadata

    assert jl.__version__ == metadata.version("jaxopt_lab")


@pytest.mark.parametrize("name", OPTIMIZER_FACTORIES)
def test_optimizers_build_optax_transformations(name):
    factory = getattr(jl, name)
    tx = factory(0.1) if name not in ("levenberg_marquardt",) else factory()
    assert isinstance(tx, optax.GradientTransformation)


def test_engine_is_a_package_with_only_its_public_names():
    import jaxopt_lab.engine as engine

    assert engine is jl.engine and jl.Engine is engine.Engine and jl.sweep is engine.sweep
    assert set(engine.__all__) == {"CheckpointError", "DistributedSweepError", "DivergenceRule",
                                   "Engine", "EngineOptionError", "MeanNormalizedLossState",
                                   "NotElementwise", "Status", "SweepResult",
                                   "mean_normalized_loss_rule", "sweep"}
    assert all(getattr(engine, name) is not None for name in engine.__all__)


def test_engine_options_are_frozen_and_keep_their_devices_as_a_tuple():
    import dataclasses

    import jax

    options = jl.Engine(devices=jax.local_devices(), chunk_size=4096)
    assert options.devices == tuple(jax.local_devices())
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.chunk_size = 1  # type: ignore[misc]
