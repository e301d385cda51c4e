"""Which cells the re-check runs: the answers and what they read, never the unused plots."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from adaptive_lr.course import verify
from adaptive_lr.course.pipeline import repo_root
from adaptive_lr.course.verify import HiddenCheck, needed_cells
from adaptive_lr.grading.verdict import Verdict

CHECKS = {"01d_hidden": (HiddenCheck("01d_hidden", "function", "step", seed=1),),
          "01e_number": (HiddenCheck("01e_number", "number", "rate", variable="rate"),)}


def _md(**nbgrader):
    return {"nbgrader": {"grade_id": nbgrader.pop("grade_id", ""), **nbgrader}} if nbgrader else {}


def _nb(*cells):
    return new_notebook(cells=[new_code_cell(src, metadata=md) for src, md in cells])


SETUP = ("import numpy as np\nSCALE = 2.0", _md(grade_id="00_setup", locked=True))
ANSWER = ("def step(x):\n    return SCALE * x", _md(grade_id="01d_solution", solution=True))
TEST = ("hidden_test('step', step, seed=1)", _md(grade_id="01d_hidden", grade=True, points=1))
PLOT = ("path = [step(x) for x in range(3)]\nimport_free = max(path)", {})
NUMBER = ("rate = 0.5", _md(grade_id="01e_answer", solution=True))


def test_source_notebook_leaves_out_every_figure_cell_and_keeps_setup_and_answers():
    nb = nbformat.read(repo_root() / "source" / "adaptive_lr" / "exercises.ipynb", as_version=4)
    checks = verify.hidden_checks(nb)
    kept = needed_cells(nb, checks)
    for i, cell in enumerate(nb.cells):
        md = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (md.get("grade") and not md.get("solution")):
            assert i not in kept
        elif md.get("solution") or md.get("locked"):
            assert i in kept, md.get("grade_id")
        else:  # the figure cells of parts (d): plots of the student's functions
            assert i not in kept and ("plot" in cell.source or "ax" in cell.source), cell.source[:80]
    assert sum(1 for i, c in enumerate(nb.cells) if c.cell_type == "code" and i not in kept) >= 10 + 36


def test_unused_plot_is_left_out():
    nb = _nb(SETUP, ANSWER, PLOT, TEST, NUMBER)
    assert needed_cells(nb, CHECKS) == {0, 1, 4}


def test_a_free_cell_whose_names_a_later_answer_reads_runs():
    nb = _nb(SETUP, ANSWER, PLOT, TEST, ("rate = import_free / 4", _md(grade_id="01e_answer", solution=True)))
    assert needed_cells(nb, CHECKS) == {0, 1, 2, 4}


def test_a_free_cell_that_redefines_a_checked_name_or_imports_runs():
    redefine = ("def step(x):\n    return x", {})
    imports = ("import numpy.linalg as la\nunused = 1", {})
    nb = _nb(SETUP, ANSWER, redefine, imports, TEST, NUMBER)
    assert needed_cells(nb, CHECKS) == {0, 1, 2, 3, 5}


def test_a_name_bound_before_it_is_read_in_the_same_cell_is_not_read_from_earlier_cells():
    answer = ("n, t = 4, 9\nrate = n / t", _md(grade_id="01e_answer", solution=True))
    plot = ("t = 3\nunused = t", {})
    nb = _nb(SETUP, ANSWER, plot, TEST, answer)
    assert needed_cells(nb, CHECKS) == {0, 1, 4}
    reads_first = ("rate = t / 2", _md(grade_id="01e_answer", solution=True))
    assert needed_cells(_nb(SETUP, ANSWER, plot, TEST, reads_first), CHECKS) == {0, 1, 2, 4}


def test_a_global_statement_in_a_function_binds_the_notebook_name():
    plot = ("def bump():\n    global SCALE\n    SCALE = 3.0\nbump()", {})
    nb = _nb(SETUP, plot, ANSWER, TEST, NUMBER)
    assert needed_cells(nb, CHECKS) == {0, 1, 2, 4}


def test_a_cell_that_does_not_parse_runs():
    nb = _nb(SETUP, ANSWER, ("plot(:", {}), TEST, NUMBER)
    assert 2 in needed_cells(nb, CHECKS)
    nb.cells.insert(2, new_markdown_cell("text"))
    assert 3 in needed_cells(nb, CHECKS)


def test_a_pass_that_fails_without_the_plots_is_rechecked_with_every_cell(monkeypatch):
    nb = _nb(SETUP, ANSWER, PLOT, TEST, NUMBER)
    runs = []

    def fake(nb, kernel, timeout, checks, needed, short):
        runs.append(sorted(needed))
        passed = len(runs) > 1  # fails with the plot left out, passes with every cell
        return {gid: Verdict(passed, "") for gid in checks}

    monkeypatch.setattr(verify, "_recheck_cells", fake)
    verdicts = verify.recheck(nb, "k", 1.0, CHECKS, passed=("01d_hidden",))
    assert runs == [[0, 1, 4], [0, 1, 2, 3, 4]] and all(v.passed for v in verdicts.values())
    runs.clear()
    verify.recheck(nb, "k", 1.0, CHECKS, passed=())  # failed in the notebook too: one run
    assert runs == [[0, 1, 4]]


def test_a_cell_that_ran_past_the_limit_is_cut_short_unless_a_pass_then_fails(monkeypatch):
    """A runaway cell costs the limit once, in the notebook; a pass it would cost is re-run in full."""
    nb = _nb(SETUP, ANSWER, TEST, NUMBER)
    runs = []

    def fake(nb, kernel, timeout, checks, needed, short):
        runs.append(short)
        return {gid: Verdict(len(runs) > 1, "") for gid in checks}  # fails cut short only

    monkeypatch.setattr(verify, "_recheck_cells", fake)
    verify.recheck(nb, "k", 15.0, CHECKS, passed=(), slow={1})
    assert runs == [{1: verify.SLOW_CELL_SECONDS}]  # nothing passed: one short run
    runs.clear()
    verdicts = verify.recheck(nb, "k", 15.0, CHECKS, passed=("01d_hidden",), slow={1})
    assert runs == [{1: verify.SLOW_CELL_SECONDS}, {}] and all(v.passed for v in verdicts.values())
    runs.clear()
    verify.recheck(nb, "k", 0.5, CHECKS, passed=(), slow={1})
    assert runs == [{1: 0.5}]  # never longer than the limit itself


def test_a_cut_short_cell_is_interrupted_at_its_own_limit(monkeypatch):
    seen = []
    monkeypatch.setattr(verify._Kernel, "run", lambda self, code, timeout=None: seen.append((code, timeout)) or "")
    monkeypatch.setattr(verify._Kernel, "__init__", lambda self, name, timeout: None)
    monkeypatch.setattr(verify._Kernel, "close", lambda self: None)
    monkeypatch.setattr(verify, "_check", lambda kernel, check: Verdict(True, ""))
    nb = _nb(SETUP, ANSWER, TEST, NUMBER)
    verify._recheck_cells(nb, "k", 15.0, CHECKS, {0, 1, 3}, {1: 1.0})
    assert [t for code, t in seen[1:]] == [None, 1.0, None]  # the runner, setup, answer, number
