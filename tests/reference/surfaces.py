"""The catalogue's surfaces written again from their published definitions, in plain Python.

Each function takes a sequence of floats and returns a float, using only ``math``: no jax, no
jaxopt_lab. Sources: Surjanovic & Bingham, "Virtual Library of Simulation Experiments"
(sfu.ca/~ssurjano) and Wikipedia's "Test functions for optimization" for the classic table;
the quadratics, saddles, two-Gaussian bowl and cliff from their stated formulas. Gradients are
taken from these values by finite differences in the tests (`central_gradient`), so neither the
value nor the gradient comes from the code under test.
"""
from __future__ import annotations

import math

PI = math.pi


def quadratic_1d(w):
    return 0.5 * w[0] ** 2


def axis_aligned_quadratic(w):
    return 0.5 * (w[0] ** 2 + 10.0 * w[1] ** 2)


def long_canyon(w):
    """½ wᵀ [[3, 2], [2, 3]] w."""
    return 1.5 * w[0] ** 2 + 2.0 * w[0] * w[1] + 1.5 * w[1] ** 2


def saddle(w):
    return w[0] ** 2 - w[1] ** 2


def anisotropic_saddle(w):
    return 5.0 * w[0] ** 2 - w[1] ** 2


def monkey_saddle(w):
    return w[0] ** 3 - 3.0 * w[0] * w[1] ** 2


def two_gaussian_bowl(w):
    x, y = w
    return (x * x + y * y - 2.0 * math.exp(-((x - 1.0) ** 2 + y * y) / 0.2)
            - 3.0 * math.exp(-((x + 1.0) ** 2 + y * y) / 0.2))


def cliff(w):
    """½‖w‖² + 50·σ(50(x − 1))."""
    return 0.5 * (w[0] ** 2 + w[1] ** 2) + 50.0 / (1.0 + math.exp(-50.0 * (w[0] - 1.0)))


def rosenbrock(w):
    return (1.0 - w[0]) ** 2 + 100.0 * (w[1] - w[0] ** 2) ** 2


def beale(w):
    x, y = w
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
            + (2.625 - x + x * y ** 3) ** 2)


def booth(w):
    return (w[0] + 2.0 * w[1] - 7.0) ** 2 + (2.0 * w[0] + w[1] - 5.0) ** 2


def himmelblau(w):
    return (w[0] ** 2 + w[1] - 11.0) ** 2 + (w[0] + w[1] ** 2 - 7.0) ** 2


def rastrigin(w):
    return 10.0 * len(w) + sum(x * x - 10.0 * math.cos(2.0 * PI * x) for x in w)


def ackley(w):
    x, y = w
    return (-20.0 * math.exp(-0.2 * math.sqrt(0.5 * (x * x + y * y)))
            - math.exp(0.5 * (math.cos(2.0 * PI * x) + math.cos(2.0 * PI * y))) + math.e + 20.0)


def goldstein_price(w):
    x, y = w
    first = 1.0 + (x + y + 1.0) ** 2 * (19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y
                                        + 3.0 * y * y)
    second = 30.0 + (2.0 * x - 3.0 * y) ** 2 * (18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y
                                                - 36.0 * x * y + 27.0 * y * y)
    return first * second


def styblinski_tang(w):
    return 0.5 * sum(x ** 4 - 16.0 * x ** 2 + 5.0 * x for x in w)


def six_hump_camel(w):
    x, y = w
    return (4.0 - 2.1 * x * x + x ** 4 / 3.0) * x * x + x * y + (-4.0 + 4.0 * y * y) * y * y


def three_hump_camel(w):
    x, y = w
    return 2.0 * x * x - 1.05 * x ** 4 + x ** 6 / 6.0 + x * y + y * y


def matyas(w):
    return 0.26 * (w[0] ** 2 + w[1] ** 2) - 0.48 * w[0] * w[1]


def mccormick(w):
    x, y = w
    return math.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1.0


def levi_n13(w):
    x, y = w
    return (math.sin(3.0 * PI * x) ** 2 + (x - 1.0) ** 2 * (1.0 + math.sin(3.0 * PI * y) ** 2)
            + (y - 1.0) ** 2 * (1.0 + math.sin(2.0 * PI * y) ** 2))


def easom(w):
    x, y = w
    return -math.cos(x) * math.cos(y) * math.exp(-((x - PI) ** 2 + (y - PI) ** 2))


def bukin_n6(w):
    x, y = w
    return 100.0 * math.sqrt(abs(y - 0.01 * x * x)) + 0.01 * abs(x + 10.0)


def zakharov(w):
    weighted = sum(0.5 * i * x for i, x in enumerate(w, start=1))
    return sum(x * x for x in w) + weighted ** 2 + weighted ** 4


def central_gradient(fn, w, step):
    """Fourth-order central differences, (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h."""
    gradient = []
    for i in range(len(w)):
        def at(offset):
            shifted = list(w)
            shifted[i] += offset
            return fn(shifted)
        gradient.append((-at(2 * step) + 8 * at(step) - 8 * at(-step) + at(-2 * step))
                        / (12 * step))
    return gradient
