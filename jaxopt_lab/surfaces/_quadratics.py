"""Quadratics E = ½ wᵀAw + bᵀw + c, rotated and random-spectrum ones."""
from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab._validation import real_array
from jaxopt_lab.surfaces._surface import Bounds, Surface, _as_tuple, make_surface

# --- quadratics: E = ½ wᵀAw + bᵀw + c, and the long canyon ---------------------------------------




@dataclasses.dataclass(frozen=True)
class Quadratic:
    """½ wᵀAw + bᵀw + c, with ``A``, ``b`` stored as tuples so it hashes."""

    A: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: float

    @functools.cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.A, dtype=float), np.asarray(self.b, dtype=float)

    @functools.cached_property
    def eigenvalues(self) -> np.ndarray:
        """``A``'s eigenvalues, ascending: the curvatures along its principal axes.

        >>> quadratic([[3.0, 2.0], [2.0, 3.0]]).fn.eigenvalues.round(12).tolist()
        [1.0, 5.0]
        """
        return np.linalg.eigvalsh(self._arrays[0])

    def __call__(self, w: jax.Array) -> jax.Array:
        A, b = self._arrays
        w = jnp.asarray(w)
        return 0.5 * w @ (A.astype(w.dtype) @ w) + b.astype(w.dtype) @ w + self.c


def quadratic(
    A,
    b=None,
    c: float = 0.0,
    *,
    name: str = "quadratic",
    bounds: Bounds | None = None,
) -> Surface:
    """The surface ½ wᵀAw + bᵀw + c for a symmetric ``(dim, dim)`` matrix ``A``.

    The critical point w* = −A⁻¹b is listed as the minimum (with f_min = c − ½ bᵀA⁻¹b) when A
    is positive definite, as a saddle when A is indefinite and invertible; nothing is listed
    otherwise. ``bounds`` defaults to the box of half-width 2 around w* (around 0 if A is
    singular).

    Args:
      A: the symmetric ``(dim, dim)`` matrix (array-like), dim >= 1.
      b: the linear term, ``dim`` numbers; ``None`` (default) means zero.
      c: the constant term, one number.
      name: the surface's name.
      bounds: the box, one ``(low, high)`` pair per coordinate; ``None`` (default) is the box
        of half-width 2 around w*.

    Returns:
      The `Surface`, its ``fn`` a hashable `Quadratic`.

    Raises:
      ValueError: if ``A`` is not square or not symmetric, ``b`` does not match it, ``c`` is
        not one number, or a value is not finite.
      TypeError: if ``A``, ``b`` or ``c`` is not real numbers.

    >>> surface = quadratic([[2.0, 0.0], [0.0, 4.0]], b=[-2.0, 0.0], c=1.0)
    >>> surface.minima, surface.f_min
    (((1.0, -0.0),), 0.0)
    >>> surface == quadratic([[2.0, 0.0], [0.0, 4.0]], b=[-2.0, 0.0], c=1.0)
    True
    """
    A = real_array("A", A)
    dim = A.shape[0] if A.ndim == 2 else -1
    if A.shape != (dim, dim) or dim < 1:
        raise ValueError(f"A must be a square (dim, dim) matrix, got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
        raise ValueError("A must be symmetric, got a matrix with A != A.T")
    A = 0.5 * (A + A.T)
    b = np.zeros(dim) if b is None else real_array("b", b).reshape(-1)
    if real_array("c", c).shape != ():
        raise ValueError(f"c must be one number, got shape {np.shape(c)}")
    if b.shape != (dim,):
        raise ValueError(f"b must have shape ({dim},) to match A, got {b.shape}")
    eigenvalues = np.linalg.eigvalsh(A)
    fields: dict = {}
    center = np.zeros(dim)
    if np.all(eigenvalues != 0.0):
        center = -np.linalg.solve(A, b)
        if np.all(eigenvalues > 0.0):
            fields["minima"] = (_as_tuple(center),)
            fields["f_min"] = float(c + 0.5 * b @ center)
        elif np.any(eigenvalues > 0.0):
            fields["saddles"] = (_as_tuple(center),)
    if bounds is None:
        bounds = tuple((float(x - 2.0), float(x + 2.0)) for x in center)
    fn = Quadratic(A=_as_tuple(A), b=_as_tuple(b), c=float(c))
    return make_surface(name, fn, bounds, **fields)


def quadratic_1d(a: float, b: float = 0.0, c: float = 0.0, *, name: str = "quadratic_1d",
                 bounds: Bounds | None = None) -> Surface:
    """E(w) = ½·a·w² + b·w + c on one coordinate: minimum −b/a when a > 0.

    Args:
      a: the curvature, one number.
      b: the linear coefficient.
      c: the constant term.
      name: the surface's name.
      bounds: the interval as ``((low, high),)``; ``None`` (default) is half-width 2 around
        −b/a (around 0 if a = 0).

    Returns:
      The one-dimensional `Surface` (see `quadratic`).

    Raises:
      ValueError: if a coefficient is not one finite number.
      TypeError: if a coefficient is not a real number.
    """
    return quadratic([[a]], [b], c, name=name, bounds=bounds)


def rotated_quadratic(eigenvalues, angle: float, *, b=None, c: float = 0.0,
                      name: str = "rotated_quadratic", bounds: Bounds | None = None) -> Surface:
    """½ wᵀAw + bᵀw + c with A = R diag(λ₁, λ₂) Rᵀ, R the rotation by ``angle`` (radians).

    λ₁ is the curvature along (cos angle, sin angle), λ₂ along (−sin angle, cos angle); angle 0
    gives the axis-aligned quadratic.

    Args:
      eigenvalues: (λ₁, λ₂), two numbers.
      angle: the rotation in radians, one number.
      b: the linear term, two numbers; ``None`` (default) means zero.
      c: the constant term, one number.
      name: the surface's name.
      bounds: the box, two ``(low, high)`` pairs; ``None`` (default) as in `quadratic`.

    Returns:
      The two-dimensional `Surface` (see `quadratic`).

    Raises:
      ValueError: if ``eigenvalues`` is not two numbers or ``angle`` not one number.
      TypeError: if they are not real numbers.

    >>> import math, numpy as np
    >>> canyon = rotated_quadratic((5.0, 1.0), math.pi / 4)
    >>> np.round(np.asarray(canyon.fn.A), 12).tolist()
    [[3.0, 2.0], [2.0, 3.0]]
    """
    eigenvalues = real_array("eigenvalues", eigenvalues)
    if eigenvalues.shape != (2,):
        raise ValueError(f"eigenvalues must be two numbers, got shape {eigenvalues.shape}")
    if real_array("angle", angle).shape != ():
        raise ValueError(f"angle must be one number (radians), got shape {np.shape(angle)}")
    cos, sin = math.cos(angle), math.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    return quadratic(rotation @ np.diag(eigenvalues) @ rotation.T, b, c, name=name, bounds=bounds)


def _deep_learning_spectrum(dim: int = 100, seed: int = 0) -> Surface:
    """100-D ½ wᵀAw: 90 eigenvalues uniform in (0, 1), 10 in (30, 60), rotated (PRNG key 0)."""
    rng = np.random.default_rng(seed)
    num_large = dim // 10
    eigenvalues = np.concatenate([rng.uniform(0.0, 1.0, dim - num_large),
                                  rng.uniform(30.0, 60.0, num_large)])
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    rotation = q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix
    return quadratic(rotation @ np.diag(eigenvalues) @ rotation.T, name="deep_learning_spectrum",
                     bounds=((-1.0, 1.0),) * dim)
