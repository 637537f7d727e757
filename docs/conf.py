"""Sphinx configuration: MyST pages, notebooks rendered from their stored outputs, autodoc API."""
import os
import pathlib
import re
import shutil
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))
os.environ.setdefault("MPLBACKEND", "Agg")

import api_pages  # noqa: E402  (needs the repository on sys.path)

project = "jaxopt_lab"
author = "jaxopt_lab developers"
copyright = "jaxopt_lab developers, Apache-2.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
]

# The notebooks are executed by the test suite (pytest --nbmake); the site shows the outputs
# stored in them, so a build never waits for a sweep.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}

exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_title = "jaxopt_lab"
html_theme_options = {"show_toc_level": 2}
html_static_path = ["_static"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
# Keep the libraries' alias names in signatures instead of the long unions they stand for.
autodoc_type_aliases = {
    name: name for name in (
        "jax.typing.ArrayLike", "ArrayLike", "optax.ScalarOrSchedule", "optax.Schedule",
        "optax.Params", "optax.Updates", "optax.OptState", "chex.Numeric", "chex.Array")
}

autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True

# Cross-references are checked (sphinx-build -n). The libraries below document themselves on
# their own sites, which a build without network cannot reach, so their names are not checked.
nitpick_ignore_regex = [
    (r"py:.*", r"(jax|jaxlib|optax|chex|flax|numpy|np|jnp|matplotlib|scipy|tqdm)(\..*)?"),
    (r"py:.*", r"(typing|collections|enum|os|pathlib|argparse|concurrent)\..*"),
    (r"py:.*", r"(ArrayLike|Array|PRNGKey|Schedule|ScalarOrSchedule|Params|Updates|PyTree)"),
    # jaxopt_lab.surfaces' tuple aliases, shown by name in Surface's signature; the surfaces page
    # documents them.
    (r"py:class", r"(Points|Bounds)"),
]


_LITERAL = re.compile(r"(``.*?``|`[^`]*`)")


def _escape_bars(app, what, name, obj, options, lines: list[str]) -> None:
    # The docstrings write absolute values and norms as |x|, which reST would read as
    # substitution references; outside literals a bar is always a bar there.
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        lines[i] = "".join(part if j % 2 else part.replace("|", r"\|")
                           for j, part in enumerate(parts))


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _escape_bars)


def _copy_notebooks() -> None:
    # myst-nb renders sources inside docs/ only; the notebooks live in notebooks/ for pytest.
    target = DOCS / "notebooks"
    target.mkdir(exist_ok=True)
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        destination = target / notebook.name
        if not destination.exists() or destination.read_bytes() != notebook.read_bytes():
            shutil.copyfile(notebook, destination)


_copy_notebooks()
api_pages.write(DOCS / "api")
api_pages.write_surface_catalogue(DOCS / "_generated" / "surface_catalogue.md")
api_pages.write_benchmark_tables(ROOT / "benchmarks" / "results",
                                 DOCS / "_generated" / "scenarios.md")
