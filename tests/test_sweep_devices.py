"""Running a sweep on 3 or 4 forced host devices gives the results of one device, bit for bit."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Seconds for a fresh interpreter to import jax and compile two small sweeps on a busy box.
CHILD_TIMEOUT = 180

# 10 points over 4 devices: chunks are padded to a multiple of 4 and the padding dropped.
SCRIPT = textwrap.dedent("""
    import sys
    import jax, jax.numpy as jnp, numpy as np, optax
    import jaxopt_lab as jl
    jax.config.update("jax_enable_x64", True)

    def himmelblau(w):
        return (w[0] ** 2 + w[1] - 11.0) ** 2 + (w[0] + w[1] ** 2 - 7.0) ** 2

    surface = jl.Surface("himmelblau", himmelblau, 2, ((-5.0, 5.0), (-5.0, 5.0)),
                         minima=((3.0, 2.0),), escape_radius=50.0)
    starts = np.linspace(-6.0, 6.0, 20).reshape(10, 2)
    starts[4, 0] = np.nan
    result = jl.sweep(optax.sgd, surface, starts, 50,
                      hyperparams={"learning_rate": [0.01, 0.03]}, progress=False)
    chunked = jl.sweep(optax.adam(0.1), surface, starts, 50, progress=False,
                       engine=jl.Engine(chunk_size=8, layout="array"))
    coordinates = jl.sweep(optax.adam(0.1), surface, starts, 50, progress=False,
                           engine=jl.Engine(layout="coordinates"))
    # The fused backend (Pallas interpreter here) splits the points with shard_map.
    fused = jl.sweep(optax.sgd, surface, starts, 50, hyperparams={"learning_rate": [0.01, 0.03]},
                     progress=False, engine=jl.Engine(backend="fused"))
    # A chaotic surface, every step checked, more than one block: any rounding shows.
    ackley = jl.surfaces.get("ackley")
    chaotic = jl.sweep(jl.adam(0.05), ackley, jl.starts.uniform(jax.random.PRNGKey(3), ackley, 1500),
                       60, progress=False, engine=jl.Engine(check_every=1))
    # One learning rate per start, judged by a loss-curve rule: cut over devices with the starts.
    paired = jl.sweep(optax.sgd, surface, starts, 50,
                      hyperparams={"learning_rate": np.geomspace(0.001, 0.05, 10)},
                      hyperparams_per_point=True, progress=False,
                      divergence=jl.engine.mean_normalized_loss_rule())
    assert jax.device_count() == result.metadata["num_devices"], jax.device_count()
    np.savez(sys.argv[1], num_devices=jax.device_count(),
             **{f"grid_{k}": np.asarray(getattr(result, k)) for k in ("params", "status", "steps")},
             **{f"adam_{k}": np.asarray(getattr(chunked, k)) for k in ("params", "loss", "basin")},
             **{f"coordinates_{k}": np.asarray(getattr(coordinates, k))
                for k in ("params", "status", "steps", "basin")},
             **{f"ackley_{k}": np.asarray(getattr(chaotic, k))
                for k in ("params", "status", "steps", "basin")},
             **{f"fused_{k}": np.asarray(getattr(fused, k))
                for k in ("params", "status", "steps", "basin")},
             **{f"paired_{k}": np.asarray(getattr(paired, k))
                for k in ("params", "status", "steps", "basin")},
             paired_tail=np.asarray(paired.divergence_state.tail))
""")


def _run(path, num_devices):
    flags = f"--xla_force_host_platform_device_count={num_devices}"
    environment = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu",
                       PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=environment,
                               capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    assert completed.returncode == 0, completed.stderr[-3000:]
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("one") / "one.npz", 1)


@pytest.mark.parametrize("num_devices", [3, 4])
def test_more_devices_give_identical_results(tmp_path, num_devices, one_device):
    one = dict(one_device)
    more = _run(tmp_path / "more.npz", num_devices)
    assert (int(one.pop("num_devices")), int(more.pop("num_devices"))) == (1, num_devices)
    assert set(one) == set(more)
    for name in one:
        np.testing.assert_array_equal(more[name], one[name], err_msg=name)
