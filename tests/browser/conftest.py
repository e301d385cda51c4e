"""One JupyterLab server and one Chromium for all browser tests; a graded course made alongside.

The server's root folder holds what ``make lab`` serves: ``course/`` (the
theory notebooks), ``work/adaptive_lr/`` (the student's copy of the release,
as ``make student`` makes it) and ``graded/``, a course in which one solved
submission is autograded in a background thread while the student tests run
(the formgrader test waits for it). Screenshots of every step go to
``tests/browser/artifacts/`` (not committed).
"""

from __future__ import annotations

import shutil
import threading
import time

import nbformat
import pytest

from . import lab as _lab

ARTIFACTS = _lab.ROOT / "tests" / "browser" / "artifacts"
STUDENT = "ada"
_STARTED = time.time()  # this test process (an xdist worker) began: later files are this run's

# Without a browser, only test_browser_available.py is collected: it reports the one skip line.
if _lab.browser_missing():
    collect_ignore_glob = ["test_student.py", "test_theory_and_formgrader.py", "test_rubric.py"]


def pytest_collection_modifyitems(items):
    """The rubric test needs the graded course: last, so no student test waits for the grading."""
    items.sort(key=lambda item: item.path.name == "test_rubric.py")  # stable: others keep order


def _grade_course(course, done: dict):
    from adaptive_lr.course import submissions as subs

    try:
        course.create()
        release = nbformat.read(course.generate_release(), as_version=4)
        source = nbformat.read(course.source_notebook, as_version=4)
        course.submit(STUDENT, subs.solution(source, release))
        course.autograde()
        done["ok"] = True
    except Exception as exc:  # reported by the formgrader test
        done["error"] = exc


@pytest.fixture(scope="session")
def artifacts():
    """The screenshot folder, without the screenshots of earlier runs.

    Each xdist worker runs session fixtures of its own, so another worker may be writing here
    already: only files older than this process are removed, never the folder.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.iterdir():
        try:
            if old.is_file() and old.stat().st_mtime < _STARTED:
                old.unlink()
        except FileNotFoundError:  # removed by another worker meanwhile
            pass
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory):
    from adaptive_lr.course.labsetup import student_copy
    from adaptive_lr.course.pipeline import Course

    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(_lab.ROOT / "course", root / "course")
    student_copy(root / "work", _lab.ROOT)
    course = Course(root / "graded", _lab.ROOT)
    done: dict = {}
    thread = threading.Thread(target=_grade_course, args=(course, done), daemon=True)
    thread.start()
    return {"root": root, "course": course, "grading": (thread, done)}


@pytest.fixture(scope="session")
def lab(lab_root, tmp_path_factory):
    home = tmp_path_factory.mktemp("lab-home")
    server = _lab.Lab(lab_root["root"], home, course=lab_root["course"].root).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    with _lab.chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(f"page error: {e}"))
    yield page
    page.close()
