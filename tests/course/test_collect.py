"""Every producer of a GradingRecord field, on small notebooks built here (no kernel, no nbgrader)."""

from __future__ import annotations

import csv

from nbformat.v4 import new_code_cell, new_notebook, new_output

from adaptive_lr.course import collect, report, resume
from adaptive_lr.course.intake import Intake
from adaptive_lr.course.record import GradingRecord, Status


def _cell(grade_id, *, solution=False, grade=False, error=None, evalue=""):
    outputs = [new_output("error", ename=error, evalue=evalue, traceback=[])] if error else []
    return new_code_cell("pass", outputs=outputs, metadata={"nbgrader": {
        "grade_id": grade_id, "solution": solution, "grade": grade, "points": 1 if grade else 0}})


def _notebook():
    nb = new_notebook(cells=[
        _cell("01d_solution", solution=True),
        _cell("01d_hidden", grade=True),
        _cell("02d_solution", solution=True, error="NotImplementedError"),
        _cell("02d_hidden", grade=True, error="AssertionError", evalue="kernel says so"),
        _cell("03d_solution", solution=True, error="ZeroDivisionError"),
        _cell("03d_visible", grade=True, error="OracleCallError", evalue="calls the reference"),
        _cell("04d_solution", solution=True, error="NotRun"),
    ])
    nb.metadata["adaptive_lr"] = {
        "tampering": ["points of 01d_hidden changed from 1 to 9 (restored)"],
        "notes": ["1 cell added"],
        "execution": {
            "status": "timeout", "reason": "04d ran past 8 s", "cell": "04d_solution",
            "truncated_cells": [4], "seconds": 7.5,
            "timings": {"kernel_start": 0.5, "execution": 5.0, "recheck": 2.0},
            "recheck": {"ran": True, "checked": ["01d_hidden", "02d_hidden"], "failed": ["01d_hidden"],
                        "untrusted": [], "verdicts": {
                            "01d_hidden": {"passed": False, "message": "grader: wrong"},
                            "02d_hidden": {"passed": False, "message": "grader: 2 of 9 fail",
                                           "mistakes": ["02-ema-no-decay", {"key": "02-other"}]}}},
        },
    }
    return nb


GRADES = {"notebooks": {"exercises": {"grades": {
    "01d_hidden": {"auto_score": 0.0, "max_score": 2.0, "cell_type": "code", "needs_manual_grade": False},
    "02d_hidden": {"auto_score": 0.0, "max_score": 1.0, "cell_type": "code", "needs_manual_grade": False},
    "03d_visible": {"auto_score": None, "max_score": 1.0, "cell_type": "code", "needs_manual_grade": False},
    "01f_written": {"auto_score": None, "max_score": 3.0, "cell_type": "markdown", "needs_manual_grade": True},
}, "comments": {}, "flagged": False, "late_submission_penalty": None}}, "timestamp": None}


def test_intake_producer():
    fields = collect.intake_fields(Intake("s", "wrong file name", "found Exercises.ipynb", None))
    assert fields == {"intake_status": Status.WRONG_FILE_NAME, "intake_reason": "found Exercises.ipynb"}


def test_restore_producer():
    fields = collect.restore_fields(_notebook())
    assert fields["tampering"] == ("points of 01d_hidden changed from 1 to 9 (restored)",)
    assert fields["notes"] == ("1 cell added",)


def test_execution_producer_reads_status_timings_and_recheck():
    f = collect.execution_fields(_notebook())
    assert (f["run_status"], f["run_cell"], f["truncated_cells"]) == (Status.TIMEOUT, "04d_solution", (4,))
    assert (f["timings"].kernel_start, f["timings"].execution, f["timings"].recheck) == (0.5, 5.0, 2.0)
    assert f["recheck"].ran and f["recheck"].failed == ("01d_hidden",)


def test_answer_producer_reads_error_types_not_messages():
    f = collect.answer_fields(_notebook())
    assert f == {"answer_errors": ("03d_solution raised ZeroDivisionError",), "unanswered": 1}


def test_oracle_producer_reads_the_error_type():
    assert collect.oracle_fields(_notebook()) == {"oracle_calls": ("03d_visible",)}
    nb = _notebook()
    nb.cells[5].outputs[0]["ename"] = "AssertionError"  # the same words, another type: not a call
    assert collect.oracle_fields(nb) == {"oracle_calls": ()}


def test_cell_producer_takes_messages_and_mistakes_from_grader_side_verdicts():
    cells = {c.grade_id: c for c in collect.cell_fields(_notebook(), GRADES, "exercises")["cells"]}
    assert set(cells) == {"01d_hidden", "02d_hidden", "03d_visible"}, "written answers are not test cells"
    hidden = cells["02d_hidden"]
    assert hidden.message == "grader: 2 of 9 fail" and hidden.source == "recheck"
    assert hidden.mistakes == ("02-ema-no-decay", "02-other")
    assert "kernel says so" not in hidden.message
    visible = cells["03d_visible"]
    assert visible.source == "notebook" and visible.points == 0 and not visible.passed


def test_graded_record_puts_every_producer_together():
    r = collect.graded_record("s", _notebook(), GRADES, "exercises", sha256="x", key="k")
    assert r.graded and r.status is Status.TIMEOUT and (r.auto, r.auto_max) == (0, 4)
    assert "tampering" in r.reason and "calls the reference implementation" in r.reason


def test_csv_and_table_come_from_records(tmp_path):
    ok = collect.graded_record("ok-but-lost", _notebook(), GRADES, "exercises")
    refused = GradingRecord("refused", intake_status=Status.EMPTY_SUBMISSION, intake_reason="empty")
    path = report.write_csv([ok, refused], tmp_path / "r.csv")
    rows = {r["student"]: r for r in csv.DictReader(open(path))}
    assert rows["refused"]["status"] == "empty submission" and rows["refused"]["reason"] == "empty"
    assert rows["ok-but-lost"]["auto"] == "0" and rows["ok-but-lost"]["reason"]
    text = report.table([ok, refused])
    assert "Reasons:" in text and "refused: empty" in text
    assert "2 submissions: 1 timeout, 1 empty submission" in report.summary([ok, refused])


def test_resume_key_changes_with_submission_source_or_configuration(tmp_path):
    base = resume.digest({"source/a.ipynb": b"1", "env": "{}"})
    assert base == resume.digest({"env": "{}", "source/a.ipynb": b"1"}), "independent of order"
    assert base != resume.digest({"source/a.ipynb": b"2", "env": "{}"}), "a fixed hidden test regrades"
    assert base != resume.digest({"source/a.ipynb": b"1", "env": '{"T": "8"}'})
    k = resume.key({"adaptive_lr/exercises.ipynb": b"nb"}, base)
    assert k != resume.key({"adaptive_lr/exercises.ipynb": b"nb2"}, base)
    store = resume.RecordStore(tmp_path)
    notebook = tmp_path / "autograded.ipynb"
    store.save(GradingRecord("s", graded=True, key=k))
    assert store.done("s", k, notebook) is None, "graded, but its autograded notebook is gone"
    notebook.write_text("{}")
    assert store.done("s", k, notebook).key == k
    assert store.done("s", "other", notebook) is None
    store.path("s").write_text("{broken")
    assert store.load("s") is None
