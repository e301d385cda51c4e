"""The feedback shows each part (d) figure drawn by the reference, under the student's own."""

from __future__ import annotations

import base64
import copy
import html
import io
import re

import nbformat
import numpy as np
import pytest

from adaptive_lr import optim
from adaptive_lr.course.feedback import CAPTION, ReferenceFigures
from adaptive_lr.course.figures import SETUP_ID, _setup, exercise_of, reference_figures
from adaptive_lr.grading.api import FUNCTIONS
from adaptive_lr.grading.mistakes import MISTAKES, runnable
from adaptive_lr.sandbox.inline import PRINT_FIGURE_KWARGS

from .conftest import FIGURE_STUDENT, REPO, mistake_student

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


# -- a graded student's feedback: their own figure, then the reference's --------------------

IMAGE = re.compile(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=\s]+)"')


def _pixels(png: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]


def _drawn(release, exercise: int, *variants: dict) -> list:
    """The release's figure cell of ``exercise``, one PNG per variant (functions in place of the
    reference's), drawn as the grading kernel shows it (uncropped: adaptive_lr.sandbox.kernel)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure

    namespace = {"__name__": "__figure__"}
    exec(compile(_setup(release), "<release setup>", "exec"), namespace)  # noqa: S102
    cell = next(c for c in release.cells if exercise_of(c) == exercise)
    code = compile(cell.source, f"<figure of exercise {exercise}>", "exec")
    pngs = []
    for functions in variants:
        namespace.update({name: getattr(optim, name) for name in FUNCTIONS}, **functions)
        plt.close("all")
        exec(code, dict(namespace))  # noqa: S102
        [number] = plt.get_fignums()
        pngs.append(print_figure(plt.figure(number), "png", **PRINT_FIGURE_KWARGS))
    plt.close("all")
    return pngs


def _difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference of two images' pixels (0 to 1); 1.0 when their sizes differ."""
    x, y = _pixels(a), _pixels(b)
    return float(np.abs(x - y).mean()) if x.shape == y.shape else 1.0


def test_a_graded_students_feedback_shows_their_own_figure_then_the_references(graded, release):
    """Graded with figures on: exercise 3's path is the student's Adam (without bias correction)."""
    mistake = next(m for m in MISTAKES if mistake_student(m) == FIGURE_STUDENT)
    raw = graded.feedback(FIGURE_STUDENT).read_text()
    shown = [(m.start(), base64.b64decode(re.sub(r"\s", "", m.group(1)))) for m in IMAGE.finditer(raw)]
    theirs, ours = _drawn(release, mistake.exercise, {mistake.function: runnable(mistake, optim)}, {})
    assert _difference(theirs, ours) > 0.002, "the mistake should change the figure: pick another student"
    own = [i for i, (_, png) in enumerate(shown) if _difference(png, theirs) < 1e-3]
    assert own, (f"{FIGURE_STUDENT}'s feedback has no figure of their own exercise {mistake.exercise} path "
                 f"({len(shown)} images); were figures on when it was graded?")
    only = copy.deepcopy(release)  # the reference's figure of this one exercise (drawing all ten takes long)
    only.cells = [c for c in only.cells if exercise_of(c) == mistake.exercise
                  or c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == SETUP_ID]
    [reference] = reference_figures(only)[mistake.exercise]
    at, png = shown[own[0] + 1]
    assert png == base64.b64decode(reference), "the reference's figure should follow the student's"
    assert raw.index(html.escape(CAPTION.strip()), shown[own[0]][0]) < at
    assert _difference(shown[own[0]][1], ours) > 0.002, "the student's figure is the reference's"
