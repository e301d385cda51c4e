"""The assignment through nbgrader: validate, release, autograde, feedback, the gradebook.

All grading results come from one session-scoped batch (see conftest.py).
"""

from __future__ import annotations

import html
import re
import subprocess

import nbformat
import pytest

from adaptive_lr.course import submissions as subs
from adaptive_lr.course.release import committed_release, differences
from adaptive_lr.grading.api import EXERCISES
from adaptive_lr.grading.mistakes import MISTAKES

from .conftest import REPO, cheat_student, mistake_student

pytestmark = pytest.mark.slow

SOURCE = REPO / "source" / "adaptive_lr" / "exercises.ipynb"


def _hidden_cells() -> dict:
    """function name -> grade id of its hidden-test cell, read from the source."""
    nb = nbformat.read(SOURCE, as_version=4)
    out = {}
    for cell in nb.cells:
        m = re.search(r'hidden_test\("(\w+)"', cell.source)
        if m:
            out[m.group(1)] = cell.metadata["nbgrader"]["grade_id"]
    return out


HIDDEN_CELL = _hidden_cells()
HIDDEN_MARKERS = ("adaptive-lr hidden test", "BEGIN HIDDEN TESTS", "hidden_test(", "hidden_number(", "seed=")


def _validator(invert=False):
    from nbgrader.validator import Validator

    return Validator(invert=invert)


def test_source_solution_validates():
    """nbgrader validate passes on the source: every visible and hidden test passes on the solution."""
    results = _validator().validate(str(SOURCE))
    assert results == {}, f"validate failed on the source solution: {results}"


def test_release_fails_every_test_cell():
    """nbgrader validate --invert on the release: no test cell passes on the blank notebook."""
    release = committed_release()
    results = _validator(invert=True).validate(str(release))
    assert "passed" not in results, "these test cells pass on the blank release:\n" + "\n\n".join(
        r["source"][:200] for r in results["passed"]
    )
    nb = nbformat.read(release, as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert len(tests) == 36


def test_committed_release_matches_a_fresh_one(graded):
    """release/adaptive_lr/exercises.ipynb is what nbgrader generate_assignment makes from source/."""
    fresh = graded.courses["a"].release_notebook
    diff = differences(committed_release(), fresh)
    assert not diff, (
        "release/adaptive_lr/exercises.ipynb is out of sync with source/ "
        "(run `python -m adaptive_lr.cli release`):\n  " + "\n  ".join(diff[:10])
    )


def test_release_hides_solutions_rubrics_and_hidden_tests():
    text = committed_release().read_text()
    for secret in ("BEGIN SOLUTION", "Model answer", "Rubric", "BEGIN HIDDEN TESTS", "hidden_test(",
                   "adaptive-lr hidden test"):
        assert secret not in text, f"{secret!r} leaks into the release"
    assert not list(committed_release().parent.glob("*.db")), "a gradebook sits in the released folder"


def test_points_and_grade_ids():
    """10 points per exercise (100 in all), autograded and manual parts, grade ids start with the exercise number."""
    nb = nbformat.read(SOURCE, as_version=4)
    per, auto, ids = {}, {}, []
    for cell in nb.cells:
        md = cell.metadata.get("nbgrader", {})
        if md.get("grade_id"):
            ids.append(md["grade_id"])
        if md.get("grade"):
            e = int(md["grade_id"][:2])
            per[e] = per.get(e, 0) + md["points"]
            if cell.cell_type == "code":
                auto[e] = auto.get(e, 0) + md["points"]
    assert per == {e: 10 for e in EXERCISES}
    assert all(0 < auto[e] < 10 for e in EXERCISES)
    assert len(ids) == len(set(ids))
    assert all(re.match(r"^(0\d|10|11)[a-z_]", i) for i in ids), ids


def test_test_cells_start_with_a_docstring():
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        md = cell.metadata.get("nbgrader", {})
        if md.get("grade") and cell.cell_type == "code":
            assert cell.source.startswith('"""'), md["grade_id"]


def test_notebooks_committed_clean():
    for path in (SOURCE, committed_release()):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: outputs stored"


def test_solution_gets_full_autograded_marks(graded):
    g = graded.grades["solution"]
    assert g.auto_score() == g.auto_max() == 50, g.lost()


def _errors(nb):
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append((cell.metadata.get("nbgrader", {}).get("grade_id"), out.ename, out.evalue))
            if out.output_type == "stream" and out.name == "stderr":
                found.append((cell.metadata.get("nbgrader", {}).get("grade_id"), "stderr", out.text))
    return found


def test_solution_runs_without_errors_or_stderr(graded):
    nb = nbformat.read(graded.autograded("solution"), as_version=4)
    assert _errors(nb) == []


def test_blank_release_scores_zero_with_only_not_implemented_errors(graded):
    g = graded.grades["blank"]
    assert g.auto_score() == 0
    nb = nbformat.read(graded.autograded("blank"), as_version=4)
    errors = _errors(nb)
    assert errors, "the blank release raised nothing"
    assert {e[1] for e in errors} == {"NotImplementedError"}, [e for e in errors if e[1] != "NotImplementedError"]


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.key for m in MISTAKES])
def test_mistake_loses_points_in_its_exercise_only(graded, mistake):
    lost = graded.grades[mistake_student(mistake)].lost()
    assert mistake.exercise in lost, f"{mistake.key} lost no points (lost: {lost})"
    assert set(lost) == {mistake.exercise}, f"{mistake.key} also lost points in {sorted(set(lost) - {mistake.exercise})}"


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if not m.mutates], ids=lambda m: m.key)
def test_diagnosed_mistakes_are_typed_data_in_the_autograded_notebook(graded, mistake):
    """The grader-side verdicts carry the catalogue ids (the report's reason reads them, never a message)."""
    nb = nbformat.read(graded.autograded(mistake_student(mistake)), as_version=4)
    verdicts = nb.metadata["adaptive_lr"]["verdicts"]
    failed = {gid: v for gid, v in verdicts.items() if not v["passed"]}
    assert failed and all(gid.startswith(f"{mistake.exercise:02d}") for gid in failed), failed
    assert any(mistake.key in v["mistakes"] for v in failed.values()), failed


def test_catalogue_has_three_mistakes_per_exercise():
    for e in EXERCISES:
        assert len([m for m in MISTAKES if m.exercise == e]) >= 3, e


@pytest.mark.parametrize("cheat", subs.CHEATS, ids=[c.slug for c in subs.CHEATS])
def test_cheats_do_not_pay(graded, cheat):
    g = graded.grades[cheat_student(cheat)]
    lost = g.lost()
    assert cheat.exercise in lost, f"{cheat.slug} lost nothing in exercise {cheat.exercise}"
    hidden = g.cells[HIDDEN_CELL[cheat.function]]
    assert hidden.score == 0, f"{cheat.slug}: {hidden.grade_id} scored {hidden.score}"


def test_oracle_call_is_reported(graded):
    nb = nbformat.read(graded.autograded("cheat-calls-oracle"), as_version=4)
    messages = [e[2] for e in _errors(nb) if e[0] and e[0].startswith("03d")]
    assert messages and all("reference implementation" in m for m in messages), messages


def _feedback_text(path):
    raw = path.read_text()
    return raw, html.unescape(re.sub(r"<[^>]+>", "", raw))


@pytest.mark.parametrize("student", ["solution", "mistake-03-adam_update-no-bias-correction", "cheat-calls-oracle"])
def test_feedback_shows_results_never_hidden_code(graded, student):
    raw, text = _feedback_text(graded.feedback(student))
    for marker in HIDDEN_MARKERS:
        assert marker not in text and html.escape(marker) not in raw, f"{marker!r} leaks into {student}'s feedback"
    assert "hidden tests ran here" in text
    if student == "solution":
        assert "hidden cases match the reference" in text
    if student.startswith("mistake"):
        assert "Likely mistake: bias correction missing" in text
        assert "expected" in text and "got" in text
    # every part (d) figure has the reference's drawing under it
    assert text.count("computed with the reference implementation") == 10
    assert raw.count("data:image/png;base64,") >= 10


def test_gradebook_is_ignored_and_never_released(graded):
    for course in graded.courses.values():
        assert (course.root / "gradebook.db").exists()
        assert not list((course.root / "release").rglob("*.db"))
        assert not list((course.root / "feedback").rglob("*.db"))
    out = subprocess.run(["git", "check-ignore", "-q", "gradebook.db"], cwd=REPO)
    assert out.returncode == 0, "gradebook.db is not ignored by git"
    tracked = subprocess.run(["git", "ls-files", "*.db"], cwd=REPO, capture_output=True, text=True).stdout
    assert tracked.strip() == ""
