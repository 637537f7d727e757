"""The documentation site builds with warnings as errors, and every public name has a page.

`sphinx-build -W -n` fails on a broken cross-reference, a malformed docstring or a notebook that
does not render; the site is built once per test module into a temporary folder.
"""
import importlib
import inspect
import pathlib
import subprocess
import sys
import types
import zlib

import pytest

import jaxopt_lab as jl

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: A module that `jaxopt_lab.__all__` does not re-export but users import by name.
EXTRA_PUBLIC_MODULES = ("bench",)
#: Seconds the build may take before the test gives up (it takes well under a minute).
BUILD_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("html")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-W", "-n", "--keep-going", "-q", "-b", "html",
         "-d", str(out / ".doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=ROOT)
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stdout}\n{build.stderr}"
    return out


def inventory_names(site: pathlib.Path) -> set[str]:
    """The full names of every Python object the site documents, read from its objects.inv."""
    raw = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four text lines, then the zlib-compressed entries
        header_end = raw.index(b"\n", header_end) + 1
    lines = zlib.decompress(raw[header_end:]).decode().splitlines()
    return {line.split(" ", 1)[0] for line in lines if line.split(" ")[1].startswith("py:")}


def public_modules() -> list[types.ModuleType]:
    names = [n for n in jl.__all__ if isinstance(getattr(jl, n), types.ModuleType)]
    names += [n for n in EXTRA_PUBLIC_MODULES if n not in names]
    return [importlib.import_module(f"jaxopt_lab.{name}") for name in names]


def module_public_names(module: types.ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__]


def expected_pages() -> list[tuple[str, list[str]]]:
    """(public name, the full names under which its page may document it)."""
    expected = []
    for name in jl.__all__:
        obj = getattr(jl, name)
        if name.startswith("_"):
            continue
        if isinstance(obj, types.ModuleType):
            expected.append((f"jaxopt_lab.{name}", [obj.__name__]))
            continue
        where = [f"jaxopt_lab.{name}"]
        if hasattr(obj, "__qualname__"):  # a re-export documented on its module's page
            where.append(f"{obj.__module__}.{obj.__qualname__}")
        expected.append((f"jaxopt_lab.{name}", where))
    for module in public_modules():
        expected += [(f"{module.__name__}.{name}", [f"{module.__name__}.{name}"])
                     for name in module_public_names(module)]
    return expected


def test_site_builds_without_warnings(site):
    assert (site / "index.html").exists()
    assert (site / "references.html").exists()


def test_every_public_name_has_an_api_page(site):
    documented = inventory_names(site)
    missing = [name for name, where in expected_pages() if not documented.intersection(where)]
    assert missing == [], f"public names without an API page: {missing}"


def test_every_notebook_is_rendered(site):
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    missing = [n for n in notebooks if not (site / "notebooks" / f"{n}.html").exists()]
    assert missing == []
