"""The student's way to the exercises: course material points at the working copy; `make student` keeps it."""

import json
from pathlib import Path

from adaptive_lr.course.labsetup import student_copy

ROOT = Path(__file__).resolve().parents[1]
COURSE_FILES = sorted((ROOT / "course").glob("*.ipynb")) + sorted((ROOT / "course").glob("*.md"))
NOTEBOOKS = sorted((ROOT / "course").glob("*.ipynb")) + [
    ROOT / "source/adaptive_lr/exercises.ipynb",
    ROOT / "release/adaptive_lr/exercises.ipynb",
]


def test_course_never_sends_students_to_the_solutions():
    for path in COURSE_FILES:
        assert "source/adaptive_lr" not in path.read_text(), f"{path.name} points at the instructor's source/"


def test_every_theory_notebook_links_the_working_copy():
    for path in sorted((ROOT / "course").glob("*.ipynb")):
        assert "](../work/adaptive_lr/exercises.ipynb)" in path.read_text(), path.name


def test_one_kernel_name_everywhere():
    specs = {json.loads(p.read_text())["metadata"]["kernelspec"]["display_name"] for p in NOTEBOOKS}
    names = {json.loads(p.read_text())["metadata"]["kernelspec"]["name"] for p in NOTEBOOKS}
    assert specs == {"Python 3 (ipykernel)"} and names == {"python3"}, (specs, names)


def test_student_copy_is_made_once_and_never_overwritten(tmp_path):
    path, copied = student_copy(tmp_path / "work", ROOT)
    assert copied and path.read_bytes() == (ROOT / "release/adaptive_lr/exercises.ipynb").read_bytes()
    path.write_text("my answers")
    again, copied = student_copy(tmp_path / "work", ROOT)
    assert again == path and not copied and path.read_text() == "my answers"
