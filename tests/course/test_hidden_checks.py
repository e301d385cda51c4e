"""The strict parser of hidden checks: keyed by grade id, literals only, errors before grading."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from adaptive_lr.course.pipeline import repo_root
from adaptive_lr.course.verify import (
    ConfigurationError,
    HiddenCheck,
    checks_from_json,
    checks_to_json,
    hidden_checks,
)


def _nb(*sources, grade_id="03d_hidden"):
    cells = [new_code_cell("x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "s"}})]
    for i, src in enumerate(sources):
        cells.append(new_code_cell(src, metadata={"nbgrader": {
            "grade": True, "solution": False, "grade_id": f"{grade_id}{i or ''}", "points": 1}}))
    return new_notebook(cells=cells)


def test_source_notebook_checks_are_keyed_by_grade_id():
    nb = nbformat.read(repo_root() / "source" / "adaptive_lr" / "exercises.ipynb", as_version=4)
    checks = hidden_checks(nb)
    assert len(checks) == 26
    funcs = [c for cs in checks.values() for c in cs if c.kind == "function"]
    nums = [c for cs in checks.values() for c in cs if c.kind == "number"]
    assert len(funcs) == 16 and len(nums) == 10
    adam = next(c for c in funcs if c.name == "adam_update")
    assert adam.seed == 3101 and adam.grade_id.startswith("03")
    lr = next(c for c in nums if c.name == "lr_at_10000")
    assert (lr.grade_id, lr.variable, lr.expected, lr.rtol) == ("01e_lr_after_100", "lr_at_10000", 0.0002, 0.001)
    assert checks_from_json(checks_to_json(checks)) == checks


def test_literal_arguments_are_read_exactly():
    nb = _nb('hidden_number(ans, 0.25, name="ans", rtol=1e-6, atol=1e-9, hint="h")\n'
             'hidden_test("adam_update", adam_update, seed=7)')
    (num, fn), = hidden_checks(nb).values()
    assert num == HiddenCheck("03d_hidden", "number", "ans", variable="ans", expected=0.25,
                              rtol=1e-6, atol=1e-9, hint="h")
    assert fn == HiddenCheck("03d_hidden", "function", "adam_update", seed=7)


@pytest.mark.parametrize(
    "source, needle",
    [
        ('hidden_number(x, 1/3, name="x")', "`1 / 3`, not a literal"),
        ('hidden_test("adam_update", adam_update, seed=SEED)', "'seed' is `SEED`"),
        ('hidden_test("adam_update", adam_update)', "missing seed"),
        ('hidden_test(NAME, adam_update, seed=1)', "'name' is `NAME`"),
        ('hidden_test("adam_update", adam_update, seed=1.5)', "expected int"),
        ('hidden_test("adam_update", adam_update, seed=True)', "expected int"),
        ('hidden_number(x, 0.5)', "missing name"),
        ('hidden_number(x, 0.5, name="x", rtl=1e-3)', "unknown rtl"),
        ('hidden_number(x, 0.5, name="x", rtol=TOL)', "'rtol' is `TOL`"),
        ('hidden_number(x.y, 0.5, name="x")', "answer variable's name"),
        ('hidden_number(x, "0.5", name="x")', "expected int or float"),
        ('hidden_test("adam_update", *args, seed=1)', "* or **"),
        ('hidden_test("adam_update", adam_update, **kw)', "* or **"),
        ('hidden_test("adam_update", seed=1)', "2 positional arguments"),
        ("def broken(:\n    pass", "not valid Python"),
    ],
)
def test_non_literal_or_missing_arguments_are_configuration_errors(source, needle):
    with pytest.raises(ConfigurationError) as err:
        hidden_checks(_nb(source))
    assert needle in str(err.value) and "03d_hidden" in str(err.value)


def test_cells_that_are_not_tests_are_ignored():
    nb = _nb()
    nb.cells.append(new_code_cell('hidden_test("x", f, seed=SEED)'))  # no nbgrader metadata
    assert hidden_checks(nb) == {}
