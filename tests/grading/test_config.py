"""grader_config.py is the configuration nbgrader really uses (through the nbgrader_config.py stub)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from adaptive_lr.course.feedback import strip_regions

from .conftest import REPO


def _load(env=None, monkeypatch=None):
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    return PyFileConfigLoader("nbgrader_config.py", str(REPO)).load_config()


def test_stub_loads_grader_config(monkeypatch):
    for k in ("ADAPTIVE_LR_COURSE_ROOT", "ADAPTIVE_LR_GRADEBOOK_URL", "ADAPTIVE_LR_CELL_TIMEOUT"):
        monkeypatch.delenv(k, raising=False)
    c = _load()
    assert c.CourseDirectory.db_url == f"sqlite:///{REPO / 'gradebook.db'}"
    assert c.CourseDirectory.root == str(REPO)
    assert c.CourseDirectory.assignment_id == "adaptive_lr"
    assert c.Execute.timeout == 60
    assert c.IgnorePattern.enabled is True
    assert "adaptive_lr.course.feedback.HideHiddenTests" in c.GenerateFeedback.preprocessors


def test_environment_overrides(monkeypatch, tmp_path):
    c = _load({"ADAPTIVE_LR_GRADEBOOK_URL": "postgresql://grader@db/adaptive_lr",
               "ADAPTIVE_LR_CELL_TIMEOUT": "7", "ADAPTIVE_LR_COURSE_ROOT": str(tmp_path)}, monkeypatch)
    # A plain postgresql:// URL is given the installed driver (psycopg 3), not SQLAlchemy's default.
    assert c.CourseDirectory.db_url == "postgresql+psycopg://grader@db/adaptive_lr"
    assert c.Execute.timeout == 7
    assert c.CourseDirectory.root == str(tmp_path)


def test_stub_refuses_a_missing_grader_config(tmp_path):
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    with pytest.raises(FileNotFoundError, match="grader_config.py"):
        PyFileConfigLoader("nbgrader_config.py", str(tmp_path)).load_config()


def test_ignore_pattern_drops_only_whole_harmless_messages(monkeypatch):
    import re

    pattern = _load().IgnorePattern.pattern
    assert re.search(pattern, "Matplotlib is building the font cache; this may take a moment.\n")
    assert not re.search(pattern, "Matplotlib is building the font cache; this may take a moment.\nTraceback ...")
    assert not re.search(pattern, "RuntimeWarning: divide by zero")


def _course_copy(tmp_path: Path) -> Path:
    """A course folder holding copies of the two committed config files and the source."""
    course = tmp_path / "course"
    (course / "source" / "adaptive_lr").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copy(REPO / "grader_config.py", course)
    shutil.copy(REPO / "source" / "adaptive_lr" / "exercises.ipynb", course / "source" / "adaptive_lr")
    return course


def _nbgrader(course: Path, *args, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTIVE_LR_")}
    full.update(env)
    full["PATH"] = os.path.dirname(sys.executable) + os.pathsep + full.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=full,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_gradebook_url_setting_takes_effect_in_nbgrader(tmp_path):
    """nbgrader run in a course with the committed config puts the gradebook where the setting says."""
    course = _course_copy(tmp_path)
    elsewhere = tmp_path / "private" / "grades.db"
    elsewhere.parent.mkdir()
    proc = _nbgrader(course, "generate_assignment", "--force", ADAPTIVE_LR_GRADEBOOK_URL=f"sqlite:///{elsewhere}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert elsewhere.is_file(), "the gradebook is not where ADAPTIVE_LR_GRADEBOOK_URL says"
    assert not (course / "gradebook.db").exists()
    assert (course / "release" / "adaptive_lr" / "exercises.ipynb").is_file()
    assert not list((course / "release").rglob("*.db"))


@pytest.mark.slow
def test_cell_timeout_setting_takes_effect_in_nbgrader(tmp_path):
    """The cell timeout of grader_config.py interrupts a cell that would run for a minute."""
    course = _course_copy(tmp_path)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import time\ntime.sleep(60)")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "sleeps", "locked": True, "points": 1,
                                 "schema_version": 3, "solution": False, "task": False}
    nb.cells = [cell]
    path = course / "sleeps.ipynb"
    nbformat.write(nb, path)
    start = time.perf_counter()
    proc = _nbgrader(course, "validate", str(path), ADAPTIVE_LR_CELL_TIMEOUT="3")
    elapsed = time.perf_counter() - start
    assert elapsed < 40, f"validate took {elapsed:.0f} s: the 3 s timeout was not applied"
    assert "failed" in (proc.stdout + proc.stderr).lower() or "timeout" in (proc.stdout + proc.stderr).lower()


def test_strip_regions():
    src = '"""Doc."""\ncheck.runs(f, "f")\n### BEGIN HIDDEN TESTS\nhidden_test("f", f, seed=1)\n### END HIDDEN TESTS'
    out, removed = strip_regions(src)
    assert removed and "hidden_test" not in out and "seed" not in out and out.startswith('"""Doc."""')
    out, removed = strip_regions("x = 1\n=== BEGIN MARK SCHEME ===\nsecret\n=== END MARK SCHEME ===\ny = 2")
    assert removed and out == "x = 1\ny = 2"
    assert strip_regions("x = 1") == ("x = 1", False)
