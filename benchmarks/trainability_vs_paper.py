"""`jl.problems.trainability_map` against Sohl-Dickstein's (2024) procedure, side by side.

The paper's procedure is re-implemented from its published notebook (github.com/Sohl-Dickstein/
fractal), keeping its structure: a Python loop over the steps, each one call of a jitted
``vmap(train_step)`` over the grid of learning-rate pairs (the weights donated), the losses
stacked and then reduced by a jitted ``vmap(convergence_measure)``. Both sides train the same
network (``net``: mean-field, tanh, no biases), the same data and starting weights
(``PRNGKey(0)``, split in the paper's order), the same log-spaced grid and number of steps, in
the same process; the variants take turns, round after round. Reported: median wall time of a
whole picture after a first (compiling) call and of the process's CPU time (the machine may be
shared), the ratios paper / ours, and the share of grid
points both label alike (diverged iff the paper's measure is positive).

    PYTHONPATH=. python benchmarks/trainability_vs_paper.py              # CPU record
    PYTHONPATH=. python benchmarks/trainability_vs_paper.py --resolutions 256 1024 --steps 500
"""
from __future__ import annotations


import jax

jax.config.update("jax_enable_x64", True)  # the paper's code enables x64; float32 runs cast

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxopt_lab as jl  # noqa: E402
from _trainability_cases import run_cases  # noqa: E402
from jaxopt_lab.bench import timed  # noqa: E402

WINDOW = (-1.0, 6.0, 0.5, 2.5)  # log10 (input lr min, max, output lr min, max), as notebook 12


# --- the paper's procedure, as published (lr_vs_lr, tanh, full batch, readout = loss) ----------


def paper_net(theta, inputs):
    x = inputs
    for weights in theta:
        z = jnp.dot(x, weights) / jnp.sqrt(weights.shape[0])
        x = jax.nn.tanh(z * jnp.sqrt(2))
    return z / jnp.sqrt(weights.shape[0])


def paper_loss(theta, inputs, targets):
    return jnp.mean((paper_net(theta, inputs) - targets) ** 2)


def paper_train_step(theta, hparams, inputs, targets):
    loss, grads = jax.value_and_grad(paper_loss)(theta, inputs, targets)
    rates = [hparams[i % len(hparams)] for i in range(len(theta))]
    return jax.tree.map(lambda t, g, lr: t - lr * g, theta, grads, rates), loss


paper_step_grid = jax.jit(jax.vmap(paper_train_step, in_axes=(0, 0, None, None)),
                          donate_argnums=(0,))


def paper_convergence_measure(v, max_val=1e6):
    finite = jnp.isfinite(v)
    v = v * finite + max_val * (1 - finite)
    v = v / v[0]
    exceeds = v > max_val
    v = v * (1 - exceeds) + max_val * exceeds
    converged = jnp.mean(v[-20:]) < 1
    return jnp.where(converged, -jnp.sum(v), jnp.sum(1 / v))


paper_measure_grid = jax.jit(jax.vmap(paper_convergence_measure))


def paper_picture(theta, inputs, targets, window, resolution, num_steps):
    x_min, x_max, y_min, y_max = window
    lr0, lr1 = jnp.meshgrid(jnp.logspace(x_min, x_max, resolution),
                            jnp.logspace(y_min, y_max, resolution))
    hparams = jnp.stack([lr0.ravel(), lr1.ravel()], axis=-1).astype(inputs.dtype)
    batch = hparams.shape[0]
    grid_theta = jax.tree.map(lambda u: jnp.tile(u, (batch,) + (1,) * u.ndim), theta)
    losses = []
    for _ in range(num_steps):
        grid_theta, loss = paper_step_grid(grid_theta, hparams, inputs, targets)
        losses.append(loss)
    return paper_measure_grid(jnp.stack(losses, axis=-1)).reshape(resolution, resolution)


# --- the comparison ------------------------------------------------------------------------------


def case(width: int, resolution: int, num_steps: int, dtype, rounds: int) -> dict:
    key = jax.random.PRNGKey(0)
    problem = jl.problems.trainability_network(key, width, dtype=dtype)
    params = problem.init(jax.random.split(key)[1])
    theta = [params["input"], params["output"]]

    def ours():
        return jl.problems.trainability_map(problem, params, WINDOW, resolution,
                                            num_steps=num_steps).measure.block_until_ready()

    def paper():
        return paper_picture(theta, problem.inputs, problem.labels, WINDOW, resolution,
                             num_steps).block_until_ready()

    variants = {"jl.problems.trainability_map": ours, "paper procedure": paper}
    timings = timed(variants, rounds)
    pictures = {name: np.asarray(run()) for name, run in variants.items()}  # untimed
    medians = {name: timing["median_seconds"] for name, timing in timings.items()}
    cpu_medians = {name: timing["median_cpu_seconds"] for name, timing in timings.items()}
    labels = {name: picture > 0 for name, picture in pictures.items()}
    agreement = float(np.mean(labels["jl.problems.trainability_map"] == labels["paper procedure"]))
    row = {"width": width, "resolution": resolution, "num_steps": num_steps,
           "dtype": jnp.dtype(dtype).name, "median_seconds": medians,
           "median_cpu_seconds": cpu_medians,
           "cpu_ratio_paper_over_ours": cpu_medians["paper procedure"]
           / cpu_medians["jl.problems.trainability_map"],
           "compile_seconds": {name: timing["compile_seconds"]
                               for name, timing in timings.items()},
           "ratio_paper_over_ours": medians["paper procedure"]
           / medians["jl.problems.trainability_map"],
           "label_agreement": agreement,
           "diverged_share": float(labels["jl.problems.trainability_map"].mean())}
    print(f"width {width:>2} {resolution:>4}² T={num_steps} {row['dtype']}: ours "
          f"{medians['jl.problems.trainability_map']:.3f} s, paper "
          f"{medians['paper procedure']:.3f} s, ratio {row['ratio_paper_over_ours']:.2f} (CPU time "
          f"{row['cpu_ratio_paper_over_ours']:.2f}), "
          f"labels agree on {agreement:.2%}", flush=True)
    return row


def main() -> None:
    run_cases("trainability_vs_paper", __doc__.splitlines()[0], case, WINDOW, steps=200, rounds=3)


if __name__ == "__main__":
    main()
