"""The catalogue: every named surface, built once (`get`, `names`)."""
from __future__ import annotations

import functools
from typing import Callable

from jaxopt_lab.surfaces import _classic
from jaxopt_lab.surfaces._local import _local_surfaces
from jaxopt_lab.surfaces._surface import Surface

# --- the catalogue ------------------------------------------------------------------------------


@functools.cache
def _builders() -> dict[str, Callable[[], Surface]]:
    return {**_local_surfaces(), **_classic.builders()}


def names() -> tuple[str, ...]:
    """Names of the catalogued surfaces, quadratics and saddles first, then the classic table.

    Returns:
      A tuple of str, the names `get` accepts, in catalogue order.
    """
    return tuple(_builders())


@functools.cache
def get(name: str) -> Surface:
    """The catalogued surface ``name``; the same object on every call (one jit compilation).

    Args:
      name: a catalogue name, one of `names()`.

    Returns:
      The `Surface` registered under ``name``, built on the first call and cached.

    Raises:
      KeyError: if ``name`` is not in the catalogue.

    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown surface 'nope'; known: quadratic_1d, ..."
    """
    builders = _builders()
    if name not in builders:
        raise KeyError(f"unknown surface {name!r}; known: {', '.join(builders)}")
    return builders[name]()
