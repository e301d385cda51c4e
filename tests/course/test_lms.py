"""A Canvas download through ``nbgrader zip_collect``, then the project's intake."""

from __future__ import annotations

import json
import shutil
import zipfile

import nbformat
import pytest

from adaptive_lr.course import lms
from adaptive_lr.course import submissions as subs
from adaptive_lr.course.pipeline import Course, repo_root

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

REPO = repo_root()


def _entry(archive, name, data, when):
    info = zipfile.ZipInfo(name, date_time=when)
    archive.writestr(info, data)


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("lms") / "course", REPO).create()
    course.release_notebook.parent.mkdir(parents=True)  # the committed release is what was handed out
    shutil.copyfile(REPO / "release" / "adaptive_lr" / "exercises.ipynb", course.release_notebook)
    release = subs.read(course.release_notebook)
    first = nbformat.writes(subs.blank(release))
    solved = subs.solution(subs.read(course.source_notebook), release)
    second = nbformat.writes(solved)
    path = course.root.parent / "submissions.zip"
    with zipfile.ZipFile(path, "w") as z:
        _entry(z, "smithj_12345_67890_exercises.ipynb", first, (2027, 1, 30, 10, 0, 0))
        _entry(z, "smithj_12345_67990_exercises-1.ipynb", second, (2027, 1, 31, 22, 15, 0))
        _entry(z, "jonesa_late_23456_78901_Exercises (1).ipynb", second, (2027, 2, 2, 9, 0, 0))
        _entry(z, "brownc_34567_89012_exercises.ipynb", '{"cells": [', (2027, 1, 29, 8, 0, 0))
        _entry(z, "leeh_45678_90123_exercises.ipynb", second, (1980, 1, 1, 0, 0, 0))
        _entry(z, "parkk_56789_91234_essay.pdf", b"%PDF-1.4 not a notebook", (2027, 1, 31, 12, 0, 0))
        _entry(z, "smithj_99999_91235_exercises.ipynb", second, (2027, 1, 31, 12, 0, 0))
        _entry(z, "grading_instructions.txt", "for the TA", (2027, 1, 1, 0, 0, 0))
    return course, lms.collect_archive(course, path), second


def test_canvas_names_are_parsed():
    f = lms.parse_canvas_name("/x/smithj_late_12345_67990_exercises-1.ipynb")
    assert (f.name, f.user_id, f.attachment_id, f.file_id, f.canvas_late) == (
        "smithj", "12345", 67990, "exercises.ipynb", True)
    assert lms.parse_canvas_name("grading_instructions.txt") is None
    assert lms.parse_canvas_name(".DS_Store") is None


def test_latest_attempt_with_its_archive_time(collected):
    course, result, second = collected
    by = {s.student_id: s for s in result.students}
    # Two Canvas users named smithj: each gets a distinct student id.
    assert {"smithj-12345", "smithj-99999"} <= set(by)
    s = by["smithj-12345"]
    assert s.lms_user_id == "12345" and s.superseded == ["smithj_12345_67890_exercises.ipynb"]
    assert course.submitted_notebook("smithj-12345").read_text() == second
    stamp = (course.root / "submitted" / "smithj-12345" / "adaptive_lr" / "timestamp.txt").read_text()
    assert stamp.startswith("2027-01-31 22:15:00")


def test_intake_gives_each_problem_its_reason(collected):
    course, result, _ = collected
    intake = {i.student: i for i in result.intakes}
    assert intake["smithj-12345"].status == "ok"
    assert intake["jonesa"].status == "wrong file name"
    assert "Exercises (1).ipynb" in intake["jonesa"].reason and "exercises.ipynb" in intake["jonesa"].reason
    assert intake["brownc"].status == "invalid notebook" and "JSON" in intake["brownc"].reason
    assert intake["parkk"].status == "missing notebook" and "essay.pdf" in intake["parkk"].reason
    assert intake["leeh"].status == "ok"
    assert result.skipped == ["submissions/grading_instructions.txt"]
    lines = "\n".join(result.lines())
    assert "leeh: ok (no submission time in the archive: treated as on time)" in lines
    assert "skipped (not a Canvas submission file): submissions/grading_instructions.txt" in lines
    assert not (course.root / "submitted" / "leeh" / "adaptive_lr" / "timestamp.txt").exists()


def test_canvas_ids_reach_the_gradebook(collected):
    from nbgrader.api import Gradebook

    course, _, _ = collected
    with Gradebook(course.db_url) as gb:
        assert gb.find_student("jonesa").lms_user_id == "23456"
        assert gb.find_student("smithj-99999").lms_user_id == "99999"
    summary = json.loads((course.root / "downloaded" / "adaptive_lr" / lms.SUMMARY_FILE).read_text())
    assert [s["student_id"] for s in summary["students"]] == sorted(s["student_id"] for s in summary["students"])
