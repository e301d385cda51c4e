"""One validation module: the same check gives the same exception and message everywhere."""

import numpy as np
import pytest

from adaptive_lr import validation
from adaptive_lr.diagnostics import detect_loss_spikes
from adaptive_lr.objectives import Quadratic
from adaptive_lr.objectives.base import check_positive_int
from adaptive_lr.optim import adafactor_state_size
from adaptive_lr.run import run


@pytest.mark.parametrize(
    "call",
    [
        lambda: validation.positive_int("n", 2.5),
        lambda: check_positive_int("n", 2.5),  # objectives
        lambda: adafactor_state_size(2.5, 3),  # optim
    ],
)
def test_a_non_integer_count_is_a_type_error_with_one_message(call):
    with pytest.raises(TypeError, match=r"^n must be an integer >= 1, got 2\.5 of type float$"):
        call()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: validation.integer("k", True, 0), TypeError, r"k must be an integer >= 0, got True"),
        (lambda: validation.integer("window", 2, 3, "a median needs a few points"), ValueError,
         r"window must be an integer >= 3 \(a median needs a few points\), got 2"),
        (lambda: validation.nonneg_int("seed", -1), ValueError, r"seed must be an integer >= 0, got -1"),
        (lambda: validation.finite_real("bias", float("inf")), ValueError, r"bias must be finite, got inf"),
        (lambda: validation.finite_real("bias", "1"), TypeError, r"bias must be a real number, got str"),
        (lambda: validation.closed_unit_interval("p", 1.5), ValueError, r"p must be in \[0, 1\], got 1\.5"),
        (lambda: validation.at_least("x", 0.5, 1.0), ValueError, r"x must be a finite number >= 1, got 0\.5"),
        (lambda: validation.one_of("mode", "x", ("a", "b")), ValueError, r"mode must be one of \('a', 'b'\), got 'x'"),
        (lambda: validation.unit_interval("beta1", 1.2), ValueError, r"beta1 must be in \[0, 1\), got 1\.2"),
        (lambda: validation.as_float_array("X", np.array(["a"])), TypeError, r"X must hold real numbers"),
    ],
)
def test_each_check_objects_to_a_bad_value(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_run_and_diagnostics_use_the_same_checks():
    with pytest.raises(TypeError, match=r"steps must be an integer >= 0, got 2\.5 of type float"):
        run("adam", Quadratic.two_d(), 2.5)
    with pytest.raises(ValueError, match=r"threshold must be a finite number > 0, got 0\.0"):
        detect_loss_spikes(np.ones(10), threshold=0.0)
    assert validation.integer("k", np.int64(3), 1) == 3 and validation.one_of("m", "a", "ab") == "a"
