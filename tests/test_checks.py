"""The shared argument checks: counts (`check_int`) and tolerances (`check_tolerance`)."""
import math

import numpy as np
import pytest

from jaxopt_lab._validation import check_int, check_tolerance


@pytest.mark.parametrize("value, low, high, expected", [
    (1, 1, math.inf, 1),
    (np.int64(7), 1, 10, 7),   # NumPy ints are counts too (e.g. from np.arange)
    (10, 1, 10, 10),           # both ends are included
    (np.int32(2), 2, math.inf, 2),
])
def test_check_int_accepts_integers_in_range_and_returns_a_python_int(value, low, high, expected):
    result = check_int("count", value, low, high)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value, low, high, match", [
    (0, 1, math.inf, r"count must be an integer in \[1, inf\], got 0"),
    (11, 1, 10, r"count must be an integer in \[1, 10\], got 11"),
    (True, 0, math.inf, r"count must be an integer in \[0, inf\], got True"),
    (np.bool_(True), 0, math.inf, r"count must be an integer in \[0, inf\], got"),
    (3.0, 1, math.inf, r"count must be an integer in \[1, inf\], got 3.0"),
    ("3", 1, math.inf, r"count must be an integer in \[1, inf\], got '3'"),
    (None, 1, math.inf, r"count must be an integer in \[1, inf\], got None"),
])
def test_check_int_rejects_non_integers_and_values_out_of_range(value, low, high, match):
    with pytest.raises(ValueError, match=match):
        check_int("count", value, low, high)


@pytest.mark.parametrize("value, default, expected", [
    (None, 1e-8, 1e-8),
    (0, 1e-8, 0.0),            # zero: never stop on this test
    (np.float32(0.5), 1e-8, 0.5),
    (math.inf, 1e-8, math.inf),
])
def test_check_tolerance_accepts_nonnegative_numbers(value, default, expected):
    result = check_tolerance("tol", value, default)
    assert result == expected and type(result) is float


@pytest.mark.parametrize("value", [-1.0, math.nan, True, "0.1", np.array([0.1, 0.2])])
def test_check_tolerance_rejects_negative_nan_and_non_numbers(value):
    with pytest.raises(ValueError, match=r"tol must be a number in \[0, inf\), got"):
        check_tolerance("tol", value, 1e-8)
