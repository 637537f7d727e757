"""Old path of `jaxopt_lab._validation`, kept while modules outside the engine still import it."""
from jaxopt_lab._validation import *  # noqa: F401,F403
from jaxopt_lab._validation import concrete_value  # noqa: F401
