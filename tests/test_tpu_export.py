"""TPU readiness without a TPU: the scan kernel `jl.sweep` compiles for a chunk lowers for TPU.

``jax.export`` lowers a jitted function for a platform this machine does not have, so a
lowering error a TPU user's first sweep would meet (an op without a TPU lowering, a dtype the
TPU refuses) shows here. The kernel is the one `jl.sweep` builds (`jaxopt_lab.engine._scan`),
configured as a sweep on a TPU would configure it (coordinates layout where the optimizer takes
it, unroll 8); chunking is left out, since every chunk is a call of this kernel.
"""
from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.engine import _api, _plan
from jaxopt_lab.engine._inspect import check_optimizer, optimizer_facts
from jaxopt_lab.engine._program import KernelConfig
from jaxopt_lab.engine._scan import get_kernel

#: Points of the exported chunk: any size lowers alike; small keeps the lowering quick.
CHUNK_POINTS = 64
NUM_STEPS = 200
CHECK_EVERY = 10
LEARNING_RATES = (1e-3, 1e-2, 1e-1)

CASES = {  # family: (optimizer, hyperparams or None, surface name)
    "first-order": (lambda: jl.momentum(0.01, 0.9), None, "himmelblau"),
    "adaptive": (lambda: jl.adam(0.01), None, "rosenbrock"),
    "sign-based": (lambda: jl.rprop(0.01), None, "beale"),
    "second-order (extra args)": (lambda: jl.newton(0.5, damping=1e-3), None, "himmelblau"),
    "quasi-Newton (extra args)": (lambda: jl.bfgs(), None, "rosenbrock"),
    "hyperparameter grid": (lambda: optax.adam, {"learning_rate": LEARNING_RATES}, "rastrigin"),
}


def _tpu_kernel(optimizer, hyperparams, surface: jl.Surface, dtype):
    """The kernel and its argument shapes, as `jl.sweep` would configure them on a TPU."""
    probe, hyperparams = check_optimizer(optimizer, hyperparams)
    names = tuple(hyperparams)
    facts = optimizer_facts(optimizer, probe, names, surface.dim, jnp.dtype(dtype))
    layout = _plan.choose_layout("tpu", CHECK_EVERY, surface.dim)
    if not facts.takes_coordinates:
        layout = "array"
    config = KernelConfig(NUM_STEPS, 1e-8, 1e-8, 1e-2, layout, _plan.choose_unroll("tpu"),
                          NUM_STEPS // 4, False, names, CHECK_EVERY)
    starts = jax.ShapeDtypeStruct((CHUNK_POINTS, surface.dim), dtype)
    shapes = {name: jax.ShapeDtypeStruct((len(values),), dtype)
              for name, values in hyperparams.items()}
    return get_kernel(optimizer, surface, config), starts, shapes, layout


#: TPUs compute in float32 (float64 is emulated and rarely wanted there).
DTYPE = "float32"


@pytest.mark.parametrize("family", list(CASES))
def test_the_scan_kernel_lowers_for_tpu(family):
    make, hyperparams, surface_name = CASES[family]
    surface = jl.surfaces.get(surface_name)
    kernel, starts, shapes, layout = _tpu_kernel(make(), hyperparams, surface, DTYPE)
    exported = jax.export.export(kernel, platforms=["tpu"])(starts, shapes)
    assert exported.platforms == ("tpu",)
    outputs = jax.tree.unflatten(exported.out_tree, exported.out_avals)
    leading = (len(LEARNING_RATES),) if hyperparams else ()
    assert outputs["status"].shape == leading + (CHUNK_POINTS,)
    assert outputs["params"].shape == leading + (CHUNK_POINTS, surface.dim)
    assert layout in ("array", "coordinates")


def test_auto_on_a_tpu_runs_the_scan_and_says_why():
    surface = jl.surfaces.get("himmelblau")
    config = KernelConfig(10, 1e-8, 1e-8, 1e-2, "coordinates", 8, None, False, (), 1)
    tpu_plan = types.SimpleNamespace(platform="tpu", backend="auto", blocks_per_device=True,
                                     per_point_hyperparams=False, divergence=None,
                                     kernel_config=lambda **_: config)
    sharding = types.SimpleNamespace(mesh=None)
    chunk = jax.ShapeDtypeStruct((8, 2), jnp.float32)
    kernel, backend, why = _api._select_kernel(tpu_plan, optax.sgd(0.1), surface, sharding,
                                               chunk, {})
    assert backend == "scan" and "TPU" in why
    assert callable(kernel)
