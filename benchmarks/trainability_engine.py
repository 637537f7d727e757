"""A trainability picture three ways: the direct vmap, a hand-made `jl.sweep`, the engine-based map.

(a) ``direct``: the vmap of the single runs over the grid (`jl.problems.trainability_map`'s
    path for minibatches; one ``lax.scan`` per cell, the whole grid one call);
(b) ``hand-made sweep``: what a user had to write before the engine took per-point
    hyperparameters and divergence rules: the two learning rates smuggled into each point as
    two extra coordinates (zero gradient), read back by a custom transformation, judged by the
    sweep's own DIVERGED (a non-finite loss, gradient or point), not by the paper's rule;
(c) ``engine map``: `jl.problems.trainability_map`, one `jl.sweep` with per-point learning
    rates (`jl.layerwise_sgd`) and the paper's rule (`jl.engine.mean_normalized_loss_rule`).

Same network, data, start, log-spaced grid (notebook 12's window) and steps, in one process;
the variants take turns, round after round, after a first (compiling) call each. Reported:
median wall and CPU seconds of a whole picture, the ratios (b)/(c) and (a)/(c) (above 1: the
engine map is faster), and the share of cells each labels as (a) does.

    PYTHONPATH=. python benchmarks/trainability_engine.py
    PYTHONPATH=. python benchmarks/trainability_engine.py --widths 16 --resolutions 128 --steps 500
"""
from __future__ import annotations


import jax

jax.config.update("jax_enable_x64", True)  # float64 grids as the paper; float32 runs cast

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import jaxopt_lab as jl  # noqa: E402
from _trainability_cases import run_cases  # noqa: E402
from jaxopt_lab.bench import timed  # noqa: E402

WINDOW = (-1.0, 6.0, 0.5, 2.5)  # log10 (input lr min, max, output lr min, max), as notebook 12


def _grid(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    x_values, y_values = np.meshgrid(np.logspace(*WINDOW[:2], resolution),
                                     np.logspace(*WINDOW[2:], resolution))
    return x_values.ravel(), y_values.ravel()


def hand_made_sweep(problem, params, resolution: int, num_steps: int):
    """(b): the learning rates as the last two coordinates of every point."""
    start, unravel = ravel_pytree(params)
    dim = start.size
    first_layer = jnp.arange(dim) < params["input"].size

    def fn(point):
        return problem.loss(unravel(point[:dim]))

    def update(grad, state, point):
        rates = jnp.where(first_layer, point[dim], point[dim + 1])
        return jnp.concatenate([-(rates * grad[:dim]), jnp.zeros(2, grad.dtype)]), state

    surface = jl.Surface("smuggled", fn, dim + 2, ((-1.0, 1.0),) * (dim + 2))
    optimizer = optax.GradientTransformation(lambda point: optax.EmptyState(), update)
    x_values, y_values = _grid(resolution)
    starts = jnp.concatenate([jnp.broadcast_to(start, (x_values.size, dim)),
                              jnp.stack([x_values, y_values], axis=1).astype(start.dtype)],
                             axis=1)

    def run():
        result = jl.sweep(optimizer, surface, starts, num_steps, progress=False)
        return np.asarray(result.status) == jl.Status.DIVERGED

    return run


def case(width: int, resolution: int, num_steps: int, dtype, rounds: int) -> dict:
    key = jax.random.PRNGKey(0)
    problem = jl.problems.trainability_network(key, width, dtype=dtype)
    params = problem.init(jax.random.split(key)[1])
    x_values, y_values = _grid(resolution)

    def direct():
        result = jl.problems._direct_map(
            problem, params, x_values, y_values, plane="learning_rates", num_steps=num_steps,
            minibatch_size=None, minibatch_key=None, offset_every_step=False, chunk_size=None)
        return np.asarray(result.diverged)

    def engine_map():
        result = jl.problems.trainability_map(problem, params, WINDOW, resolution,
                                              num_steps=num_steps)
        return np.asarray(result.diverged).ravel()

    variants = {"direct": direct, "hand-made sweep": hand_made_sweep(problem, params, resolution,
                                                                    num_steps),
                "engine map": engine_map}
    timings = timed(variants, rounds)
    labels = {name: run() for name, run in variants.items()}  # untimed, after the rounds
    medians = {name: timing["median_seconds"] for name, timing in timings.items()}
    cpu = {name: timing["median_cpu_seconds"] for name, timing in timings.items()}
    row = {"width": width, "resolution": resolution, "num_steps": num_steps,
           "dtype": jnp.dtype(dtype).name, "median_seconds": medians, "median_cpu_seconds": cpu,
           "compile_seconds": {name: timing["compile_seconds"]
                               for name, timing in timings.items()},
           "ratio_hand_made_over_engine": medians["hand-made sweep"] / medians["engine map"],
           "ratio_direct_over_engine": medians["direct"] / medians["engine map"],
           "cpu_ratio_hand_made_over_engine": cpu["hand-made sweep"] / cpu["engine map"],
           "label_agreement_with_direct": {
               name: float(np.mean(value == labels["direct"])) for name, value in labels.items()},
           "diverged_share": {name: float(value.mean()) for name, value in labels.items()}}
    print(f"width {width:>2} {resolution:>3}² T={num_steps} {row['dtype']}: direct "
          f"{medians['direct']:.2f} s, hand-made sweep {medians['hand-made sweep']:.2f} s, engine "
          f"map {medians['engine map']:.2f} s; hand-made/engine "
          f"{row['ratio_hand_made_over_engine']:.2f}, direct/engine "
          f"{row['ratio_direct_over_engine']:.2f}; labels as direct: engine "
          f"{row['label_agreement_with_direct']['engine map']:.1%}, hand-made "
          f"{row['label_agreement_with_direct']['hand-made sweep']:.1%}", flush=True)
    return row


def main() -> None:
    run_cases("trainability_engine", __doc__.splitlines()[0], case, WINDOW, steps=100, rounds=2)


if __name__ == "__main__":
    main()
