"""The contract every optimizer keeps (DESIGN.md): pytrees, vmap over starts and over learning
rates, optax.chain, optax.inject_hyperparams, flax.nnx.Optimizer.

``CASES`` is a module-level table: another optimizer family joins every test here by appending
its ``OptimizerCase``.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import chex
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxopt_lab as jl


@dataclasses.dataclass(frozen=True)
class OptimizerCase:
    name: str
    make: Callable[..., optax.GradientTransformation]  # make(learning_rate) -> transformation
    learning_rate: float  # stable on the test quadratic (eigenvalues in [1, 4]) and the MLP


CASES: list[OptimizerCase] = [
    OptimizerCase("sgd", lambda learning_rate: jl.sgd(learning_rate), 0.2),
    OptimizerCase("momentum", lambda learning_rate: jl.momentum(learning_rate, 0.9), 0.05),
    OptimizerCase("momentum-ewma",
                  lambda learning_rate: jl.momentum(learning_rate, 0.9, form="ewma"), 0.2),
    OptimizerCase("nesterov", lambda learning_rate: jl.nesterov(learning_rate, 0.9), 0.05),
    OptimizerCase("nesterov-lookahead",
                  lambda learning_rate: jl.nesterov(learning_rate, 0.9, lookahead=True), 0.05),
    OptimizerCase("adagrad", lambda learning_rate: jl.adagrad(learning_rate), 0.3),
    OptimizerCase("adadelta", lambda learning_rate: jl.adadelta(learning_rate), 5.0),
    OptimizerCase("rmsprop", lambda learning_rate: jl.rmsprop(learning_rate), 0.02),
    OptimizerCase("adam", lambda learning_rate: jl.adam(learning_rate), 0.05),
    OptimizerCase("adamw", lambda learning_rate: jl.adamw(learning_rate, weight_decay=0.01), 0.05),
    # "irprop+" needs the `value` extra arg, which run() does not pass: tests/test_rprop.py
    # checks it under vmap, inject_hyperparams and flax.nnx.
    OptimizerCase("irprop-", lambda learning_rate: jl.rprop(learning_rate), 0.05),
    OptimizerCase("rprop+", lambda learning_rate: jl.rprop(learning_rate, variant="rprop+"), 0.05),
    OptimizerCase("quickprop", lambda learning_rate: jl.quickprop(learning_rate), 0.05),
]
IDS = [case.name for case in CASES]

NUM_STEPS = 30
#: Two computations of the same float64 arithmetic (batched vs single, pytree vs flat vector,
#: through a combinator vs by hand): only rounding may differ.
SAME_MATHS_ATOL = 1e-12
#: The MLP's training loss must fall at least this much (a factor) in ``MLP_STEPS`` steps.
LOSS_DROP_FACTOR = 0.8
MLP_STEPS = 40

_rng = np.random.default_rng(0)
_q, _ = np.linalg.qr(_rng.normal(size=(9, 9)))
#: A 9-dim SPD quadratic (eigenvalues 1 … 4) over the flattened pytree {w: (3, 2), b: (2,), s: ()}.
MATRIX = jnp.asarray(_q @ np.diag(np.linspace(1.0, 4.0, 9)) @ _q.T)
VECTOR = jnp.asarray(_rng.normal(size=9))
TREE_START = {"w": jnp.asarray(_rng.normal(size=(3, 2))), "b": jnp.array([0.5, -1.0]),
              "s": jnp.array(2.0)}


def flat_loss(x):
    return 0.5 * x @ MATRIX @ x - VECTOR @ x


def tree_loss(tree):
    return flat_loss(jax.flatten_util.ravel_pytree(tree)[0])


def run(tx, value_fn, start, num_steps=NUM_STEPS, clip=None):
    """Final params after ``num_steps`` (traceable: call inside jit/vmap); ``clip`` rescales
    each gradient to global norm <= clip by hand, before the optimizer sees it."""
    extra = {"value_fn": value_fn} if isinstance(tx, optax.GradientTransformationExtraArgs) else {}

    def step(carry, _):
        params, state = carry
        grads = jax.grad(value_fn)(params)
        if clip is not None:
            norm = optax.tree.norm(grads)
            grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, clip / norm), grads)
        updates, state = tx.update(grads, state, params, **extra)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (start, tx.init(start)), length=num_steps)
    return params


FLAT_START, _unravel = jax.flatten_util.ravel_pytree(TREE_START)


@functools.cache
def direct_run(case: OptimizerCase) -> np.ndarray:
    """The plain run every variant below is compared with (compiled once per case)."""
    return np.asarray(jax.jit(lambda: run(case.make(case.learning_rate), flat_loss, FLAT_START))())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pytree_of_several_shapes_equals_flat_vector(case):
    """Elementwise optimizers treat a pytree as its flattened vector: the same points."""
    tree_end = jax.jit(lambda: run(case.make(case.learning_rate), tree_loss, TREE_START))()
    assert jax.tree.map(jnp.shape, tree_end) == jax.tree.map(jnp.shape, TREE_START)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(tree_end)[0], direct_run(case),
                               atol=SAME_MATHS_ATOL)
    assert tree_loss(tree_end) < tree_loss(TREE_START)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_over_starting_points(case):
    starts = jnp.concatenate(
        [FLAT_START[None], jnp.asarray(np.random.default_rng(1).normal(size=(3, 9)))])
    tx = case.make(case.learning_rate)
    batched = jax.jit(jax.vmap(lambda start: run(tx, flat_loss, start)))(starts)
    np.testing.assert_allclose(batched[0], direct_run(case), atol=SAME_MATHS_ATOL)
    assert np.all(np.isfinite(batched)) and len(np.unique(np.asarray(batched[:, 0]))) == 4


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_over_learning_rates(case):
    """The optimizer is built from traced learning rates: no check raises, and each lane is the
    optimizer built from that rate as a plain number."""
    rates = case.learning_rate * jnp.array([1.0, 0.5, 0.25])
    batched = jax.jit(jax.vmap(lambda rate: run(case.make(rate), flat_loss, FLAT_START)))(rates)
    np.testing.assert_allclose(batched[0], direct_run(case), atol=SAME_MATHS_ATOL)
    assert not np.allclose(batched[1], batched[2])  # the rate reached each lane


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_chain_after_clip_by_global_norm(case):
    clip = 0.5

    @jax.jit
    def both():
        chained = optax.chain(optax.clip_by_global_norm(clip), case.make(case.learning_rate))
        return run(chained, flat_loss, FLAT_START), run(case.make(case.learning_rate), flat_loss,
                                                        FLAT_START, clip=clip)

    chained, by_hand = both()
    np.testing.assert_allclose(chained, by_hand, atol=SAME_MATHS_ATOL)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inject_hyperparams(case):
    injected = optax.inject_hyperparams(case.make)(learning_rate=case.learning_rate)
    state = injected.init(FLAT_START)
    np.testing.assert_allclose(state.hyperparams["learning_rate"], case.learning_rate)
    through_injection = jax.jit(lambda: run(injected, flat_loss, FLAT_START))()
    np.testing.assert_allclose(through_injection, direct_run(case), atol=SAME_MATHS_ATOL)


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(2, 16, rngs=rngs)
        self.out = nnx.Linear(16, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.hidden(x)))


_inputs = _rng.normal(size=(64, 2))
MLP_INPUTS = jnp.asarray(_inputs)
MLP_TARGETS = jnp.asarray(np.sin(_inputs[:, :1]) + 0.5 * _inputs[:, 1:] ** 2)


def mlp_loss(model):
    return jnp.mean((model(MLP_INPUTS) - MLP_TARGETS) ** 2)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_flax_nnx_optimizer_trains_mlp(case):
    model = MLP(nnx.Rngs(0))
    tx = case.make(case.learning_rate)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    graphdef, _, rest = nnx.split(model, nnx.Param, ...)

    def value_fn(params):  # loss of the parameter arrays, for look-ahead gradients
        return mlp_loss(nnx.merge(graphdef, params, rest))

    extra = {"value_fn": value_fn} if isinstance(tx, optax.GradientTransformationExtraArgs) else {}

    @nnx.jit
    def train(model, optimizer):
        def body(_, carry):
            model, optimizer = carry
            grads = nnx.grad(mlp_loss)(model)
            optimizer.update(model, grads, **extra)
            return model, optimizer
        nnx.fori_loop(0, MLP_STEPS, body, (model, optimizer))

    initial = float(mlp_loss(model))
    train(model, optimizer)
    final = float(mlp_loss(model))
    assert np.isfinite(final) and final < LOSS_DROP_FACTOR * initial, (initial, final)
    # nnx.Optimizer must take exactly the steps of the plain optax loop on the same arrays.
    _, start, _ = nnx.split(MLP(nnx.Rngs(0)), nnx.Param, ...)
    trained = nnx.state(model, nnx.Param)
    chex.assert_trees_all_close(trained, direct_pytree_run(tx, value_fn, start, extra),
                                atol=SAME_MATHS_ATOL)


def direct_pytree_run(tx, value_fn, params, extra):
    """``MLP_STEPS`` steps of ``tx`` on the parameter pytree by a plain optax loop."""
    @jax.jit
    def run(params):
        def body(_, carry):
            params, state = carry
            updates, state = tx.update(jax.grad(value_fn)(params), state, params, **extra)
            return optax.apply_updates(params, updates), state
        return jax.lax.fori_loop(0, MLP_STEPS, body, (params, tx.init(params)))[0]
    return run(params)
