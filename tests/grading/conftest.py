"""A session-scoped scratch course with every sample submission graded once.

The whole catalogue of mistakes (one submission per mistake), the cheats, the
solution and the blank release are autograded in two nbgrader batches that
run in parallel (two scratch courses made from the same source, one per
core), so that the pipeline tests read one set of results.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
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
# Graded with figures on (the course's default; the batches run without them, for speed),
# alone, after its batch: its feedback must show its own part (d) figures.
FIGURE_STUDENT = "mistake-03-adam_update-no-bias-correction"


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


class _WithFigures(Course):
    """The same course, graded with figures on."""

    def env(self) -> dict:
        return {**super().env(), "ADAPTIVE_LR_FIGURES": "1"}


def _build(root: Path, name: str, students: dict, results: dict, errors: list, feedback=None):
    try:
        course = Course(root / name, REPO).create()
        course.generate_release()
        source, release = subs.read(course.source_notebook), subs.read(course.release_notebook)
        solved = subs.solution(source, release)
        later = {}
        for student, make in students.items():
            if student == FIGURE_STUDENT:
                later[student] = make(solved, release)
            else:
                course.submit(student, make(solved, release))
        seconds = course.autograde()
        for student, nb in later.items():
            course.submit(student, nb)
            start = time.perf_counter()
            _WithFigures(course.root, REPO, course.db_url).nbgrader("autograde", "--force", f"--student={student}")
            print(f"\n[grading] {student} graded with figures in {time.perf_counter() - start:.0f} s",
                  file=sys.stderr)
        results[name] = (course, seconds)
        if feedback:
            for student in feedback:
                course.nbgrader("generate_feedback", "--force", f"--student={student}")
    except Exception as exc:  # reported by the fixture, with the course's log
        errors.append((name, exc))


def _groups():
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
    return {"a": group_a, "b": group_b}


def _build_all(root: Path) -> dict:
    groups = _groups()
    results, errors, threads = {}, [], []
    for name, group in groups.items():
        feedback = [s for s in FEEDBACK_STUDENTS if s in group]
        threads.append(threading.Thread(target=_build, args=(root, name, group, results, errors, feedback)))
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        name, exc = errors[0]
        log = root / name / "nbgrader.log"
        tail = log.read_text()[-4000:] if log.exists() else ""
        pytest.fail(f"building scratch course {name} failed: {exc}\n{tail}")
    total = sum(len(g) for g in groups.values())
    print(f"\n[grading] {total} submissions graded in {time.perf_counter() - start:.0f} s "
          "(two parallel nbgrader batches)", file=sys.stderr)
    return {"groups": {name: sorted(g) for name, g in groups.items()},
            "seconds": {name: results[name][1] for name in groups}}


def _load(root: Path, manifest: dict) -> GradedCourses:
    grades, home, courses = {}, {}, {}
    for name, students in manifest["groups"].items():
        course = courses[name] = Course(root / name, REPO)
        batch = read_grades(course.db_url)
        for student in students:
            grades[student] = batch[student]
            home[student] = course
    return GradedCourses(courses, grades, manifest["seconds"], home)


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> GradedCourses:
    """Built once per test run, also under pytest-xdist: workers share it through a lock file."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by all workers of this run
    root = base / "adaptive-lr-graded"
    with open(base / "adaptive-lr-graded.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = root / "manifest.json"
            if not done.exists():
                if root.exists():
                    shutil.rmtree(root)  # a failed earlier attempt
                root.mkdir(parents=True)
                done.write_text(json.dumps(_build_all(root)))
            return _load(root, json.loads(done.read_text()))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
