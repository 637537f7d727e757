"""Writes the API reference's pages from the package itself, so a new public name gets a page.

One page per public module (``automodule`` with ``:members:``), one for the optimizers exported
by ``jaxopt_lab``, and one for the rest of the top-level names (the engine: ``jl.sweep``,
``jl.SweepResult``, ...), documented as ``jaxopt_lab.<name>`` wherever they are implemented.
"""
from __future__ import annotations

import inspect
import pathlib
import types

import jaxopt_lab

#: Public modules that ``jaxopt_lab.__all__`` does not re-export.
EXTRA_MODULES = ("bench",)
OPTIMIZERS_PACKAGE = "jaxopt_lab.optimizers"


def public_modules() -> list[str]:
    """Names of the public submodules: those in ``jaxopt_lab.__all__`` and ``EXTRA_MODULES``."""
    exported = [name for name in jaxopt_lab.__all__
                if isinstance(getattr(jaxopt_lab, name), types.ModuleType)]
    return exported + [name for name in EXTRA_MODULES if name not in exported]


def module_public_names(module: types.ModuleType) -> list[str]:
    """A module's ``__all__``, or else the functions and classes it defines without a leading _."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__]


def documented_elsewhere(obj: object) -> str | None:
    """The full name under which a public module's page documents ``obj``, if one does."""
    module_name = getattr(obj, "__module__", None) or ""
    for name in public_modules():
        if module_name == f"jaxopt_lab.{name}":
            return f"{module_name}.{obj.__qualname__}"
    return None


def _directive(name: str, obj: object) -> str:
    if inspect.isclass(obj):
        return f".. autoclass:: jaxopt_lab.{name}\n   :members:\n   :undoc-members:\n"
    if callable(obj):
        return f".. autofunction:: jaxopt_lab.{name}\n"
    return f".. autodata:: jaxopt_lab.{name}\n   :annotation:\n"


def _top_level_page(title: str, intro: str, names: list[str]) -> str:
    lines = [title, "=" * len(title), "", intro, "", ".. currentmodule:: jaxopt_lab", ""]
    for name in names:
        obj = getattr(jaxopt_lab, name)
        elsewhere = documented_elsewhere(obj)
        if elsewhere:
            lines += [f"``jaxopt_lab.{name}`` is :py:obj:`{elsewhere}`.", ""]
        else:
            lines += [_directive(name, obj)]
    return "\n".join(lines)


def _top_level_names() -> tuple[list[str], list[str]]:
    optimizers, engine = [], []
    for name in jaxopt_lab.__all__:
        obj = getattr(jaxopt_lab, name)
        if isinstance(obj, types.ModuleType) or name.startswith("_"):
            continue
        module_name = getattr(obj, "__module__", "") or ""
        is_optimizer = module_name.startswith(OPTIMIZERS_PACKAGE) or name == "reduce_on_plateau"
        (optimizers if is_optimizer else engine).append(name)
    return optimizers, engine


def write(api_dir: pathlib.Path) -> None:
    """Writes ``api_dir/generated/*.rst``; files whose text is unchanged are left alone."""
    out = api_dir / "generated"
    out.mkdir(parents=True, exist_ok=True)
    optimizers, engine = _top_level_names()
    pages = {
        "optimizers": _top_level_page(
            "Optimizers (jaxopt_lab.*)",
            "Every optimizer is an optax transformation, exported at the top level: "
            "``jl.adam(...)``. The guide's :doc:`/guide/optimizers` page gives their equations.",
            optimizers),
        "engine": _top_level_page(
            "The sweep engine and the rest of the package (jaxopt_lab.*)",
            "The engine's public names live at the top level: ``jl.sweep``, "
            "``jl.SweepResult``, ... (see :doc:`/guide/engine`).",
            engine),
    }
    for name in public_modules():
        title = f"jaxopt_lab.{name}"
        pages[name] = f"{title}\n{'=' * len(title)}\n\n.. automodule:: jaxopt_lab.{name}\n"
    for name, text in pages.items():
        path = out / f"{name}.rst"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    for stale in out.glob("*.rst"):
        if stale.stem not in pages:
            stale.unlink()
