"""Grade a whole class and report on every student, whatever they handed in.

:func:`grade` is what an instructor runs (``adaptive-lr grade COURSE``):

1. the gradebook must hold the assignment (else one line says what to run
   first), and the hidden checks are parsed once from ``source/``, strictly
   (:func:`.verify.hidden_checks`: a non-literal argument stops the batch
   before anything is graded);
2. checksums of every file under ``submitted/`` (they must not change);
3. intake (:mod:`.intake`): folders that hold no gradable notebook get 0 and
   the reason, and are never run;
4. every other submission is graded on its own (:mod:`.task`), by
   ``workers`` long-lived worker processes on this machine (each imports
   nbgrader once, holds its own sandbox account and grades one submission
   at a time), or on a Dask cluster (``scheduler``). This process is the only writer of the course's
   gradebook (SQLite or PostgreSQL) and folders: each result comes back as
   data and is written here, one student at a time;
5. a student whose submission, ``source/`` and grading configuration are
   unchanged since a finished grading is not graded again (:mod:`.resume`)
   unless ``force``: a killed batch resumes where it stopped;
6. the report, rendered from the :class:`~.record.GradingRecord` of each
   student (:mod:`.report`): printed and written to ``grading_report.csv``;
7. the checksums again: a changed file under ``submitted/`` is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat

from . import report, resume, transfer
from .intake import inspect_course
from .pipeline import ASSIGNMENT, NOTEBOOK, Course
from .progress import Progress
from .schedule import apply_due_date
from .record import GradingRecord, Status
from .task import (GRADING_ENV, Common, Task, grade_in_worker, grade_submission, read_tree, sha256,
                   start_worker, write_tree)
from .verify import checks_to_json, hidden_checks

REPORT_NAME = "grading_report.csv"


class SubmissionsChanged(RuntimeError):
    """Grading modified a file under submitted/ (it never should)."""


class NotReady(RuntimeError):
    """The course cannot be graded yet; the message says what to run first (one line)."""


def checksums(folder: Path) -> dict:
    """relative path -> sha256 of every file below ``folder``."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _secrets(course: Course) -> tuple:
    """The course's paths on this machine that no grading kernel may see."""
    root = course.root
    paths = [root / d for d in ("source", "submitted", "autograded", "feedback", resume.STATE_DIR)]
    paths += [root / REPORT_NAME, course.log_path, course.repo / "source"]
    if course.db_url.startswith("sqlite:///"):
        paths.append(Path(course.db_url[len("sqlite:///") :]))
    return tuple(str(p) for p in paths)


def prepare(course: Course) -> Common:
    """Everything each submission is graded with, checked and read once for the batch."""
    checks = hidden_checks(nbformat.read(course.source_notebook, as_version=4))
    if not transfer.has_assignment(course.db_url, ASSIGNMENT):
        raise NotReady(
            f"the gradebook {course.db_url} does not hold the assignment {ASSIGNMENT!r} yet: run "
            f"`nbgrader generate_assignment` in {course.root} first (it records the assignment "
            "and its tests in the gradebook), then grade again"
        )
    files = {f"source/{ASSIGNMENT}/{k}": v for k, v in read_tree(course.source_notebook.parent).items()}
    if not course.release_notebook.is_file():
        raise NotReady(f"{course.release_notebook} is missing: run `nbgrader generate_assignment` first")
    files[f"release/{ASSIGNMENT}/{NOTEBOOK}.ipynb"] = course.release_notebook.read_bytes()
    files["grader_config.py"] = (course.repo / "grader_config.py").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gradebook.db"
        cells = transfer.export_assignment(course.db_url, f"sqlite:///{db}", ASSIGNMENT)
        gradebook = db.read_bytes()
    env = {k: os.environ[k] for k in GRADING_ENV if k in os.environ}
    checks_json = checks_to_json(checks)
    digest = resume.digest(
        {**files, "checks": checks_json, "env": json.dumps(env, sort_keys=True),
         "gradebook": json.dumps(cells, sort_keys=True, default=str)}
    )
    return Common(files, checks_json, gradebook, env, _secrets(course), digest)


def _task(course: Course, student: str, common: Common) -> Task:
    files = read_tree(course.root / "submitted" / student)
    notebook = files.get(f"{ASSIGNMENT}/{NOTEBOOK}.ipynb", b"")
    return Task(student, files, sha256(notebook), resume.key(files, common.digest))


def _store(course: Course, outcome) -> None:
    """Write one student's results; the record last, so that it marks a finished student."""
    r = outcome.record
    with open(course.log_path, "a", encoding="utf-8") as log:
        log.write(outcome.log)
    target = course.root / "autograded" / r.student
    if target.exists():
        shutil.rmtree(target)
    if outcome.autograded:
        write_tree(target, outcome.autograded)
    if outcome.grades is not None:
        transfer.write_submission(course.db_url, ASSIGNMENT, r.student, outcome.grades)
    resume.RecordStore(course.root).save(r)


def _run_local(common, tasks, workers, on_done) -> None:
    """``workers`` long-lived processes, one submission at a time each (see :mod:`.task`)."""
    import multiprocessing

    # spawn: a fresh interpreter per worker, not a fork of this (threaded) coordinator.
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=start_worker, initargs=(common,))
    futures = [pool.submit(grade_in_worker, t) for t in tasks]
    try:
        for future in as_completed(futures):
            on_done(future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(common, tasks, scheduler, on_done) -> None:
    from distributed import Client, as_completed as dask_completed

    with Client(scheduler) as client:  # as_completed looks the client up as the default
        shared = client.scatter(common, broadcast=True)
        futures = [
            client.submit(grade_submission, shared, t, key=f"grade-{t.student}-{t.key[:12]}",
                          pure=False, retries=0)
            for t in tasks
        ]
        try:
            for future in dask_completed(futures):
                on_done(future.result())
        except BaseException:
            client.cancel(futures)
            raise


def _sandbox_notice(say) -> None:
    if os.environ.get("ADAPTIVE_LR_SANDBOX", "1") == "0":
        say("sandbox: off (ADAPTIVE_LR_SANDBOX=0): kernels run as the grader, without limits")
    elif os.geteuid() != 0:
        say(
            "sandbox: limits, scratch folder and environment allow-list only; not root, so no "
            "separate user, no read-only view and no private network: kernels run as the grader "
            "(they can read its processes' environment) and reach the machine's network and sockets"
        )


def grade(course: Course, say=print, workers: int | None = None, scheduler: str | None = None,
          force: bool = False, tty: bool | None = None) -> list[GradingRecord]:
    """Grade every submission of ``course``; returns one record per student (also printed and saved)."""
    _sandbox_notice(say)
    if transfer.has_assignment(course.db_url, ASSIGNMENT):
        apply_due_date(course)  # the configured due date, where nbgrader's late penalty reads it
    common = prepare(course)
    submitted = course.root / "submitted"
    before = checksums(submitted)
    intakes = inspect_course(course.root, ASSIGNMENT)
    store = resume.RecordStore(course.root)
    records: dict[str, GradingRecord] = {}
    todo = []
    for i in intakes:
        if i.status != Status.OK.value:
            records[i.student] = GradingRecord(
                i.student, intake_status=Status(i.status), intake_reason=i.reason
            )
            continue
        task = _task(course, i.student, common)
        done = None if force else store.done(i.student, task.key, course.autograded_notebook(i.student))
        if done is not None:
            records[i.student] = done
        else:
            todo.append(task)
    progress = Progress(len(intakes), say=say, tty=tty)
    for i in intakes:
        if i.student in records:
            progress.update(records[i.student], skipped=i.status == Status.OK.value)

    def on_done(outcome):
        _store(course, outcome)
        records[outcome.record.student] = outcome.record
        progress.update(outcome.record)

    try:
        if todo:
            if scheduler:
                _run_dask(common, todo, scheduler, on_done)
            else:
                _run_local(common, todo, max(1, workers or os.cpu_count() or 1), on_done)
    except KeyboardInterrupt:
        progress.close()
        say(f"interrupted: {progress.done} of {progress.total} students done; run the same "
            "command again to grade only the rest")
        raise
    progress.close()
    after = checksums(submitted)
    if after != before:
        changed = sorted(set(before.items()) ^ set(after.items()))
        raise SubmissionsChanged(f"grading changed files under submitted/: {changed[:5]}")
    rows = [records[i.student] for i in intakes]
    report.write_csv(rows, course.root / REPORT_NAME)
    say(report.table(rows))
    return rows
