"""Every public function says what it takes and what it gives back, in Google style.

The API reference renders these sections (napoleon): a public function whose docstring lacks
an ``Args:`` entry for one of its parameters, or a ``Returns:`` section while it returns
something, leaves a reader guessing. Public means: a callable in ``jaxopt_lab.__all__``, or in a
public module's ``__all__`` (its own functions where it has none).
"""
from __future__ import annotations

import importlib
import inspect
import re
import types

import pytest

import jaxopt_lab as jl

#: Public modules that ``jaxopt_lab.__all__`` does not re-export.
EXTRA_PUBLIC_MODULES = ("bench",)


def _public_functions() -> dict[str, object]:
    found = {f"jaxopt_lab.{name}": getattr(jl, name) for name in jl.__all__
             if inspect.isfunction(getattr(jl, name))}
    modules = [name for name in jl.__all__ if isinstance(getattr(jl, name), types.ModuleType)]
    for module_name in modules + list(EXTRA_PUBLIC_MODULES):
        module = importlib.import_module(f"jaxopt_lab.{module_name}")
        names = getattr(module, "__all__", None) or [
            name for name, value in vars(module).items()
            if not name.startswith("_") and inspect.isfunction(value)
            and value.__module__ == module.__name__]
        found.update({f"{module.__name__}.{name}": getattr(module, name) for name in names
                      if inspect.isfunction(getattr(module, name))})
    return found


PUBLIC_FUNCTIONS = _public_functions()


def _section(doc: str, title: str) -> str | None:
    """The indented block under ``title:`` in a Google-style docstring, or None."""
    match = re.search(rf"^{title}:\n((?:[ \t]+.*\n?|\n)*)", doc, re.M)
    return match.group(1) if match else None


@pytest.mark.parametrize("name", sorted(PUBLIC_FUNCTIONS))
def test_public_function_documents_its_arguments_and_result(name):
    function = PUBLIC_FUNCTIONS[name]
    doc = inspect.getdoc(function) or ""
    signature = inspect.signature(function)
    parameters = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    if parameters:
        args = _section(doc, "Args")
        assert args is not None, f"{name}: no Args: section"
        for parameter in parameters:
            prefix = {inspect.Parameter.VAR_POSITIONAL: r"\*",
                      inspect.Parameter.VAR_KEYWORD: r"\*\*"}.get(parameter.kind, "")
            assert re.search(rf"^\s+{prefix}{parameter.name}\b.*:", args, re.M), \
                f"{name}: Args: does not describe {parameter.name!r}"
    returns_nothing = signature.return_annotation in (None, "None")
    if not returns_nothing:
        assert _section(doc, "Returns") is not None or _section(doc, "Yields") is not None, \
            f"{name}: no Returns: section"
