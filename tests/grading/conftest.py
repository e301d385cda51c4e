"""A session-scoped scratch course with every sample submission graded once.

The whole catalogue of mistakes (one submission per mistake), the cheats, the
solution and the blank release are autograded in two nbgrader batches that
run in parallel (two scratch courses made from the same source, one per
core), so that the pipeline tests read one set of results.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from adaptive_lr.course import submissions as subs
from adaptive_lr.course.gradebook import read_grades
from adaptive_lr.course.pipeline import Course, repo_root
from adaptive_lr.grading.mistakes import MISTAKES

REPO = repo_root()
FEEDBACK_STUDENTS = ("solution", "mistake-03-adam_update-no-bias-correction", "cheat-calls-oracle")


def mistake_student(m) -> str:
    return f"mistake-{m.key}"


def cheat_student(c) -> str:
    return f"cheat-{c.slug}"


class GradedCourses:
    """Results of the session's batches: grades per student and where each student's files are."""

    def __init__(self, courses: dict, grades: dict, seconds: dict, home: dict):
        self.courses = courses  # name -> Course
        self.grades = grades  # student -> StudentGrades
        self.seconds = seconds  # course name -> seconds of its autograde batch
        self.home = home  # student -> Course

    def autograded(self, student):
        return self.home[student].autograded_notebook(student)

    def feedback(self, student):
        return self.home[student].feedback_html(student)


def _build(root: Path, name: str, students: dict, results: dict, errors: list, feedback=None):
    try:
        course = Course(root / name, REPO).create()
        course.generate_release()
        source, release = subs.read(course.source_notebook), subs.read(course.release_notebook)
        solved = subs.solution(source, release)
        for student, make in students.items():
            course.submit(student, make(solved, release))
        results[name] = (course, course.autograde())
        if feedback:
            for student in feedback:
                course.nbgrader("generate_feedback", "--force", f"--student={student}")
    except Exception as exc:  # reported by the fixture, with the course's log
        errors.append((name, exc))


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> GradedCourses:
    os.environ.setdefault("MPLBACKEND", "Agg")
    root = tmp_path_factory.mktemp("courses")
    group_a = {
        "solution": lambda solved, release: solved,
        "blank": lambda solved, release: subs.blank(release),
    }
    group_b = {}
    for c in subs.CHEATS:
        group_a[cheat_student(c)] = lambda solved, release, c=c: subs.with_cheat(solved, c)
    for m in MISTAKES:
        target = group_a if m.exercise in (2, 4, 6, 8, 10) else group_b
        target[mistake_student(m)] = lambda solved, release, m=m: subs.with_mistake(solved, m)
    feedback_a = [s for s in FEEDBACK_STUDENTS if s in group_a]
    feedback_b = [s for s in FEEDBACK_STUDENTS if s in group_b]

    results, errors = {}, []
    threads = [
        threading.Thread(target=_build, args=(root, "a", group_a, results, errors, feedback_a)),
        threading.Thread(target=_build, args=(root, "b", group_b, results, errors, feedback_b)),
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        name, exc = errors[0]
        log = (root / name / "nbgrader.log")
        tail = log.read_text()[-4000:] if log.exists() else ""
        pytest.fail(f"building scratch course {name} failed: {exc}\n{tail}")
    print(f"\n[grading] {len(group_a) + len(group_b)} submissions graded in "
          f"{time.perf_counter() - start:.0f} s (two parallel batches)", file=sys.stderr)

    grades, home, seconds, courses = {}, {}, {}, {}
    for name, group in (("a", group_a), ("b", group_b)):
        course, secs = results[name]
        courses[name], seconds[name] = course, secs
        batch = read_grades(course.db_url)
        for student in group:
            grades[student] = batch[student]
            home[student] = course
    return GradedCourses(courses, grades, seconds, home)


@pytest.fixture(scope="session")
def solution_namespace():
    """The source notebook's solution code, executed: every exercise function, as a student wrote it."""
    import nbformat
    import numpy as np

    nb = nbformat.read(REPO / "source" / "adaptive_lr" / "exercises.ipynb", as_version=4)
    ns = {"np": np, "math": __import__("math")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("d_solution"):
            exec(compile(subs._strip_solution_markers(cell.source), grade_id, "exec"), ns)  # noqa: S102
    return ns
