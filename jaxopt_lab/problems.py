"""Data-driven losses: perceptron-vs-backprop, small flax MLPs, the fractal-trainability network.

Every problem is a :class:`Problem`: ``init(key) -> params`` (a pytree of arrays: a starting
point), ``loss(params) -> scalar`` and, for classifiers, ``predict(params) -> labels`` and
``accuracy(params) -> fraction correct``. The functions are pure, so ``jax.vmap`` over a stack of
parameter pytrees evaluates many starting points at once, and optax trains them directly.

>>> import jax, optax
>>> problem = xor()
>>> params = problem.init(jax.random.PRNGKey(0))
>>> tx = optax.adam(0.1)
>>> @jax.jit
... def step(params, state):
...     updates, state = tx.update(jax.grad(problem.loss)(params), state)
...     return optax.apply_updates(params, updates), state
>>> trained, state = params, tx.init(params)
>>> for _ in range(50):
...     trained, state = step(trained, state)
>>> bool(problem.loss(trained) < problem.loss(params)), float(problem.accuracy(trained))
(True, 1.0)
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab import _trainability, initializers
from jaxopt_lab._validation import check_choice, check_in_range, check_int, check_positive


class Problem(NamedTuple):
    """A loss of a parameter pytree, with its data and a sampler of starting points.

    ``predict`` and ``accuracy`` are ``None`` for regression problems.
    """

    name: str
    init: Callable[[jax.Array], optax.Params]
    loss: Callable[[optax.Params], jax.Array]
    predict: Callable[[optax.Params], jax.Array] | None
    accuracy: Callable[[optax.Params], jax.Array] | None
    inputs: jax.Array
    labels: jax.Array


def _classifier(name, init, loss, predict, inputs, labels) -> Problem:
    def accuracy(params):
        return jnp.mean(predict(params) == labels)

    return Problem(name, init, loss, predict, accuracy, inputs, labels)


# --- Backprop fails to separate where the perceptron succeeds (Brady et al. 1989) ---------------


def brady_spoiler(spoiler_distance: float = 10.0, eps: float = 0.1) -> Problem:
    """A counterexample after Brady, Raghavan & Slawny (1989): one logistic neuron, L2 loss.

    The four points are a small construction with the properties of their example. Three
    separable points with class labels 1, 1, 0 at ``(1, 0)``, ``(0, 1)`` and ``(−1, 0)``, plus
    the far "spoiler" ``(0, −t)`` of class 1 (``t = spoiler_distance``). The construction needs:
    a class-1 spoiler ("1 − ε" is its target), a 3-point optimum with ``w_y > 0``
    (so that ``σ(−w_y·t + b) → 0``), and four points that stay separable (``x = −1/2`` separates
    them). Targets are ``1 − ε`` and ``ε`` (a sigmoid never reaches 1 or 0), so the 3-point
    problem has the unique minimum ``w = (L, L), b = 0`` with ``L = logit(1 − ε)``.

    ``params = {"weights": (2,), "bias": ()}``; ``y = σ(w·x + b)``; the loss is the average
    divergence ``mean((target − y)²)``; a point is predicted class 1 iff ``w·x + b > 0``. Near the
    3-point optimum the spoiler's gradient ``2(1 − ε − σ(z₄))σ'(z₄)·t`` vanishes exponentially in
    ``t``: a broad local minimum that misclassifies the spoiler, while :func:`perceptron`
    separates all four. In this reconstruction the global minimum does separate, at a lower
    loss; backprop fails from the starts in that local minimum's basin (about a quarter of
    standard-normal starts for ``t = 10``), as Brady et al.'s "large basin of attraction".

    Args:
      spoiler_distance: t > 0, how far the spoiler lies below the other points.
      eps: ε in (0, 0.5), the targets' distance from 1 and 0.

    Returns:
      A `Problem` with the four points, their 0/1 labels, the L2 loss and a standard-normal
      ``init``.

    Raises:
      ValueError: if an argument is out of its range.
    """
    check_positive("spoiler_distance", spoiler_distance)
    check_in_range("eps", eps, 0.0, 0.5, low_closed=False, high_closed=False)
    inputs = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -spoiler_distance]])
    labels = jnp.array([1, 1, 0, 1])
    targets = jnp.where(labels == 1, 1.0 - eps, eps)

    def init(key):
        key_w, key_b = jax.random.split(key)
        return {"weights": jax.random.normal(key_w, (2,)), "bias": jax.random.normal(key_b, ())}

    def loss(params):
        outputs = jax.nn.sigmoid(inputs @ params["weights"] + params["bias"])
        return jnp.mean((targets - outputs) ** 2)

    def classify(params):
        return (inputs @ params["weights"] + params["bias"] > 0).astype(labels.dtype)

    return _classifier("brady_spoiler", init, loss, classify, inputs, labels)


class PerceptronResult(NamedTuple):
    """``params`` in :func:`brady_spoiler`'s layout; ``num_updates`` counts the mistakes."""

    params: dict
    num_updates: jax.Array
    converged: jax.Array


def perceptron(inputs: jax.Array, labels: jax.Array, *, max_epochs: int = 10_000
               ) -> PerceptronResult:
    """Rosenblatt's rule, cycling through the points: on a mistake, ``w ← w + s·x, b ← b + s``.

    ``s = ±1`` is the point's class (labels 1 / 0), a mistake is ``s·(w·x + b) ≤ 0``; the start
    is ``w = 0, b = 0``. On separable data it stops after finitely many updates (at most
    (R/γ)² mistakes, R the largest input norm and γ the margin; Novikoff 1962); ``converged``
    says whether an epoch passed without a mistake.

    Args:
      inputs: ``(N, d)`` points.
      labels: ``(N,)`` classes, 1 or 0.
      max_epochs: >= 1 passes over the points before giving up.

    Returns:
      A `PerceptronResult`: the final ``params``, the number of updates, and whether it converged.

    >>> spoiler = brady_spoiler()
    >>> float(spoiler.accuracy(perceptron(spoiler.inputs, spoiler.labels).params))
    1.0
    """
    inputs = jnp.asarray(inputs)
    signs = jnp.where(jnp.asarray(labels) == 1, 1.0, -1.0).astype(inputs.dtype)
    augmented = jnp.concatenate([inputs, jnp.ones_like(inputs[:, :1])], axis=1)

    def visit(carry, point):
        weights, num_updates = carry
        x, s = point
        mistake = s * (weights @ x) <= 0
        return (weights + jnp.where(mistake, s * x, 0.0), num_updates + mistake), mistake

    def epoch(carry):
        weights, num_updates, _, count = carry
        (weights, num_updates), mistakes = jax.lax.scan(visit, (weights, num_updates),
                                                        (augmented, signs))
        return weights, num_updates, ~jnp.any(mistakes), count + 1

    def keep_going(carry):
        return ~carry[2] & (carry[3] < max_epochs)

    start = (jnp.zeros(augmented.shape[1], inputs.dtype), jnp.int32(0), jnp.bool_(False),
             jnp.int32(0))
    weights, num_updates, converged, _ = jax.lax.while_loop(keep_going, epoch, start)
    return PerceptronResult({"weights": weights[:-1], "bias": weights[-1]}, num_updates, converged)


# --- Small flax MLPs ---------------------------------------------------------------------------


@functools.cache
def _mlp_class():
    # flax is imported on first use: it would add a third to `import jaxopt_lab`.
    from flax import nnx

    class MLP(nnx.Module):
        """Two dense layers with an activation between: ``W₂·act(W₁·x + b₁) + b₂``."""

        def __init__(self, layer_sizes, activation, kernel_init, bias_init, *, param_dtype,
                     rngs: nnx.Rngs):
            num_inputs, num_hidden, num_outputs = layer_sizes
            dense = {"kernel_init": kernel_init, "bias_init": bias_init,
                     "param_dtype": param_dtype, "rngs": rngs}
            self.hidden = nnx.Linear(num_inputs, num_hidden, **dense)
            self.output = nnx.Linear(num_hidden, num_outputs, **dense)
            self.activation = activation

        def __call__(self, x: jax.Array) -> jax.Array:
            return self.output(self.activation(self.hidden(x)))

    return MLP


def mlp_classifier(name: str, inputs, labels, num_hidden: int, *,
                   activation: Callable[[jax.Array], jax.Array] = jnp.tanh,
                   kernel_init: jax.nn.initializers.Initializer | None = None,
                   bias_init: jax.nn.initializers.Initializer | None = None) -> Problem:
    """A two-layer flax MLP with softmax cross-entropy on ``(inputs, labels)``.

    The network is ``logits = W₂·activation(W₁·x + b₁) + b₂`` (``flax.nnx.Linear`` layers);
    ``params`` is ``{"hidden": {"kernel", "bias"}, "output": {"kernel", "bias"}}``, the module's
    parameters as a plain nested dict (``nnx.to_pure_dict``), so the loss is a pure function of
    it. Defaults: Xavier-uniform kernels (Glorot & Bengio 2010), zero biases.

    Args:
      name: the problem's name.
      inputs: ``(N, d)`` features.
      labels: ``(N,)`` integer classes.
      num_hidden: >= 1 hidden units.
      activation: the hidden layer's nonlinearity.
      kernel_init: initializer of both weight matrices (default Xavier uniform).
      bias_init: initializer of both biases (default zeros).

    Returns:
      A `Problem` whose ``init`` draws the parameters from a PRNG key.

    Raises:
      ValueError: if ``num_hidden`` is not an integer >= 1.
    """
    from flax import nnx

    num_hidden = check_int("num_hidden", num_hidden, 1)
    inputs = jnp.asarray(inputs)
    labels = jnp.asarray(labels)
    layer_sizes = (inputs.shape[1], num_hidden, int(labels.max()) + 1)
    kernel_init = kernel_init or initializers.xavier_uniform()
    bias_init = bias_init or initializers.constant(0.0)

    mlp = _mlp_class()

    def build(key):
        return mlp(layer_sizes, activation, kernel_init, bias_init, param_dtype=inputs.dtype,
                   rngs=nnx.Rngs(params=key))

    graphdef, _ = nnx.split(nnx.eval_shape(lambda: build(jax.random.PRNGKey(0))))

    def init(key):
        return nnx.to_pure_dict(nnx.state(build(key)))

    def logits(params):
        return nnx.merge(graphdef, params)(inputs)

    def loss(params):
        return optax.softmax_cross_entropy_with_integer_labels(logits(params), labels).mean()

    def predict(params):
        return jnp.argmax(logits(params), axis=-1)

    return _classifier(name, init, loss, predict, inputs, labels)


def xor(num_hidden: int = 8, **mlp_options) -> Problem:
    """XOR on the four corners of the unit square: not linearly separable, easy for an MLP.

    Args:
      num_hidden: >= 1 hidden units.
      **mlp_options: passed to :func:`mlp_classifier` (``activation``, initializers).

    Returns:
      A `Problem` on the four corners, labels 0, 1, 1, 0.

    Raises:
      ValueError: if ``num_hidden`` is not an integer >= 1.
    """
    inputs = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return mlp_classifier("xor", inputs, np.array([0, 1, 1, 0]), num_hidden, **mlp_options)


def two_moons_data(num_samples: int = 200, noise: float = 0.1, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles (scikit-learn's ``make_moons`` recipe), in NumPy.

    Class 0: ``(cos θ, sin θ)``; class 1: ``(1 − cos θ, 1/2 − sin θ)``, ``θ`` evenly spaced on
    ``[0, π]``, each point plus ``N(0, noise²)`` jitter from ``numpy.random.default_rng(seed)``.

    Args:
      num_samples: >= 2 points, half (rounded down) in the first class.
      noise: >= 0, the jitter's standard deviation.
      seed: seeds NumPy's generator.

    Returns:
      ``(inputs (num_samples, 2), labels (num_samples,))``.
    """
    num_samples = check_int("num_samples", num_samples, 2)
    check_in_range("noise", noise, 0.0)
    num_outer = num_samples // 2
    outer = np.linspace(0.0, np.pi, num_outer)
    inner = np.linspace(0.0, np.pi, num_samples - num_outer)
    inputs = np.concatenate([np.stack([np.cos(outer), np.sin(outer)], axis=1),
                             np.stack([1.0 - np.cos(inner), 0.5 - np.sin(inner)], axis=1)])
    inputs += noise * np.random.default_rng(seed).standard_normal(inputs.shape)
    labels = np.repeat([0, 1], [num_outer, num_samples - num_outer])
    return inputs, labels


def two_moons(num_samples: int = 200, noise: float = 0.1, seed: int = 0, num_hidden: int = 16,
              **mlp_options) -> Problem:
    """An MLP on :func:`two_moons_data`.

    Args:
      num_samples: >= 2 points.
      noise: >= 0, the jitter's standard deviation.
      seed: seeds the data.
      num_hidden: >= 1 hidden units.
      **mlp_options: passed to :func:`mlp_classifier`.

    Returns:
      A `Problem` on the two moons, labels 0 and 1.

    Raises:
      ValueError: if an argument is out of its range.
    """
    inputs, labels = two_moons_data(num_samples, noise, seed)
    return mlp_classifier("two_moons", inputs, labels, num_hidden, **mlp_options)


def digits(num_samples: int | None = None, seed: int = 0, num_hidden: int = 32,
           **mlp_options) -> Problem:
    """An MLP on scikit-learn's bundled 8×8 digits (1797 images, 10 classes, no download).

    Pixels are scaled from 0..16 to [0, 1]. ``num_samples`` keeps a random subset (drawn with
    ``seed``) to keep small experiments fast.

    Args:
      num_samples: how many images to keep, or None for all 1797.
      seed: seeds the subset.
      num_hidden: >= 1 hidden units.
      **mlp_options: passed to :func:`mlp_classifier`.

    Returns:
      A `Problem` on the ``(N, 64)`` scaled pixels, labels 0 to 9.

    Raises:
      ImportError: if scikit-learn is not installed.
      ValueError: if ``num_samples`` is not an integer in [1, 1797] or ``num_hidden`` < 1.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError("digits needs scikit-learn: pip install jaxopt_lab[data]") from error
    inputs, labels = load_digits(return_X_y=True)
    if num_samples is not None:
        num_samples = check_int("num_samples", num_samples, 1, len(labels))
        keep = np.random.default_rng(seed).choice(len(labels), num_samples, replace=False)
        inputs, labels = inputs[keep], labels[keep]
    return mlp_classifier("digits", inputs / 16.0, labels, num_hidden, **mlp_options)


# --- Sohl-Dickstein (2024): the boundary of neural network trainability is fractal ------------


def trainability_network(key: jax.Array | None = None, width: int = 16, *,
                         activation: str = "tanh", num_examples: int | None = None,
                         dtype: jax.typing.DTypeLike | None = None) -> Problem:
    """The network of Sohl-Dickstein (2024), "The boundary of neural network trainability is
    fractal".

    As in the paper's code (github.com/Sohl-Dickstein/fractal): input dimension = hidden width
    ``n`` (16 in the paper's figures), one hidden layer, no biases, one output, mean-field
    parameterization ``ŷ = act(x·W₀)·W₁ / n`` with ``act`` one of the paper's three conditions:
    ``"tanh"`` (``tanh(√(2/n)·x·W₀)``), ``"relu"`` (``√2·relu(x·W₀/√n)``) or ``"identity"``
    (``x·W₀/√n``, a linear network). Weights, inputs and targets are ``N(0, 1)``; the loss is
    ``mean((ŷ − y)²)``. ``num_examples`` defaults to the paper's: as many as parameters
    (``n² + n``), but ``n`` for the identity network; ``num_examples=1`` is the paper's
    single-datapoint condition.

    ``key`` draws the weights, inputs and targets in the code's order (one subkey each), so
    ``key = PRNGKey(0)`` (the default) is the paper's setup, whose starting weights are
    ``init(jax.random.split(key)[1])``; other keys to ``init`` draw other weights for the same
    data. Every number is drawn in float64 (as the paper, which runs with x64) and cast to
    ``dtype`` (default: JAX's default float), so a float32 network starts from the same numbers
    rounded; with x64 disabled, call ``init`` outside ``jit``. ``params = {"input": (n, n),
    "output": (n, 1)}``; ``loss(params, batch=None)`` takes an optional ``(inputs, targets)``
    minibatch in place of the full data.

    Args:
      key: PRNG key of the data (and the paper's starting weights); None: ``PRNGKey(0)``.
      width: n >= 1, the input dimension and hidden width.
      activation: ``"tanh"``, ``"relu"`` or ``"identity"``.
      num_examples: >= 1 examples; None: the paper's count (above).
      dtype: a floating dtype; None: JAX's default float.

    Returns:
      A `Problem` with regression targets as ``labels`` and no ``predict`` or ``accuracy``.

    Raises:
      ValueError: if ``width`` or ``num_examples`` is not an integer >= 1, ``activation`` is
        unknown, or ``dtype`` is not floating.
    """
    width = check_int("width", width, 1)
    check_choice("activation", activation, _trainability.ACTIVATIONS)
    if num_examples is None:
        num_examples = _trainability.default_num_examples(width, activation)
    num_examples = check_int("num_examples", num_examples, 1)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype (float32 or float64), got {dtype}")
    key = jax.random.PRNGKey(0) if key is None else key
    inputs, targets = _trainability.draw_data(key, width, num_examples, dtype)

    def init(key):
        return _trainability.draw_weights(key, width, dtype)

    def loss(params, batch=None):
        batch_inputs, batch_targets = (inputs, targets) if batch is None else batch
        return _trainability.network_loss(params, batch_inputs, batch_targets, activation)

    return Problem(f"trainability_network_{activation}", init, loss, None, None, inputs, targets)


class TrainabilityResult(NamedTuple):
    """Outcome of :func:`train_two_learning_rates` (one entry per grid point if vmapped).

    ``diverged`` follows the paper's code (``convergence_measure``), in its order: a non-finite
    loss first counts as 1e6, then every loss is divided by the initial loss, then a ratio above
    1e6 counts as 1e6. So a non-finite loss becomes ``1e6 / initial loss``, not 1e6 (the two
    differ unless the initial loss is 1). A run converged iff the mean of the last 20 ratios
    ``v`` (all of them, if fewer steps) is below 1. ``measure`` is the code's colour value:
    ``−Σ v`` if it converged, ``Σ 1/v`` otherwise, so its sign is the label.
    """

    final_loss: jax.Array
    diverged: jax.Array
    measure: jax.Array


#: The paper's code puts non-finite losses here before normalizing and caps normalized losses
#: here after; it averages the last few to see through oscillations.
_LOSS_CAP = 1e6
_TAIL_STEPS = 20


def _convergence(losses: jax.Array) -> tuple[jax.Array, jax.Array]:
    finite = jnp.where(jnp.isfinite(losses), losses, _LOSS_CAP)
    normalized = jnp.minimum(finite / finite[0], _LOSS_CAP)
    converged = jnp.mean(normalized[-_TAIL_STEPS:]) < 1.0
    return ~converged, jnp.where(converged, -jnp.sum(normalized), jnp.sum(1.0 / normalized))


def _gradient_descent(problem: Problem, params: optax.Params, learning_rates: dict,
                      num_steps: int, input_offset: jax.typing.ArrayLike | None,
                      minibatches: tuple[jax.Array, jax.Array] | None) -> TrainabilityResult:
    # The loss recorded each step is the full-batch loss before the step, as in the paper's code
    # (which evaluates it on the full batch for minibatch runs too, "for smooth visualization").
    def offset(params):
        if input_offset is None:
            return params
        return {**params, "input": params["input"] + input_offset}

    def step(params, batch):
        params = offset(params)
        if batch is None:
            value, grads = jax.value_and_grad(problem.loss)(params)
        else:
            value, grads = problem.loss(params), jax.grad(problem.loss)(params, batch)
        params = jax.tree.map(lambda w, g, lr: w - lr * g, params, grads, learning_rates)
        return params, value

    params, losses = jax.lax.scan(step, params, minibatches, length=num_steps)
    diverged, measure = _convergence(losses)
    return TrainabilityResult(problem.loss(offset(params)), diverged, measure)


def _minibatches(problem: Problem, num_steps: int, minibatch_size: int | None,
                 minibatch_key: jax.Array | None) -> tuple[jax.Array, jax.Array] | None:
    if minibatch_size is None:
        return None
    minibatch_size = check_int("minibatch_size", minibatch_size, 1)
    indices = _trainability.paper_minibatch_indices(minibatch_key, num_steps, minibatch_size,
                                                    problem.inputs.shape[0])
    return problem.inputs[indices], problem.labels[indices]


def train_two_learning_rates(problem: Problem, params: optax.Params,
                             input_learning_rate: jax.typing.ArrayLike,
                             output_learning_rate: jax.typing.ArrayLike,
                             num_steps: int = 500, *, minibatch_size: int | None = None,
                             minibatch_key: jax.Array | None = None) -> TrainabilityResult:
    """Gradient descent with one learning rate per layer, for ``num_steps`` ≥ 1 steps.

    ``W₀ ← W₀ − η₀·∂L/∂W₀``, ``W₁ ← W₁ − η₁·∂L/∂W₁`` on :func:`trainability_network` (the paper
    ran 500 or 1000 steps). Full batch by default; ``minibatch_size = B`` takes each step's
    gradient on ``B`` examples drawn with replacement as in the paper's code (``minibatch_key``,
    default ``PRNGKey(42)``, the same draws for every learning rate; the paper used B = 16) and
    still judges divergence on the full-batch loss. One ``lax.scan``; the learning rates are
    traced, so vmapping over them maps a grid of pairs (:func:`trainability_map` does it in one
    call). Divergence is data: NaN/Inf losses are recorded, never raised.

    Args:
      problem: the :func:`trainability_network` problem.
      params: its starting parameters.
      input_learning_rate: η₀ for the first layer (traceable).
      output_learning_rate: η₁ for the second layer (traceable).
      num_steps: >= 1 full-batch steps.
      minibatch_size: B >= 1 examples per step's gradient; None: full batch.
      minibatch_key: PRNG key of the minibatch draws; None: ``PRNGKey(42)``.

    Returns:
      A `TrainabilityResult` (arrays of the vmapped shape, scalars otherwise).

    Raises:
      ValueError: if ``num_steps`` or ``minibatch_size`` is not an integer >= 1, or a concrete
        learning rate is not positive.

    >>> import jax, jax.numpy as jnp
    >>> problem = trainability_network()
    >>> params = problem.init(jax.random.split(jax.random.PRNGKey(0))[1])  # the paper's start
    >>> train = lambda lr_in, lr_out: train_two_learning_rates(problem, params, lr_in, lr_out, 100)
    >>> jax.vmap(train)(jnp.array([1e-2, 1e4]), jnp.array([1e-2, 1e4])).diverged
    Array([False,  True], dtype=bool)
    """
    num_steps = check_int("num_steps", num_steps, 1)
    check_positive("input_learning_rate", input_learning_rate)
    check_positive("output_learning_rate", output_learning_rate)
    minibatches = _minibatches(problem, num_steps, minibatch_size, minibatch_key)
    learning_rates = {"input": input_learning_rate, "output": output_learning_rate}
    return _gradient_descent(problem, params, learning_rates, num_steps, None, minibatches)


def train_offset_and_learning_rate(problem: Problem, params: optax.Params,
                                   input_offset: jax.typing.ArrayLike,
                                   learning_rate: jax.typing.ArrayLike, num_steps: int = 500, *,
                                   offset_every_step: bool = False,
                                   minibatch_size: int | None = None,
                                   minibatch_key: jax.Array | None = None) -> TrainabilityResult:
    """The paper's other plane: an offset added to every input-layer weight, one learning rate.

    The start is ``W₀ + c`` (``c = input_offset``, a shift of the initialization's mean), then
    gradient descent with ``η = learning_rate`` on both layers, as :func:`train_two_learning_rates`
    (same divergence rule, same minibatch options). The paper's published code adds ``c`` to
    ``W₀`` before *every* step (``W₀ ← W₀ + c − η·∂L/∂W₀(W₀ + c)``); ``offset_every_step=True``
    reproduces that, the default shifts the initialization once, as the paper's text describes.

    Args:
      problem: the :func:`trainability_network` problem.
      params: its starting parameters.
      input_offset: c, added to every input-layer weight (traceable).
      learning_rate: η for both layers (traceable).
      num_steps: >= 1 steps.
      offset_every_step: whether to add ``c`` before every step (the published code) rather than
        once to the start.
      minibatch_size: B >= 1 examples per step's gradient; None: full batch.
      minibatch_key: PRNG key of the minibatch draws; None: ``PRNGKey(42)``.

    Returns:
      A `TrainabilityResult` (arrays of the vmapped shape, scalars otherwise).

    Raises:
      ValueError: if ``num_steps`` or ``minibatch_size`` is not an integer >= 1, or a concrete
        ``learning_rate`` is not positive.
    """
    num_steps = check_int("num_steps", num_steps, 1)
    check_positive("learning_rate", learning_rate)
    minibatches = _minibatches(problem, num_steps, minibatch_size, minibatch_key)
    learning_rates = {"input": learning_rate, "output": learning_rate}
    if offset_every_step:
        return _gradient_descent(problem, params, learning_rates, num_steps, input_offset,
                                 minibatches)
    start = {**params, "input": params["input"] + input_offset}
    return _gradient_descent(problem, start, learning_rates, num_steps, None, minibatches)


PLANES = ("learning_rates", "offset_and_learning_rate")


@functools.partial(jax.jit, static_argnames=("problem_loss", "plane", "num_steps",
                                             "minibatch_size", "offset_every_step"))
def _train_grid(problem_loss, inputs, labels, params, x_values, y_values, minibatch_key, *,
                plane, num_steps, minibatch_size, offset_every_step):
    # Static: the loss function (so one compile serves every window of one problem) and the
    # options; traced: the data, the start and the grid.
    problem = Problem("grid", None, problem_loss, None, None, inputs, labels)
    options = {"minibatch_size": minibatch_size, "minibatch_key": minibatch_key}
    if plane == "learning_rates":
        def run(x, y):
            return train_two_learning_rates(problem, params, x, y, num_steps, **options)
    else:
        def run(x, y):
            return train_offset_and_learning_rate(problem, params, x, y, num_steps,
                                                  offset_every_step=offset_every_step,
                                                  **options)
    return jax.vmap(run)(x_values, y_values)


def trainability_map(problem: Problem, params: optax.Params,
                     window: tuple[float, float, float, float], resolution: int, *,
                     plane: str = "learning_rates", num_steps: int = 500,
                     minibatch_size: int | None = None, minibatch_key: jax.Array | None = None,
                     offset_every_step: bool = False,
                     chunk_size: int | None = None) -> TrainabilityResult:
    """One of the paper's pictures in one call: a ``resolution²`` grid of training runs.

    ``window = (x_min, x_max, y_min, y_max)`` in log10, the grid log-spaced (as the paper's)
    and computed in float64. ``plane = "learning_rates"``: x is the input layer's learning rate,
    y the output layer's (:func:`train_two_learning_rates`); ``"offset_and_learning_rate"``: x
    the input-weight offset, y the single learning rate
    (:func:`train_offset_and_learning_rate`). Each field is a ``(resolution, resolution)``
    array, rows along y (row 0 at ``y_min``), columns along x. The problem's conditions
    (activation, single datapoint) come from :func:`trainability_network`; minibatch training
    from ``minibatch_size``. ``chunk_size`` trains at most that many grid points per chunk (the
    last padded to the same size, so one compile serves all), to bound the memory of a large
    picture; by default the sweep engine's chunks.

    A full-batch picture is one `jaxopt_lab.sweep`: each cell a point over the ravelled
    parameters with its own learning rates (``hyperparams_per_point``, `jaxopt_lab.layerwise_sgd`)
    judged by the paper's rule (`jaxopt_lab.engine.mean_normalized_loss_rule`), so it gets the
    engine's blocks, threads, devices and progress bar, and its labels and ``measure`` are those
    of the single runs. A run whose parameters, loss or gradient stop being finite is diverged
    (its later losses count as the rule's cap) and its ``final_loss`` is the loss where the
    sweep froze it, the last check at which it was finite. Minibatch training (a loss that
    changes with the step) and ``offset_every_step`` need what a fixed surface cannot express:
    they run as the ``vmap`` of the single runs, ``chunk_size`` cells per call (by default the
    whole grid).

    Args:
      problem: the :func:`trainability_network` problem.
      params: its starting parameters.
      window: ``(x_min, x_max, y_min, y_max)`` in log10, min < max.
      resolution: >= 1 grid points per side.
      plane: ``"learning_rates"`` or ``"offset_and_learning_rate"``.
      num_steps: >= 1 steps per run.
      minibatch_size: B >= 1 examples per step's gradient; None: full batch.
      minibatch_key: PRNG key of the minibatch draws; None: ``PRNGKey(42)``.
      offset_every_step: with ``plane="offset_and_learning_rate"``, whether to add the offset
        before every step (see :func:`train_offset_and_learning_rate`).
      chunk_size: >= 1 grid points trained per call; None: the whole grid at once.

    Returns:
      A `TrainabilityResult` whose fields are ``(resolution, resolution)`` arrays.

    Raises:
      ValueError: if ``plane`` is unknown, a count is not an integer >= 1, or ``window`` does not
        have min < max on both axes.

    >>> problem = trainability_network(width=4)
    >>> params = problem.init(jax.random.split(jax.random.PRNGKey(0))[1])
    >>> picture = trainability_map(problem, params, (-1.0, 4.0, -1.0, 4.0), 8, num_steps=50)
    >>> picture.diverged.shape, bool(picture.diverged[0, 0]), bool(picture.diverged[-1, -1])
    ((8, 8), False, True)
    """
    check_choice("plane", plane, PLANES)
    resolution = check_int("resolution", resolution, 1)
    num_steps = check_int("num_steps", num_steps, 1)
    if minibatch_size is not None:
        minibatch_size = check_int("minibatch_size", minibatch_size, 1)
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, 1)
    x_min, x_max, y_min, y_max = (float(bound) for bound in window)
    if not (x_min < x_max and y_min < y_max):
        raise ValueError(f"window must be (x_min, x_max, y_min, y_max) with min < max, "
                         f"got {window}")
    x_values, y_values = np.meshgrid(np.logspace(x_min, x_max, resolution),
                                     np.logspace(y_min, y_max, resolution))
    x_values, y_values = x_values.ravel(), y_values.ravel()
    if minibatch_size is None and not (plane == PLANES[1] and offset_every_step):
        from jaxopt_lab import _trainability_sweep  # the engine imports after this module

        fields = _trainability_sweep.sweep_map(
            problem.loss, params, x_values, y_values, plane=plane, num_steps=num_steps,
            chunk_size=chunk_size, dtype=problem.inputs.dtype)
    else:
        fields = _direct_map(problem, params, x_values, y_values, plane=plane,
                             num_steps=num_steps, minibatch_size=minibatch_size,
                             minibatch_key=minibatch_key, offset_every_step=offset_every_step,
                             chunk_size=chunk_size)
    return TrainabilityResult(*(field.reshape(resolution, resolution) for field in fields))


def _direct_map(problem: Problem, params: optax.Params, x_values: np.ndarray,
                y_values: np.ndarray, *, plane: str, num_steps: int, minibatch_size: int | None,
                minibatch_key: jax.Array | None, offset_every_step: bool,
                chunk_size: int | None) -> TrainabilityResult:
    """The grid as ``vmap`` of the single runs, ``chunk_size`` cells per call (minibatches
    and the offset added every step, which a sweep's fixed surface cannot express)."""
    options = {"plane": plane, "num_steps": num_steps, "minibatch_size": minibatch_size,
               "offset_every_step": offset_every_step}
    chunk_size = min(chunk_size or x_values.size, x_values.size)
    chunks = []
    for start in range(0, x_values.size, chunk_size):
        # Pad the last chunk with copies of its last point: the same shape, no new compile.
        take = np.minimum(np.arange(start, start + chunk_size), x_values.size - 1)
        chunk = _train_grid(problem.loss, problem.inputs, problem.labels, params,
                            jnp.asarray(x_values[take], problem.inputs.dtype),
                            jnp.asarray(y_values[take], problem.inputs.dtype), minibatch_key,
                            **options)
        chunks.append(jax.tree.map(lambda field: field[: x_values.size - start], chunk))
    return jax.tree.map(lambda *fields: jnp.concatenate(fields), *chunks)
