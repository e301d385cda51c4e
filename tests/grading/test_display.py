"""A failing test cell shows the verdict first and none of the grading package's frames."""

from __future__ import annotations

import re

import nbformat
import pytest

from adaptive_lr.grading import display

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELLS = [
    "import numpy as np\nfrom adaptive_lr.grading import check",
    "x = 1\ncheck.close(np.array([1.0, 2.0]), [1.0, 2.5], 'theta after one step', hint='Add grad**2 first.')",
    "def f(theta, grad, accum, lr=1e-2, eps=1e-10):\n    return theta + undefined_name\n"
    "check.call(f, np.ones(2), np.ones(2), np.zeros(2))",
    "assert 1 == 2, 'a student assert'",
    "def g(:\n  pass",
    "print('still running')",
]


@pytest.fixture(scope="module")
def errors():
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in CELLS]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    out = {}
    for i, cell in enumerate(nb.cells):
        for o in cell.outputs:
            if o.output_type == "error":
                out[i] = (o.ename, ANSI.sub("", "\n".join(o.traceback)))
            elif o.output_type == "stream":
                out[i] = ("stream", o.text)
    return out


def test_verdict_comes_first_with_the_failing_line(errors):
    ename, text = errors[1]
    assert ename == "AssertionError"  # the cell still fails: Validate and autograde see the same
    assert text.startswith("AssertionError: theta after one step: expected [1, 2.5], got [1, 2] "), text
    assert "line 2 of this cell: check.close(" in text
    assert "check.py" not in text and "raise AssertionError" not in text and "Traceback" not in text


def test_student_error_keeps_the_students_frames_only(errors):
    ename, text = errors[2]
    assert ename == "NameError"
    assert "undefined_name" in text and "return theta + undefined_name" in text
    assert "guard.py" not in text and "check.py" not in text and "grading" not in text


def test_other_errors_are_shown_as_usual(errors):
    assert errors[3][0] == "AssertionError" and "Traceback" in errors[3][1]
    assert "a student assert" in errors[3][1]
    assert errors[4][0] == "SyntaxError" and "invalid syntax" in errors[4][1]
    assert errors[5] == ("stream", "still running\n")


def test_install_outside_ipython_does_nothing():
    assert display.install() is False


def test_trimming_leaves_outer_frames():
    def inner():
        raise ValueError("x")

    try:
        inner()
    except ValueError as exc:
        tb = exc.__traceback__
    assert display.without_internal_frames(tb) is not None
    assert not display.is_verdict(ValueError, tb)
