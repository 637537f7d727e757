"""One module per optimizer family; the public names are re-exported by `jaxopt_lab`.

Each public optimizer is an optax transformation: `scale_by_x(...)` gives a direction with the
gradient's sign, and `x(learning_rate, ...)` chains it with `optax.scale_by_learning_rate`.
"""
