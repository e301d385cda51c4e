"""The student's path in the browser: the working copy, one exercise solved, Validate."""

from __future__ import annotations

import pytest

import nbformat

from adaptive_lr.course import submissions as subs
from adaptive_lr.grading.mistakes import MISTAKES

from . import ui

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
from .lab import ROOT

SOLUTION = '''def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10):
    accum = accum + grad**2
    theta = theta - lr * grad / (np.sqrt(accum) + eps)
    return theta, accum


def adagrad_effective_lr(accum, lr=1e-2, eps=1e-10):
    return lr / (np.sqrt(accum) + eps)
'''
EPS_INSIDE = SOLUTION.replace("(np.sqrt(accum) + eps)", "np.sqrt(accum + eps)", 1)
MISTAKE = next(m for m in MISTAKES if m.key == "01-adagrad_update-eps-inside-sqrt")


def _release_and_source():
    release = nbformat.read(ROOT / "release/adaptive_lr/exercises.ipynb", as_version=4)
    source = nbformat.read(ROOT / "source/adaptive_lr/exercises.ipynb", as_version=4)
    return release, source


def test_student_solves_an_exercise_and_its_visible_test_passes(page, lab, artifacts):
    ui.open_from_file_browser(page, lab, "work", "adaptive_lr", "exercises.ipynb")
    page.screenshot(path=artifacts / "student-1-opened.png")
    panel = page.locator(".jp-NotebookPanel:visible")  # graded cells: Validate is shown
    panel.locator(".validate-button:visible").wait_for(timeout=ui.LONG)
    assert panel.get_attribute("data-adaptive-lr-graded") == "true"
    ui.run(page, ui.cell(page, "from adaptive_lr.grading import check"))
    solution = ui.cell(page, "def adagrad_update(theta, grad, accum")
    visible = ui.cell(page, "Exercise 1 (d), visible tests")

    ui.set_source(page, solution, SOLUTION)
    ui.run(page, solution)
    ui.run(page, visible)
    assert "Exercise 1 (d): the visible tests pass." in ui.output_text(visible)
    visible.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "student-2-visible-test-passes.png")

    # The best-known mistake: the visible test now says so, message first, no grading internals.
    ui.set_source(page, solution, EPS_INSIDE)
    ui.run(page, solution)
    ui.run(page, visible)
    text = ui.output_text(visible)
    assert text.lstrip().startswith("AssertionError: theta after one step with eps=1"), text[:300]
    assert "eps is inside the square root" in text
    assert "check.py" not in text and "guard.py" not in text and "Traceback" not in text
    visible.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "student-3-eps-inside-the-root-caught.png")
    assert not [e for e in page.console_errors if "MathJax" not in e], page.console_errors


def test_validate_passes_a_solved_notebook_and_names_the_failing_cell(page, lab, lab_root, artifacts):
    release, source = _release_and_source()
    solved = subs.solution(source, release)
    folder = lab_root["root"] / "work" / "adaptive_lr"
    nbformat.write(solved, folder / "solved.ipynb")
    nbformat.write(subs.with_mistake(solved, MISTAKE), folder / "eps_inside.ipynb")

    ui.open_from_file_browser(page, lab, "work", "adaptive_lr", "solved.ipynb")
    text = ui.validate(page)
    page.screenshot(path=artifacts / "validate-1-solved.png")
    assert "Success! Your notebook passes all the tests." in text, text
    ui.close_dialog(page)

    ui.open_from_file_browser(page, lab, "work", "adaptive_lr", "eps_inside.ipynb")
    text = ui.validate(page)
    page.screenshot(path=artifacts / "validate-2-eps-inside.png")
    assert "Success!" not in text
    assert "Exercise 1 (d), visible tests" in text, text[:2000]  # the failing cell, by its docstring
    assert "theta after one step with eps=1" in text, text[:2000]
    ui.close_dialog(page)
