"""The optimizers' published formulas written again, by hand and per array: the oracle.

One module per optimizer family; tests import them as ``from reference.<family> import ...``.
Nothing here imports jaxopt_lab: the point is to be a second, independent reading of the slides.
"""
