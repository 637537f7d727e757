"""Newton's method, damped and saddle-free, with a dense and a matrix-free (CG) solver.

Fit a quadratic at the current point and step to its minimum (Nocedal & Wright 2006, §3.3),

    w ← w − η · H⁻¹ ∇E(w),        H = ∇²E(w),

which reaches the minimum of a strictly convex quadratic in one step with η = 1, oscillates
towards it for 1 < η < 2 and diverges for η > 2 (on a quadratic the error is multiplied by
1 − η each step). Two answers to the method's known problems (an indefinite or near-singular H)
are options here:

* ``damping`` (δ >= 0) solves (H + δ·I)·d = g, diagonal loading (Levenberg 1944 adapts δ; see
  ``levenberg_marquardt``);
* ``saddle_free=True`` uses |H| = Q·|Λ|·Qᵀ (Dauphin et al. 2014) instead of H = Q·Λ·Qᵀ: along a
  negative-curvature direction the step goes downhill instead of towards the saddle.

``scale_by_newton`` returns d (the gradient's sign); ``newton`` chains it with
``optax.scale_by_learning_rate``, so η may be a schedule. The Hessian is taken of ``value_fn``
over the flattened parameter pytree (``jax.flatten_util.ravel_pytree``).

Solvers (``solver=``):

* ``"dense"`` forms the n×n Hessian and eigendecomposes it, O(n²) memory and O(n³) time: the
  right choice for the sweep engine's 2-6 dimensional surfaces and for anything up to a few
  hundred parameters; required by ``saddle_free`` (|H| needs the eigenvectors).
* ``"cg"`` never forms H: it solves (H + δ·I)·d = g by conjugate gradients on Hessian-vector
  products (forward-over-reverse), O(n) memory, ``max_cg_steps`` products per step. This is
  "Hessian-free" Newton for models with many parameters (Martens 2010; 10⁵ parameters give 10¹⁰
  Hessian entries). CG assumes H + δ·I positive definite; on indefinite Hessians it may return a
  large or non-finite step, so add damping there.
* ``"auto"`` (default) is ``"dense"`` up to ``DENSE_MAX_DIM`` parameters or with
  ``saddle_free``, ``"cg"`` above.

Singular Hessians (an eigenvalue of H + δ·I exactly zero) give a non-finite update (inf or nan),
never an exception: the sweep engine records that point as diverged.

>>> import jax.numpy as jnp
>>> import optax
>>> import jaxopt_lab as jl
>>> loss = lambda w: 0.5 * (3.0 * w[0] ** 2 + w[1] ** 2) + w[0] * w[1]
>>> tx = jl.newton(learning_rate=1.0)
>>> params = jnp.array([4.0, -2.0])
>>> state = tx.init(params)
>>> grads = jnp.array([3.0 * 4.0 - 2.0, -2.0 + 4.0])
>>> updates, state = tx.update(grads, state, params, value_fn=loss)
>>> print(jnp.round(optax.apply_updates(params, updates), 6))  # the minimum, in one step
[ 0. -0.]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import (
    check_bool,
    check_choice,
    check_int,
    check_learning_rate,
    check_nonnegative,
    check_shapes_at_init,
    require_extra_arg,
)

#: ``solver="auto"`` forms the dense Hessian up to this many parameters (an 8 MiB float64 matrix
#: whose eigendecomposition takes milliseconds), and switches to matrix-free CG above it.
DENSE_MAX_DIM = 1024
#: Relative residual at which CG stops, ‖r‖ <= CG_TOL · ‖g‖ (float32 stops at max_cg_steps).
CG_TOL = 1e-10
SOLVERS = ("auto", "dense", "cg")


class ScaleByNewtonState(NamedTuple):
    """State of ``scale_by_newton``: the step counter only (Newton keeps no memory)."""

    count: jax.Array  # int32, number of updates taken


def flat_problem(
    updates: optax.Updates,
    params: optax.Params | None,
    value_fn: Callable[..., jax.Array] | None,
    optimizer: str,
):
    """``(flat_params, flat_grad, flat_value_fn, unravel)``: the loss of a parameter pytree as a
    loss of one flat vector, for the second-order updates; ``value_fn`` and ``params`` required.
    """
    value_fn = require_extra_arg("value_fn", value_fn, optimizer)
    if params is None:
        raise TypeError(f"{optimizer} needs `params` (the point at which to take the Hessian)")
    flat_params, unravel = jax.flatten_util.ravel_pytree(params)
    flat_grad, _ = jax.flatten_util.ravel_pytree(updates)
    return flat_params, flat_grad, (lambda flat: value_fn(unravel(flat))), unravel


def hessian_of(flat_value_fn: Callable[[jax.Array], jax.Array], flat_params: jax.Array):
    """The dense Hessian of a loss of a flat vector (forward-over-reverse)."""
    return jax.hessian(flat_value_fn)(flat_params)


def solve_shifted(
    hessian: jax.Array, grad: jax.Array, shift: jax.typing.ArrayLike, *, saddle_free: bool = False
) -> jax.Array:
    """d = (H + shift·I)⁻¹ g, or (|H| + shift·I)⁻¹ g, through H = Q·Λ·Qᵀ.

    The eigendecomposition serves both cases and makes a singular system visible: a zero
    eigenvalue divides by zero (inf, or nan where the gradient has no component along it).
    """
    eigenvalues, eigenvectors = jnp.linalg.eigh(hessian)
    if saddle_free:
        eigenvalues = jnp.abs(eigenvalues)
    coordinates = eigenvectors.T @ grad
    return eigenvectors @ (coordinates / (eigenvalues + shift))


def solve_shifted_cg(
    flat_value_fn: Callable[[jax.Array], jax.Array],
    flat_params: jax.Array,
    grad: jax.Array,
    shift: jax.typing.ArrayLike,
    max_steps: int,
) -> jax.Array:
    """d = (H + shift·I)⁻¹ g by conjugate gradients on Hessian-vector products; H never formed."""
    gradient_fn = jax.grad(flat_value_fn)

    def shifted_hvp(vector: jax.Array) -> jax.Array:
        return jax.jvp(gradient_fn, (flat_params,), (vector,))[1] + shift * vector

    direction, _ = jax.scipy.sparse.linalg.cg(
        shifted_hvp, grad, tol=CG_TOL, atol=0.0, maxiter=max_steps
    )
    return direction


def scale_by_newton(
    damping: jax.typing.ArrayLike = 0.0,
    *,
    saddle_free: bool = False,
    solver: str = "auto",
    max_cg_steps: int | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Newton direction d = (H + δ·I)⁻¹ g (or (|H| + δ·I)⁻¹ g), with the gradient's sign.

    Args:
      damping: δ >= 0 added to the Hessian's diagonal (0: plain Newton).
      saddle_free: use |H| = Q·|Λ|·Qᵀ (Dauphin et al. 2014); needs the dense solver.
      solver: ``"auto"``, ``"dense"`` or ``"cg"``, see the module docstring.
      max_cg_steps: CG iterations per step (``None``: the number of parameters, exact in exact
        arithmetic); only used by the CG solver.

    The update needs the extra arg ``value_fn`` (params -> scalar loss); ``updates`` is the
    gradient at ``params``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (state ``ScaleByNewtonState``) whose
      ``update`` returns the direction d (like params, not yet scaled by −η) and the new state.

    Raises:
      ValueError: if ``damping`` is negative, ``solver`` is not one of the three solvers or is
        ``"cg"`` with ``saddle_free=True``, or ``max_cg_steps`` is not an integer >= 1.
      TypeError: if ``saddle_free`` is not a bool.
    """
    check_nonnegative("damping", damping)
    check_choice("solver", solver, SOLVERS)
    check_bool("saddle_free", saddle_free)
    if saddle_free and solver == "cg":
        raise ValueError("solver must be 'dense' or 'auto' when saddle_free=True, got 'cg'")
    if max_cg_steps is not None:
        max_cg_steps = check_int("max_cg_steps", max_cg_steps, 1)

    def init_fn(params: optax.Params) -> ScaleByNewtonState:
        del params
        return ScaleByNewtonState(count=jnp.zeros([], jnp.int32))

    def update_fn(
        updates: optax.Updates,
        state: ScaleByNewtonState,
        params: optax.Params | None = None,
        *,
        value_fn: Callable[..., jax.Array] | None = None,
        **extra_args: Any,
    ) -> tuple[optax.Updates, ScaleByNewtonState]:
        del extra_args
        flat_params, flat_grad, flat_value_fn, unravel = flat_problem(
            updates, params, value_fn, "newton"
        )
        shift = jnp.asarray(damping, flat_params.dtype)
        dense = solver == "dense" or (
            solver == "auto" and (saddle_free or flat_params.size <= DENSE_MAX_DIM)
        )
        if dense:
            hessian = hessian_of(flat_value_fn, flat_params)
            direction = solve_shifted(hessian, flat_grad, shift, saddle_free=saddle_free)
        else:
            max_steps = flat_params.size if max_cg_steps is None else max_cg_steps
            direction = solve_shifted_cg(flat_value_fn, flat_params, flat_grad, shift, max_steps)
        return unravel(direction), ScaleByNewtonState(
            count=optax.safe_increment(state.count)
        )

    return check_shapes_at_init(
        optax.GradientTransformationExtraArgs(init_fn, update_fn), elementwise=False,
        damping=damping,
    )


def newton(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    damping: jax.typing.ArrayLike = 0.0,
    *,
    saddle_free: bool = False,
    solver: str = "auto",
    max_cg_steps: int | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Newton's method w ← w − η·(H + δ·I)⁻¹·∇E(w); needs ``value_fn``.

    Args:
      learning_rate: η > 0 (default 1, exact on quadratics; diverges on quadratics for η > 2),
        or a schedule.
      damping: δ >= 0, see ``scale_by_newton``.
      saddle_free: use |H| so that saddles repel, see ``scale_by_newton``.
      solver: ``"auto"`` | ``"dense"`` | ``"cg"``: dense eigendecomposition for small models,
        conjugate gradients on Hessian-vector products for large ones (module docstring).
      max_cg_steps: CG iterations per step for the CG solver (``None``: number of parameters).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose ``update`` (which needs ``params`` and
      ``value_fn``) returns the step −η·(H + δ·I)⁻¹·∇E(w) and the new state.

    Raises:
      ValueError: if ``learning_rate`` is ``None`` or not > 0, or another argument is out of
        range as in ``scale_by_newton``.
      TypeError: if ``saddle_free`` is not a bool.
    """
    check_learning_rate(learning_rate)
    return check_shapes_at_init(
        optax.chain(
            scale_by_newton(
                damping, saddle_free=saddle_free, solver=solver, max_cg_steps=max_cg_steps
            ),
            optax.scale_by_learning_rate(learning_rate),
        ),
        elementwise=False, learning_rate=learning_rate,
    )
