"""A theory notebook in the browser (runs clean, a slider moves its figure); the instructor's formgrader."""

from __future__ import annotations

import pytest

from . import ui

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CANVAS_DIGEST = """(el) => {
  const c = el.querySelector('canvas');
  if (!c) return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 16) h = (h * 31 + d[i]) >>> 0;
  return h;
}"""


def test_theory_notebook_runs_clean_and_a_slider_changes_its_figure(page, lab, artifacts):
    ui.open_from_file_browser(page, lab, "course", "03_algorithms.ipynb")
    ui.run_all(page)
    page.screenshot(path=artifacts / "theory-1-ran-all.png")
    errors = page.locator(".jp-Notebook:visible .jp-OutputArea-output[data-mime-type*='error']")
    assert errors.count() == 0, errors.all_inner_texts()[:3]
    assert not page.console_errors, page.console_errors
    # nbgrader adds Validate to every notebook; the course's plugin hides it where nothing is graded.
    panel = page.locator(".jp-NotebookPanel:visible")
    assert panel.get_attribute("data-adaptive-lr-graded") == "false"
    assert panel.locator(".validate-button").count() == 1
    assert panel.locator(".validate-button:visible").count() == 0

    figure = ui.cell(page, "viz.interactive_plot(draw_bias")
    figure.scroll_into_view_if_needed()
    canvas = figure.locator(".jupyter-matplotlib-figure").first
    canvas.wait_for(timeout=ui.LONG)
    page.wait_for_timeout(1000)
    before = canvas.evaluate(CANVAS_DIGEST)
    handle = figure.locator(".widget-slider .noUi-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for dx in range(4, 80, 4):  # a drag: the figure follows while the button is held
        page.mouse.move(box["x"] + box["width"] / 2 - dx, box["y"] + box["height"] / 2)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.wait_for_function(f"(h) => ({CANVAS_DIGEST})(document.querySelectorAll('.jupyter-matplotlib-figure')[0]) !== h",
                           arg=before, timeout=ui.LONG)
    after = canvas.evaluate(CANVAS_DIGEST)
    assert after != before
    still = 0
    for _ in range(60):  # the figure catches up with the slider, then stays (for 2 s: a loaded
        page.wait_for_timeout(1000)  # machine may take a second for one move)
        settled = canvas.evaluate(CANVAS_DIGEST)
        still = still + 1 if settled == after else 0
        if still == 2:
            break
        after = settled
    figure.screenshot(path=artifacts / "theory-2-slider-moved.png")
    assert not page.console_errors, page.console_errors


def test_instructor_enters_a_manual_grade_that_the_gradebook_holds(page, lab, lab_root, artifacts):
    from nbgrader.api import Gradebook

    thread, done = lab_root["grading"]
    thread.join(timeout=600)
    assert done.get("ok"), f"grading the course failed: {done.get('error')}"
    course = lab_root["course"]

    page.goto(lab.url("formgrader"))
    page.locator("text=Manual Grading").first.click()
    page.locator("a", has_text="adaptive_lr").first.click()
    page.locator("a", has_text="exercises").first.click()
    page.screenshot(path=artifacts / "formgrader-1-submissions.png")
    # The formgrader renders the whole submission (MathML for every formula) before the page
    # arrives: seconds on a quiet machine, more than the default 30 s under the suite's load.
    page.locator("a", has_text="Submission #1").first.click(timeout=ui.LONG)
    score = page.locator("input.score.needs_manual_grade").first
    score.wait_for(timeout=ui.LONG)  # the grades are loaded and shown (an earlier value would be overwritten)
    page.wait_for_load_state("networkidle")
    grade_id = score.get_attribute("id") or ""
    score.fill("0.5")
    score.press("Tab")
    page.wait_for_function(
        "(id) => document.getElementById(id) && !document.getElementById(id).classList.contains('needs_manual_grade')",
        arg=grade_id, timeout=ui.LONG)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / "formgrader-2-manual-grade.png")

    with Gradebook(course.db_url) as gb:
        manual = [g.manual_score for g in gb.find_submission_notebook("exercises", "adaptive_lr", "ada").grades
                  if g.manual_score is not None]
    assert 0.5 in manual, (grade_id, manual)
