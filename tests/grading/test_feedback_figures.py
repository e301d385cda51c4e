"""The feedback shows each part (d) figure drawn by the reference, under the student's own."""

from __future__ import annotations

import base64
import copy

import nbformat
import pytest

from adaptive_lr.course.feedback import CAPTION, ReferenceFigures
from adaptive_lr.course.figures import exercise_of, reference_figures

from .conftest import REPO

RELEASE = REPO / "release" / "adaptive_lr" / "exercises.ipynb"
RESOURCES = {"nbgrader": {"assignment": "adaptive_lr", "notebook": "exercises", "student": "s"}}


@pytest.fixture(scope="module")
def release():
    return nbformat.read(RELEASE, as_version=4)


def test_every_exercise_has_a_figure_cell(release):
    assert sorted(e for e in map(exercise_of, release.cells) if e) == list(range(1, 11))


def test_the_feedback_gets_the_reference_figure_under_each_figure_cell(release):
    nb = copy.deepcopy(release)
    nb.cells[14]["source"] = "# Exercise 1 (d): a student's edit\nprint('mine')"  # never run by the grader
    pre = ReferenceFigures(release_path=str(RELEASE))
    out, _ = pre.preprocess(nb, RESOURCES)
    seen = []
    for cell in out.cells:
        exercise = exercise_of(cell)
        if not exercise:
            assert not any(o.get("text") == CAPTION for o in cell.get("outputs", []))
            continue
        seen.append(exercise)
        texts = [o for o in cell.outputs if o.get("output_type") == "stream"]
        images = [o for o in cell.outputs if o.get("output_type") == "display_data"]
        assert texts[-1]["text"] == CAPTION and len(images) == 1
        assert base64.b64decode(images[0]["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen == list(range(1, 11))


def test_reference_figures_object_to_a_release_without_setup(release):
    nb = copy.deepcopy(release)
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "00_setup"]
    with pytest.raises(ValueError, match="00_setup"):
        reference_figures(nb)
    unchanged, _ = ReferenceFigures(release_path=str(RELEASE)).preprocess(copy.deepcopy(release), {})
    assert unchanged == release
