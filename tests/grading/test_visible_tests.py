"""The visible tests of the exercise notebook catch every catalogued mistake, and pass the solution.

A student runs only the visible tests before submitting: a mistake that they
let through is found only in the grade. Each test cell ``NNd_visible`` of
``source/adaptive_lr/exercises.ipynb`` is run here in plain Python, after the
setup cell and the solutions, with one function replaced by a mistake of
:mod:`adaptive_lr.grading.mistakes` (large eps, t = 1 from zero, weight decay
on, a nonzero momentum buffer ... are what make them show on cases worked by
hand). The failure must be the check's ``AssertionError``, not a crash.
"""

from __future__ import annotations

import contextlib
import io
import types
from pathlib import Path

import nbformat
import pytest

from adaptive_lr.grading.mistakes import MISTAKES, runnable

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "source" / "adaptive_lr" / "exercises.ipynb"
SIBLINGS = ("trust_ratio", "matrix_inverse_root", "newton_schulz")


def _grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


@pytest.fixture(scope="module")
def notebook():
    nb = nbformat.read(SOURCE, as_version=4)
    namespace: dict = {}
    setup = next(c for c in nb.cells if _grade_id(c) == "00_setup")
    exec(compile(setup.source, "setup", "exec"), namespace)  # noqa: S102
    for cell in nb.cells:
        if _grade_id(cell).endswith("d_solution"):
            exec(compile(cell.source, _grade_id(cell), "exec"), namespace)  # noqa: S102
    visible = {int(_grade_id(c)[:2]): c.source for c in nb.cells if _grade_id(c).endswith("d_visible")}
    return namespace, visible


def _run(namespace: dict, source: str, name: str) -> str:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(source, name, "exec"), dict(namespace))  # noqa: S102
    return out.getvalue()


def test_every_exercise_has_visible_tests(notebook):
    _, visible = notebook
    assert sorted(visible) == list(range(1, 11))


def test_solution_passes_every_visible_test(notebook):
    namespace, visible = notebook
    for exercise, source in sorted(visible.items()):
        printed = _run(namespace, source, f"visible {exercise}")
        assert "the visible tests pass" in printed, (exercise, printed)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.key for m in MISTAKES])
def test_visible_tests_catch_the_mistake(notebook, mistake):
    namespace, visible = notebook
    siblings = types.SimpleNamespace(**{k: namespace[k] for k in SIBLINGS})
    broken = dict(namespace, **{mistake.function: runnable(mistake, siblings)})
    with pytest.raises(AssertionError) as caught:
        _run(broken, visible[mistake.exercise], f"visible {mistake.exercise}")
    assert str(caught.value).strip(), f"{mistake.key}: an AssertionError without a message"
    # no catalogued mistake computes in 16-bit floats: round wrong numbers (-G for Shampoo's stale
    # statistics) must keep the check's own hint, not be blamed on bfloat16
    assert "16-bit" not in str(caught.value), f"{mistake.key}: {caught.value}"
