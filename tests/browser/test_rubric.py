"""The instructor grading written answers: the model answer and rubric next to the student's answer.

The formgrader shows a student's answer but not the source's model answer and
rubric; ``adaptive-lr grading-sheets COURSE`` writes them, one sheet per
exercise, into the course folder, and the instructor opens a sheet in
JupyterLab beside the formgrader. This uses the browser session's server and
its graded course (one solved submission, graded while the student tests ran).
"""

from __future__ import annotations

import re

import nbformat
import pytest

from adaptive_lr import cli
from adaptive_lr.course import manual

from . import ui
from .conftest import STUDENT

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PART = "03a_definition"  # Adam's definition: its model answer and rubric carry math


def _prose(markdown: str) -> str:
    """The longest stretch of a part's text outside math and bold markers, as the page shows it."""
    return " ".join(max(re.split(r"\$[^$]*\$|\*\*|`", markdown), key=len).split())


def test_grading_sheet_shows_model_answer_and_rubric_next_to_the_answer(page, lab, lab_root,
                                                                        artifacts):
    thread, done = lab_root["grading"]
    thread.join(timeout=600)
    assert done.get("ok"), f"grading the course failed: {done.get('error')}"
    course = lab_root["course"]
    formgrader = lab.url("").split("/?", 1)[0]
    assert cli.main(["grading-sheets", str(course.root), "--formgrader", formgrader]) == 0
    [part] = [p for p in manual.written_parts(nbformat.read(course.source_notebook, as_version=4))
              if p.grade_id == PART]

    ui.open_from_file_browser(page, lab, course.root.name, "grading", "ex03.html", notebook=False)
    sheet = page.frame_locator(".jp-HTMLViewer iframe").first
    box = sheet.locator(f"[id='{PART}']")
    box.scroll_into_view_if_needed(timeout=ui.LONG)
    key = box.locator(".key")
    answer = box.locator(".answer", has=sheet.locator("h4", has_text=STUDENT))
    key.wait_for(timeout=ui.LONG)
    page.wait_for_timeout(500)  # the iframe has laid out its MathML
    page.screenshot(path=artifacts / "rubric-1-grading-sheet.png")

    assert key.is_visible() and answer.is_visible()
    shown = " ".join(key.inner_text().split())
    assert "Model answer" in shown and f"Rubric ({part.points:g} point" in shown
    assert _prose(part.model_answer) in shown and _prose(part.rubric) in shown
    assert "Allowed scores: 0, 0.5, 1" in shown
    # Next to each other: the student's answer directly below the key, in the same column.
    k, a = key.bounding_box(), answer.bounding_box()
    assert 0 <= a["y"] - (k["y"] + k["height"]) < 80 and abs(a["x"] - k["x"]) < 40, (k, a)
    viewer = page.locator(".jp-HTMLViewer").first.bounding_box()
    assert a["y"] + 40 < viewer["height"], "the student's answer is not on screen with the rubric"
    # (this student's written answers are the model answers: the solved submission of the fixture)
    assert _prose(part.model_answer) in " ".join(answer.inner_text().split())

    # The math is drawn by the browser as MathML: no raw LaTeX left on the page.
    formulas = key.locator("math")
    assert formulas.count() >= 2 and formulas.first.bounding_box()["width"] > 5
    text = sheet.locator("body").inner_text()
    assert not re.search(r"\$[^$\s][^$]*\$|\\(frac|sqrt|beta|hat)\b", text), text[:500]

    # The sheet's link opens this very submission in the formgrader.
    link = answer.locator("a", has_text="formgrader").get_attribute("href")
    assert link.startswith(formgrader + "/formgrader/submissions/")
    page.goto(lab.url(link[len(formgrader):]), wait_until="domcontentloaded", timeout=ui.LONG)
    score = page.locator(f"input.score[id='{PART}']")  # the part's score box
    score.wait_for(timeout=ui.LONG)
    score.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "rubric-2-formgrader-from-sheet.png")
