"""The whole course, end to end, through nbgrader's exchange with two real student accounts.

release -> two students fetch, solve (one correct, one with a catalogued
mistake, the second one late) and submit -> collect -> autograde -> written
answers graded through nbgrader's gradebook API -> feedback released and
fetched -> export -> report. Also: what one student can and cannot see of
another's work and of the course, and that nothing a student receives holds
hidden-test code, model answers or rubrics.
"""

from __future__ import annotations

import csv
import html as html_lib
import os
import pwd
import re
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import parse_utc

from adaptive_lr import cli
from adaptive_lr.course import batch, bundle, class_report, exchange, export, manual
from adaptive_lr.course import submissions as subs
from adaptive_lr.course.gradebook import EXERCISES
from adaptive_lr.course.pipeline import ASSIGNMENT, Course, repo_root
from adaptive_lr.grading.mistakes import MISTAKES

from .accounts import need_root, student_accounts
from .rendered import raw_latex, visible_text

REPO = repo_root()
MISTAKE = next(m for m in MISTAKES if m.key == "03-adam_update-no-bias-correction")

PROBE = r"""
import glob, json, os, sys
inbound, victim_home, source, feedback = sys.argv[1:5]
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "allowed"
    except PermissionError:
        out[name] = "denied"
    except FileNotFoundError:
        out[name] = "missing"
attempt("list inbound", lambda: os.listdir(inbound))
out["find other's submission"] = glob.glob(os.path.join(inbound, sys.argv[5] + "+*"))
attempt("list other's home", lambda: os.listdir(victim_home))
attempt("read course source", lambda: open(source).read())
attempt("list exchange feedback", lambda: os.listdir(feedback))
print(json.dumps(out))
"""


def _own_words(nb, tag: str):
    """The written answers a student types (their own words, never the model answer)."""
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "markdown" and md.get("solution"):
            cell.source = f"{tag}'s answer to {md['grade_id']}: the step is taken per coordinate."
    return nb


def _solve(fetched: Path, source_nb, mistake=None, tag=""):
    """Fill the fetched notebook as a student would: code from the solution, own written answers."""
    release = nbformat.read(fetched, as_version=4)
    solved = subs.solution(source_nb, release)
    if mistake is not None:
        solved = subs.with_mistake(solved, mistake)
    st = os.stat(fetched)
    nbformat.write(_own_words(solved, tag), fetched)
    os.chown(fetched, st.st_uid, st.st_gid)


def _inbound_timestamp(inbound: Path, user: str) -> str:
    [entry] = [p.name for p in inbound.iterdir() if p.name.startswith(user + "+")]
    return entry.split("+")[2]


def test_course_lifecycle(monkeypatch):
    need_root()
    base = Path(tempfile.mkdtemp(prefix="adaptive-lr-hub-"))
    os.chmod(base, 0o755)  # like /home and /srv on a hub: everyone may traverse it
    monkeypatch.setenv("ADAPTIVE_LR_CELL_TIMEOUT", "30")
    try:
        with student_accounts(base / "home", ["ada", "bob"]) as accounts:
            _lifecycle(base, accounts, monkeypatch)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _lifecycle(base: Path, accounts: dict, monkeypatch):
    (ada, ada_home), (bob, bob_home) = accounts["ada"], accounts["bob"]
    root = exchange.prepare_root(base / "exchange")
    course = Course(base / "course", REPO).create()
    os.chmod(course.root, 0o700)  # the instructor's: source/, submitted/, the gradebook
    source_nb = nbformat.read(course.source_notebook, as_version=4)

    # -- hand out, fetch, solve, hand in ---------------------------------------------------
    course.generate_release()
    exchange.release_assignment(course, root)
    students = ((ada, ada_home), (bob, bob_home))
    exchange.each_student_nbgrader(students, root, "fetch_assignment", ASSIGNMENT)  # side by side
    for user, home in students:
        fetched = exchange.fetched_notebook(home)
        assert pwd.getpwuid(os.stat(fetched).st_uid).pw_name == user
    _solve(exchange.fetched_notebook(ada_home), source_nb, tag=ada)
    _solve(exchange.fetched_notebook(bob_home), source_nb, MISTAKE, tag=bob)
    exchange.submit(ada, ada_home, root)
    time.sleep(1.5)
    exchange.submit(bob, bob_home, root)
    inbound = root / exchange.COURSE_ID / "inbound"
    # The due date falls between the two submissions: bob is late (less than a day).
    ada_at, bob_at = (parse_utc(_inbound_timestamp(inbound, u)) for u in (ada, bob))
    assert bob_at - ada_at > timedelta(seconds=1)
    due = ada_at + timedelta(seconds=0.5)
    monkeypatch.setenv("ADAPTIVE_LR_DUE_DATE", f"{due:%Y-%m-%d %H:%M:%S.%f} UTC")

    # -- what one student can reach of another's work and of the course ---------------------
    probe = exchange.as_student(bob, bob_home, sys.executable, "-c", PROBE, str(inbound), str(ada_home),
                                str(course.source_notebook), str(root / exchange.COURSE_ID / "feedback"), ada)
    import json

    seen = json.loads(probe.stdout)
    assert seen["list inbound"] == "denied"
    assert seen["find other's submission"] == []
    assert seen["list other's home"] == "denied"
    assert seen["read course source"] == "denied"

    # -- collect and autograde ----------------------------------------------------------------
    exchange.collect(course, root)
    for user in (ada, bob):
        assert course.submitted_notebook(user).is_file()
    rows = batch.grade(course, say=lambda *a: None)
    by = {r.student: r for r in rows}
    assert by[ada].status == "ok" and by[ada].score() == by[ada].max_score() == 50
    assert by[bob].score(3) < 5 and all(by[bob].score(e) == 5 for e in EXERCISES if e != 3)
    assert MISTAKE.key in {m for c in by[bob].cells for m in c.mistakes}

    # -- the written answers, by hand: grading sheets, then the gradebook API -----------------
    parts = manual.written_parts(source_nb)
    assert len(parts) == 40 and sum(p.points for p in parts) == 50
    sheets = manual.write_sheets(course)
    ex1 = (course.root / "grading" / "ex01.html").read_text()
    first = parts[0]
    shown = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", ex1)).split())
    for text in (first.model_answer, first.rubric):  # the longest stretch of prose, outside the maths
        prose = max(re.split(r"\$[^$]*\$|\*+", text), key=len)  # maths, bold, emphasis
        assert " ".join(prose.split()) in shown
    assert "Rubric (1 point)" in ex1 and f"{ada}'s answer to {first.grade_id}" in ex1
    assert "Allowed scores:</b> 0, 0.5, 1" in ex1 and "/formgrader/submissions/" in ex1
    assert len(sheets) == 11
    for sheet in sheets[1:]:  # the maths as MathML, as on the feedback pages: no raw LaTeX left
        page = sheet.read_text()
        assert "<math" in page and raw_latex(visible_text(page)) == [], sheet.name
    with pytest.raises(ValueError, match="multiple of 0.5"):
        manual.enter_grade(course.db_url, ada, first.grade_id, 0.3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        manual.enter_grade(course.db_url, ada, first.grade_id, 1.5)
    with pytest.raises(ValueError, match="autograded"):
        manual.enter_grade(course.db_url, ada, "01d_visible", 1)
    with pytest.raises(export.ExportRefused, match="not graded"):
        export.export(course, base / "early.csv")
    ada_manual = bob_manual = 0.0
    todo = []
    for i, p in enumerate(parts):
        a = p.points - (0.5 if i == 2 else 0.0)  # one half point off a derivation
        b = p.points / 2 if (p.points / 2) % 0.5 == 0 else p.points - 0.5
        todo += [(ada, p.grade_id, a, "Clear." if i == 2 else None), (bob, p.grade_id, b, None)]
        ada_manual, bob_manual = ada_manual + a, bob_manual + b
    with pytest.raises(ValueError, match="multiple of 0.5"):  # all or nothing
        manual.enter_grades(course.db_url, todo + [(bob, first.grade_id, 0.25, None)])
    assert sorted(export.totals(course.db_url)[ada].pending) == sorted(p.grade_id for p in parts)
    manual.enter_grades(course.db_url, todo)
    assert manual.off_grid(course.db_url) == []

    # -- feedback out and back ----------------------------------------------------------------
    course.generate_feedback()
    exchange.release_feedback(course, root)
    exchange.each_student_nbgrader(students, root, "fetch_feedback", ASSIGNMENT)
    for user, home in students:
        [html] = exchange.fetched_feedback(home)
        assert f"{user}'s answer to 01a_definition" in html.read_text()
    seen = json.loads(exchange.as_student(
        bob, bob_home, sys.executable, "-c", PROBE, str(inbound), str(ada_home),
        str(course.source_notebook), str(root / exchange.COURSE_ID / "feedback"), ada).stdout)
    assert seen["list exchange feedback"] == "denied"

    # -- nothing a student receives holds hidden tests, model answers or rubrics --------------
    source_path = course.source_notebook
    for home in (ada_home, bob_home):
        assert bundle.find_leaks(home, source_path) == []
    assert bundle.find_leaks(root, source_path) == []
    # ... and the check objects when it should: the autograded notebook has the hidden tests.
    leaked = bundle.find_leaks(course.root / "autograded", source_path)
    assert any("hidden" in x for x in leaked) and any("model answer" in x or "Model" in x
                                                       for x in bundle.find_leaks(course.root / "source", source_path))

    # -- grades out ---------------------------------------------------------------------------
    totals = export.totals(course.db_url)
    assert totals[ada].score == 50 + ada_manual == 99.5
    assert totals[bob].penalty == 10.0
    assert totals[bob].score == pytest.approx(by[bob].score() + bob_manual - 10)
    canvas, plain = export.export(course, base / "grades.csv")
    with open(canvas, newline="") as f:
        rows_c = list(csv.reader(f))
    assert rows_c[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "adaptive_lr"]
    assert rows_c[1][0].strip() == "Points Possible" and rows_c[1][-1] == "100"
    canvas_by = {r[3]: r for r in rows_c[2:]}
    assert float(canvas_by[ada][-1]) == 99.5
    assert float(canvas_by[bob][-1]) == pytest.approx(totals[bob].score)
    with open(plain, newline="") as f:
        plain_by = {r["student"]: r for r in csv.DictReader(f)}
    assert plain_by[ada]["ex03"] == "10" and plain_by[ada]["total"] == "99.5"
    assert float(plain_by[bob]["ex03"]) < 10 and plain_by[bob]["late_penalty"] == "10"
    assert cli.main(["export", str(course.root), "--out", str(base / "cli.csv")]) == 0
    assert (base / "cli.csv").read_text() == canvas.read_text()
    nbg = base / "nbgrader_export.csv"
    course.nbgrader("export", f"--to={nbg}")
    with open(nbg, newline="") as f:
        nbg_by = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(nbg_by[ada]["score"]) == 99.5 and float(nbg_by[ada]["max_score"]) == 100
    assert float(nbg_by[bob]["late_submission_penalty"]) == 10

    # -- the class report ---------------------------------------------------------------------
    # Built once, from the course folder on disk as the command does (the batch's records, kept
    # there, are what class_report.write(course, rows) would be given in memory).
    assert cli.main(["report", str(course.root)]) == 0
    page = course.root / "report" / "index.html"
    text = page.read_text()
    assert class_report.from_course(course) == class_report.from_records(course, rows)
    assert "http://" not in text.replace("http://localhost", "") and "<script" not in text
    assert text.count("data:image/png;base64,") >= 3
    assert "99.5 / 100" in text
    assert f"../feedback/{ada}/adaptive_lr/exercises.html" in text
    assert "Similarity of the graded functions" in text and ada in text
    assert "bias correction missing" in text and bob in text.split("bias correction missing", 1)[1][:400]
