"""A class batch on a Dask LocalCluster into a real PostgreSQL gradebook, then killed and resumed.

One module-scoped course serves every assertion: a solution, a catalogued
mistake, a call to the reference implementation and a misnamed file are
graded by two Dask worker processes (one thread each, 127.0.0.1, no
dashboard) into a throwaway PostgreSQL server; then the records are dropped,
``adaptive-lr grade --workers 1`` is SIGKILLed after its first student, and
the same command run again grades only what was not finished.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from adaptive_lr.course import batch, resume
from adaptive_lr.course import submissions as subs
from adaptive_lr.course.pipeline import Course, repo_root
from adaptive_lr.course.record import GradingRecord, Status
from adaptive_lr.grading.mistakes import MISTAKES

from . import postgres

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres.pg_bin() is None, reason="PostgreSQL is not installed (.ci/run installs it)"),
]

MISTAKE = "03-adam_update-no-bias-correction"
STUDENTS = ("cheat-calls-oracle", "mistake", "solution")
USER = f"adaptive-lr-grader-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-scale"


def _dask_grade(course):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        lines = []
        records = batch.grade(course, say=lines.append, scheduler=cluster.scheduler_address)
        return records, lines


def _count(url, sql):
    import psycopg

    with psycopg.connect(url) as db:
        return db.execute(sql).fetchall()


def _kill_after_first_record(course, env):
    store = resume.RecordStore(course.root)
    cmd = [sys.executable, "-m", "adaptive_lr.cli", "grade", str(course.root), "--workers", "1",
           "--db", course.db_url]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and proc.poll() is None:
        if store.folder.is_dir() and any(store.folder.glob("*.json")):
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return sorted(p.stem for p in store.folder.glob("*.json"))


def _build(root) -> dict:
    """Grade, kill and resume; everything the tests read, as JSON (shared by xdist workers)."""
    with postgres.server() as url:
        course = Course(root / "course", repo_root(), db_url=url).create()
        course.generate_release()
        solved = subs.solution(subs.read(course.source_notebook), subs.read(course.release_notebook))
        mistake = next(m for m in MISTAKES if m.key == MISTAKE)
        course.submit("solution", solved)
        course.submit("mistake", subs.with_mistake(solved, mistake))
        course.submit("cheat-calls-oracle", subs.with_cheat(solved, subs.CHEATS[0]))
        wrong = course.root / "submitted" / "wrong-name" / "adaptive_lr"
        wrong.mkdir(parents=True)
        (wrong / "Exercises.ipynb").write_text("{}")
        before = batch.checksums(course.root / "submitted")
        records, lines = _dask_grade(course)
        report = {r["student"]: r for r in csv.DictReader(open(course.root / batch.REPORT_NAME))}
        grades = _count(url, "select s.student_id, count(*), count(distinct g.cell_id), "
                             "sum(g.auto_score) from grade g join submitted_notebook n on "
                             "g.notebook_id = n.id join submitted_assignment s on "
                             "n.assignment_id = s.id group by s.student_id")
        submissions = _count(url, "select student_id, count(*) from submitted_assignment "
                                  "group by student_id")
        cells = _count(url, "select (select count(*) from grade_cells) + "
                            "(select count(*) from task_cells)")[0][0]
        # Kill and resume: forget what was graded, SIGKILL after one student, run again.
        for p in resume.RecordStore(course.root).folder.glob("*.json"):
            p.unlink()
        env = dict(os.environ, PYTHONPATH=str(repo_root() / "lib"))
        finished = _kill_after_first_record(course, env)
        again_lines, third_lines = [], []
        again = batch.grade(course, say=again_lines.append, workers=2)
        batch.grade(course, say=third_lines.append, workers=2)
        return {
            "root": str(course.root), "records": {r.student: r.to_json() for r in records},
            "lines": lines, "report": report, "before": before,
            "grades": {s: rest for s, *rest in grades}, "submissions": dict(submissions),
            "cells": cells, "finished": finished,
            "again": {r.student: r.to_json() for r in again},
            "again_lines": again_lines, "third_lines": third_lines,
            "after": batch.checksums(course.root / "submitted"),
            "submissions_after": dict(_count(url, "select student_id, count(*) from "
                                                  "submitted_assignment group by student_id")),
            "grade_rows_after": _count(url, "select count(*) from grade")[0][0],
        }


@pytest.fixture(scope="session")
def scale(tmp_path_factory):
    """Built once per run, also under pytest-xdist: workers share it through a lock file."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "adaptive-lr-scale"
    saved = {k: os.environ.get(k) for k in ("ADAPTIVE_LR_SANDBOX_USER", "ADAPTIVE_LR_CELL_TIMEOUT")}
    with open(base / "adaptive-lr-scale.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = root / "manifest.json"
            if not done.exists():
                if root.exists():
                    shutil.rmtree(root)
                root.mkdir(parents=True)
                os.environ["ADAPTIVE_LR_SANDBOX_USER"] = USER
                os.environ["ADAPTIVE_LR_CELL_TIMEOUT"] = "20"
                done.write_text(json.dumps(_build(root)))
            data = json.loads(done.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    for name in ("records", "again"):
        data[name] = {s: GradingRecord.from_json(t) for s, t in data[name].items()}
    data["course"] = Course(data["root"], repo_root())
    return data


def test_dask_batch_scores_and_statuses(scale):
    r = scale["records"]
    assert (r["solution"].status, r["solution"].auto, r["solution"].auto_max) == (Status.OK, 50, 50)
    assert r["mistake"].status is Status.OK and r["mistake"].score(3) < 5 and r["mistake"].score(4) == 5
    assert r["cheat-calls-oracle"].status is Status.TAMPERING
    assert any(g.startswith("03") for g in r["cheat-calls-oracle"].oracle_calls)
    assert r["wrong-name"].status is Status.WRONG_FILE_NAME and not r["wrong-name"].graded


def test_every_grade_landed_exactly_once_in_postgresql(scale):
    assert scale["submissions"] == {s: 1 for s in STUDENTS}
    for student in STUDENTS:
        rows, distinct, auto = scale["grades"][student]
        assert rows == distinct == scale["cells"], student
        expected = scale["records"][student].auto
        assert abs(auto - expected) < 1e-9, (student, auto, expected)


def test_records_carry_timings_checksums_and_grader_side_verdicts(scale):
    r = scale["records"]["mistake"]
    assert r.sha256 == __import__("hashlib").sha256(
        scale["course"].submitted_notebook("mistake").read_bytes()).hexdigest()
    assert r.timings.kernel_start > 0 and r.timings.execution > 0 and r.timings.recheck > 0
    assert r.timings.total >= r.timings.execution
    assert r.recheck.ran and "03d_adam_update_hidden" in r.recheck.checked and not r.recheck.failed
    hidden = next(c for c in r.cells if c.grade_id == "03d_adam_update_hidden")
    assert not hidden.passed and hidden.source == "recheck" and "adam_update" in hidden.message
    assert len(r.cells) == 36


def test_report_has_a_reason_for_every_student_who_lost_points_or_is_not_ok(scale):
    report = scale["report"]
    assert set(report) == {*STUDENTS, "wrong-name"}
    for student, row in report.items():
        if row["status"] != "ok" or row["auto"] != row["auto_max"]:
            assert row["reason"], student
    assert "03d_adam_update_hidden" in report["mistake"]["reason"]
    assert report["solution"]["reason"] == ""


def test_plain_progress_lines_when_not_a_terminal(scale):
    lines = [x for x in scale["lines"] if x.startswith("[")]
    assert len(lines) == 4 and lines[-1].startswith("[4/4]")


def test_killed_batch_resumes_with_only_the_unfinished(scale):
    finished = scale["finished"]
    assert 1 <= len(finished) < len(STUDENTS), finished
    skipped = [x for x in scale["again_lines"] if "not graded again" in x]
    assert sorted(x.split()[1].rstrip(":") for x in skipped) == finished
    assert {s: (r.status, r.auto) for s, r in scale["again"].items()} == {
        s: (r.status, r.auto) for s, r in scale["records"].items()
    }
    assert sum("not graded again" in x for x in scale["third_lines"]) == len(STUDENTS)
    assert scale["after"] == scale["before"], "submitted/ changed"


def test_a_grade_is_written_once_after_regrading(scale):
    assert scale["submissions_after"] == {s: 1 for s in STUDENTS}
    assert scale["grade_rows_after"] == scale["cells"] * len(STUDENTS)
