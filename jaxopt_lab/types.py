"""Old path of `jaxopt_lab.Status`, kept while modules outside the engine still import it."""
from jaxopt_lab.engine._status import STATUS_DTYPE, Status  # noqa: F401
