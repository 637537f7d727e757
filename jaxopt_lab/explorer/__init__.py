"""The convergence explorer: a local web page that recomputes `jl.sweep` maps as you move sliders.

    $ jaxopt-lab serve            # then open the printed URL

or, in a notebook, ``jl.explorer.show()``. The page and scripts share one JSON API, described
at ``/docs`` (FastAPI's OpenAPI page) while the server runs.
"""
from jaxopt_lab.explorer._app import create_app as create_app
from jaxopt_lab.explorer._models import Limits as Limits
from jaxopt_lab.explorer._server import serve as serve
from jaxopt_lab.explorer._server import show as show
from jaxopt_lab.explorer._server import start_background as start_background
from jaxopt_lab.explorer._server import use_compilation_cache as use_compilation_cache

__all__ = ["Limits", "create_app", "serve", "show", "start_background", "use_compilation_cache"]
