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
            kind = "class" if inspect.isclass(obj) else "function"
            lines += [f".. py:{kind}:: {name}", "",
                      f"   The same object as :py:{'class' if kind == 'class' else 'func'}:"
                      f"`{elsewhere}`, documented with its module.", ""]
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
        "top_level": _top_level_page(
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
    entries = [f"generated/{name}" for name in pages]
    toctree = ["```{toctree}", ":maxdepth: 1", "", *entries, "```"]
    _write_if_changed(api_dir.parent / "_generated" / "api_toctree.md", "\n".join(toctree) + "\n")


def _write_if_changed(path: pathlib.Path, text: str) -> None:
    # An unchanged file keeps its time stamp, so an incremental build does not redo its page.
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _describe(surface) -> str:
    # Catalogue functions carry a one-line formula; the quadratics are callable objects.
    doc = surface.fn.__doc__ if inspect.isfunction(surface.fn) else "a quadratic ½ wᵀAw"
    first = (doc or "").strip().splitlines()[0] if (doc or "").strip() else ""
    return first.replace("|", "\\|")


def write_surface_catalogue(path: pathlib.Path) -> None:
    """Writes the catalogue table of ``jl.surfaces`` (a MyST fragment) to ``path``."""
    rows = ["| name | dim | domain | minima | f at the best minimum | what it is |",
            "|---|---|---|---|---|---|"]
    for name in jaxopt_lab.surfaces.names():
        surface = jaxopt_lab.surfaces.get(name)
        low, high = surface.bounds[0]
        same = all(bound == surface.bounds[0] for bound in surface.bounds)
        domain = (f"[{low:g}, {high:g}]^{surface.dim}" if same
                  else " × ".join(f"[{l:g}, {h:g}]" for l, h in surface.bounds))
        best = "—" if surface.f_min is None else f"{surface.f_min:.6g}"
        rows.append(f"| `{name}` | {surface.dim} | {domain} | {len(surface.minima)} "
                    f"| {best} | {_describe(surface)} |")
    text = "\n".join(rows) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _scenario_table(path: pathlib.Path) -> str:
    import json
    import statistics

    rows = json.loads(path.read_text())["rows"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["optimizer"], row["surface"]), []).append(row)
    lines = ["| optimizer | surface | runs | best point-steps/s "
             "| ratio to hand-written, median (range) |",
             "|---|---|---|---|---|"]
    for (optimizer, surface), group in sorted(groups.items()):
        ratios = [row["ratio"] for row in group]
        best = max(row["point_steps_per_second"] for row in group)
        lines.append(f"| {optimizer} | {surface} | {len(group)} | {best:.2e} | "
                     f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |")
    env = json.loads(path.read_text()).get("environment", {})
    versions = ", ".join(f"{key} {env[key]}" for key in ("device", "jax", "optax") if key in env)
    return "\n".join(lines) + f"\n\nRecorded in `benchmarks/results/{path.name}` ({versions}).\n"


def write_benchmark_tables(results_dir: pathlib.Path, path: pathlib.Path) -> None:
    """Writes a summary of ``benchmarks/results/scenarios_*.json`` (a MyST fragment) to ``path``.

    A record in an unexpected format is reported as such instead of failing the build: the
    benchmarks' own README describes every record in full.
    """
    parts = []
    for record in sorted(results_dir.glob("scenarios_*.json")):
        try:
            parts.append(_scenario_table(record))
        except (KeyError, TypeError, ValueError):
            parts.append(f"`benchmarks/results/{record.name}` is in a format this page does not "
                         "summarize; see the benchmarks' README.\n")
    text = "\n".join(parts) or "No scenario records are stored yet.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
