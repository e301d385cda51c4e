"""Intake: every broken submission folder gets a precise status and reason, and nothing is changed.

Each case is written into a scratch ``submitted/`` folder; the files' checksums
(and modes and modification times) are taken before intake runs and compared
after it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import nbformat
import pytest

from adaptive_lr.course import intake
from adaptive_lr.course.intake import Intake, inspect_course, inspect_submission
from adaptive_lr.course.pipeline import repo_root

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

REPO = repo_root()
RELEASE = REPO / "release" / "adaptive_lr" / "exercises.ipynb"
NB = "adaptive_lr/exercises.ipynb"


def snapshot(root: Path) -> dict:
    """Every entry below ``root``: content checksum, size, mode and mtime (links: their target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_file():
                out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest() if st.st_size < 2**20 else "big",
                            st.st_size, st.st_mode, st.st_mtime_ns)
            else:
                out[rel] = ("other", st.st_mode, st.st_mtime_ns)
    return out


def _v3_notebook() -> str:
    """The release, converted down to nbformat 3 the way an old Jupyter would have saved it."""
    nb = nbformat.read(RELEASE, as_version=4)
    return nbformat.writes(nbformat.convert(nb, 3), version=3)


def _notebook_json(**changes) -> str:
    doc = json.loads(RELEASE.read_text())
    doc.update(changes)
    return json.dumps(doc)


def _without_outputs_field() -> str:
    doc = json.loads(RELEASE.read_text())
    code = next(c for c in doc["cells"] if c["cell_type"] == "code")
    del code["outputs"]
    return json.dumps(doc)


def _unknown_cell_type() -> str:
    doc = json.loads(RELEASE.read_text())
    doc["cells"][0]["cell_type"] = "python"
    return json.dumps(doc)


def _without_cell_ids() -> str:
    """nbformat 4.4, as saved by an older JupyterLab: no cell ids. nbformat reads it; so does nbgrader."""
    doc = json.loads(RELEASE.read_text())
    for cell in doc["cells"]:
        cell.pop("id")
    doc["nbformat_minor"] = 4
    return json.dumps(doc)


# student -> ({relative path: content}, status, [phrases the reason must contain], notebook path or None)
# content: str (UTF-8), bytes, None (an empty folder), "FIFO" handled separately.
CASES = {
    "ok": ({NB: RELEASE.read_text()}, "ok", [], NB),
    "ok-with-copies": ({NB: RELEASE.read_text(), "adaptive_lr/exercises (1).ipynb": "{}"}, "ok", [], NB),
    "ok-no-cell-ids": ({NB: _without_cell_ids()}, "ok", [], NB),
    "empty-folder": ({}, "empty submission", ["empty-folder/ is empty", "nothing was handed in"], None),
    "empty-assignment": ({"adaptive_lr": None}, "empty submission",
                         ["empty-assignment/adaptive_lr/ is empty"], None),
    "only-timestamp": ({"adaptive_lr/timestamp.txt": "2026-11-28 10:00:00"}, "empty submission",
                       ["is empty"], None),
    "only-notes": ({"adaptive_lr/notes.txt": "I ran out of time"}, "missing notebook",
                   ["adaptive_lr/exercises.ipynb is missing", "adaptive_lr/notes.txt"], None),
    "only-export": ({"adaptive_lr/exercises.html": "<html></html>"}, "missing notebook",
                    ["is missing", "exercises.html", "not an export"], None),
    "only-checkpoint": ({"adaptive_lr/.ipynb_checkpoints/exercises-checkpoint.ipynb": RELEASE.read_text()},
                        "missing notebook", ["autosave copy", "exercises-checkpoint.ipynb"], None),
    "capitalized": ({"adaptive_lr/Exercises.ipynb": RELEASE.read_text()}, "wrong file name",
                    ["found adaptive_lr/Exercises.ipynb", "expected adaptive_lr/exercises.ipynb",
                     "rename it to exercises.ipynb"], "adaptive_lr/Exercises.ipynb"),
    "download-copy": ({"adaptive_lr/exercises (1).ipynb": RELEASE.read_text()}, "wrong file name",
                      ["found adaptive_lr/exercises (1).ipynb", "expected adaptive_lr/exercises.ipynb"],
                      "adaptive_lr/exercises (1).ipynb"),
    "txt-suffix": ({"adaptive_lr/exercises.ipynb.txt": RELEASE.read_text()}, "wrong file name",
                   ["found adaptive_lr/exercises.ipynb.txt", "rename it to exercises.ipynb"],
                   "adaptive_lr/exercises.ipynb.txt"),
    "wrong-folder": ({"exercises.ipynb": RELEASE.read_text()}, "wrong file name",
                     ["found exercises.ipynb", "move it to adaptive_lr/exercises.ipynb"], "exercises.ipynb"),
    "folder-case": ({"Adaptive_LR/exercises.ipynb": RELEASE.read_text()}, "wrong file name",
                    ["found Adaptive_LR/exercises.ipynb", "expected adaptive_lr/exercises.ipynb"],
                    "Adaptive_LR/exercises.ipynb"),
    "invalid-json": ({NB: '{\n  "cells": [\n    1 2\n  ]\n}'}, "invalid notebook",
                     ["exercises.ipynb is not valid JSON (line 3, column 7): Expecting ',' delimiter"], NB),
    "truncated": ({NB: RELEASE.read_text()[:5000]}, "invalid notebook",
                  ["not valid JSON (line", "ends early"], NB),
    "html-page": ({NB: "<!DOCTYPE html><html><body>Notebook</body></html>"}, "invalid notebook",
                  ["not valid JSON (line 1, column 1)", "HTML page"], NB),
    "binary": ({NB: bytes(range(256)) * 4}, "invalid notebook",
               ["not a text notebook", "byte 0x80 at offset 128 is not UTF-8", "binary data"], NB),
    "png": ({NB: b"\x89PNG\r\n\x1a\n" + bytes(200)}, "invalid notebook",
            ["byte 0x89 at offset 0", "a PNG image"], NB),
    "utf16": ({NB: RELEASE.read_text().encode("utf-16")}, "invalid notebook", ["UTF-16"], NB),
    "bom": ({NB: b"\xef\xbb\xbf" + RELEASE.read_bytes()}, "invalid notebook", ["byte-order mark"], NB),
    "zero-bytes": ({NB: b""}, "invalid notebook", ["is empty (0 bytes)"], NB),
    "json-list": ({NB: "[1, 2, 3]"}, "invalid notebook",
                  ["JSON but not a notebook", "top level is a list"], NB),
    "json-object": ({NB: '{"name": "my homework", "answers": [1, 2]}'}, "invalid notebook",
                    ["JSON but not a notebook", "no 'nbformat' field", "answers, name"], NB),
    "nbformat-text": ({NB: _notebook_json(nbformat="four")}, "invalid notebook",
                      ["'nbformat' field is 'four', not a number"], NB),
    "nbformat-3": ({NB: _v3_notebook()}, "invalid notebook",
                   ["old notebook format nbformat 3", "open it in JupyterLab", "save it"], NB),
    "nbformat-2": ({NB: json.dumps({"nbformat": 2, "metadata": {}, "worksheets": []})}, "invalid notebook",
                   ["nbformat 2"], NB),
    "nbformat-5": ({NB: _notebook_json(nbformat=5)}, "invalid notebook", ["nbformat 5, newer"], NB),
    "no-cells": ({NB: _notebook_json(cells=[])}, "invalid notebook", ["has no cells"], NB),
    "cells-missing": ({NB: json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}})},
                      "invalid notebook", ["no list of cells"], NB),
    "no-outputs-field": ({NB: _without_outputs_field()}, "invalid notebook",
                         ["fails nbformat validation at cells[1]", "'outputs' is a required property"], NB),
    "unknown-cell-type": ({NB: _unknown_cell_type()}, "invalid notebook",
                          ["fails nbformat validation at cells[0]"], NB),
    "folder-named-like-notebook": ({"adaptive_lr/exercises.ipynb/": None}, "invalid notebook",
                                   ["is a folder, not a notebook file"], NB),
}


def _write(student_dir: Path, files: dict) -> None:
    student_dir.mkdir(parents=True)
    for rel, content in files.items():
        path = student_dir / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """One scratch course holding every case (and a few hostile ones made by the tests below)."""
    root = tmp_path_factory.mktemp("intake-course")
    for student, (files, *_rest) in CASES.items():
        _write(root / "submitted" / student, files)
    return root


def _check(result: Intake, student: str, student_dir: Path):
    _files, status, phrases, notebook = CASES[student]
    assert result.student == student
    assert result.status == status, result.reason
    for phrase in phrases:
        assert phrase in result.reason, (phrase, result.reason)
    assert (result.reason == "") == (status == "ok")
    assert "\n" not in result.reason
    assert result.notebook == (student_dir / notebook if notebook else None)


@pytest.mark.parametrize("student", sorted(CASES))
def test_each_case_gets_its_status_and_reason(course, student):
    before = snapshot(course)
    student_dir = course / "submitted" / student
    _check(inspect_submission(student_dir), student, student_dir)
    assert snapshot(course) == before


def test_inspect_course_covers_every_student_in_order_and_changes_nothing(course):
    submitted = course / "submitted"
    (submitted / ".ipynb_checkpoints").mkdir(exist_ok=True)  # not a student
    (submitted / "stray.txt").write_text("not a student")
    before = snapshot(course)
    results = inspect_course(course)
    assert [r.student for r in results] == sorted(CASES)
    for r in results:
        _check(r, r.student, submitted / r.student)
    assert snapshot(course) == before
    # and a second run says the same
    assert inspect_course(course) == results


def test_no_submitted_folder_means_no_students(tmp_path):
    assert inspect_course(tmp_path) == []


def test_v3_notebook_is_not_upgraded(tmp_path):
    """The old notebook is refused as it is: the file is not rewritten in nbformat 4."""
    _write(tmp_path / "old", {NB: _v3_notebook()})
    path = tmp_path / "old" / NB
    before = path.read_bytes()
    result = inspect_submission(tmp_path / "old")
    assert result.status == "invalid notebook"
    assert "nbformat 3" in result.reason and "this course needs nbformat 4" in result.reason
    assert path.read_bytes() == before
    assert json.loads(before)["nbformat"] == 3


def test_huge_notebook_is_refused_from_its_size_without_reading_it(tmp_path, monkeypatch):
    student_dir = tmp_path / "huge"
    _write(student_dir, {NB: b""})
    path = student_dir / NB
    os.truncate(path, intake.MAX_NOTEBOOK_BYTES + 10 * 2**20)  # sparse: 60 MB of nothing, instantly
    opened = []
    real_open = os.open
    monkeypatch.setattr(intake.os, "open", lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k))
    result = inspect_submission(student_dir)
    assert result.status == "invalid notebook"
    assert "is 60 MB, more than the 50 MB limit" in result.reason
    assert "Clear Outputs" in result.reason
    assert opened == []


def test_the_size_limit_is_a_parameter(tmp_path):
    _write(tmp_path / "s", {NB: RELEASE.read_text()})
    assert inspect_submission(tmp_path / "s").status == "ok"
    small = inspect_submission(tmp_path / "s", max_bytes=1000)
    assert small.status == "invalid notebook" and "limit" in small.reason


def test_symbolic_links_are_refused_not_followed(tmp_path):
    """A link to another student's notebook (or to any file) would grade someone else's work."""
    submitted = tmp_path / "submitted"
    _write(submitted / "honest", {NB: RELEASE.read_text()})
    (submitted / "linker" / "adaptive_lr").mkdir(parents=True)
    (submitted / "linker" / NB).symlink_to(submitted / "honest" / NB)
    (submitted / "folder-linker").mkdir()
    (submitted / "folder-linker" / "adaptive_lr").symlink_to(submitted / "honest" / "adaptive_lr")
    (submitted / "student-link").symlink_to(submitted / "honest")
    before = snapshot(tmp_path)
    results = {r.student: r for r in inspect_course(tmp_path)}
    assert results["honest"].status == "ok"
    for student in ("linker", "folder-linker", "student-link"):
        assert results[student].status == "invalid notebook"
        assert "symbolic link" in results[student].reason
        assert results[student].notebook is None
    assert snapshot(tmp_path) == before


def test_a_fifo_is_refused_without_blocking(tmp_path):
    (tmp_path / "fifo" / "adaptive_lr").mkdir(parents=True)
    os.mkfifo(tmp_path / "fifo" / NB)
    result = inspect_submission(tmp_path / "fifo")
    assert result.status == "invalid notebook"
    assert "not a regular file" in result.reason


def test_many_files_do_not_stall_the_search(tmp_path):
    student_dir = tmp_path / "many"
    (student_dir / "adaptive_lr").mkdir(parents=True)
    for i in range(intake._MAX_ENTRIES + 50):
        (student_dir / "adaptive_lr" / f"f{i:05d}.txt").touch()
    result = inspect_submission(student_dir)
    assert result.status == "missing notebook"
    assert "and " in result.reason and "too many files to list" in result.reason


def test_the_best_look_alike_is_named_and_the_others_counted(tmp_path):
    _write(tmp_path / "s", {"adaptive_lr/exercises (2).ipynb": "{}", "adaptive_lr/Exercises.ipynb": "{}",
                            "adaptive_lr/other.ipynb": "{}"})
    result = inspect_submission(tmp_path / "s")
    assert result.status == "wrong file name"
    assert result.reason.startswith("found adaptive_lr/Exercises.ipynb (and 2 other look-alike files)")


def test_other_assignment_and_notebook_names(tmp_path):
    _write(tmp_path / "s", {"week2/lab.ipynb": RELEASE.read_text()})
    assert inspect_submission(tmp_path / "s", assignment="week2", notebook="lab").status == "ok"
    other = inspect_submission(tmp_path / "s")
    assert other.status == "wrong file name" and "expected adaptive_lr/exercises.ipynb" in other.reason
