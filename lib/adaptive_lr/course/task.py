"""Grade one submission in a private scratch course: the unit of work of every batch worker.

:func:`grade_submission` is what a local worker process or a Dask worker runs.
Everything it needs travels with the task, as bytes (:class:`Common` once per
batch, :class:`Task` per student): the course's ``source/``, the release, the
grading configuration, the parsed hidden checks, a gradebook that holds only
the assignment, and the student's submitted folder. So a worker needs no
shared file system and no access to the course's gradebook: it needs the
environment (this package and its dependencies) and root for the sandbox.

A worker is a long-lived, single-threaded process: it imports nbgrader once
and grades many submissions, each in a fresh temporary folder laid out as an
nbgrader course, with a configuration loaded afresh from that course's
``nbgrader_config.py`` and nbgrader's ``Autograde`` converter run in-process.
The worker claims its sandbox account once and keeps it (each kernel still
runs in that account, and is reaped after each notebook); the kernelspecs
are rewritten for each scratch course, whose secrets they hide. It sends back
the :class:`~.record.GradingRecord`, the autograded folder (as bytes) and the
grades (as data) for the coordinator, the only writer of the course's
gradebook and folders.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .record import GradingRecord, Timings

ASSIGNMENT = "adaptive_lr"
NOTEBOOK = "exercises"
CHECKS_FILE = "hidden_checks.json"
GRADEBOOK_FILE = "gradebook.db"
# Environment the grading configuration reads (grader_config.py), passed on to workers.
GRADING_ENV = (
    "ADAPTIVE_LR_CELL_TIMEOUT",
    "ADAPTIVE_LR_NOTEBOOK_TIMEOUT",
    "ADAPTIVE_LR_SANDBOX",
    "ADAPTIVE_LR_SANDBOX_USER",
)

_STUB = '''\
"""A one-submission grading course (adaptive_lr.course.task)."""
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
c.SandboxedExecute.hidden_checks_file = {checks!r}
c.SandboxedExecute.hide_paths = list(c.SandboxedExecute.hide_paths) + {hide!r}
'''

@dataclass(frozen=True)
class Common:
    """What every submission of one batch is graded with."""

    files: dict  # path relative to the course root -> bytes (source/, release/, grader_config.py)
    checks_json: str
    gradebook: bytes  # a SQLite gradebook holding only the assignment
    env: dict = field(default_factory=dict)  # GRADING_ENV values
    hide: tuple = ()  # paths of the course on this machine that kernels must not see
    digest: str = ""  # of everything above that decides a grade (see adaptive_lr.course.resume)


@dataclass(frozen=True)
class Task:
    student: str
    files: dict  # path relative to submitted/<student>/ -> bytes
    sha256: str  # of the submitted notebook
    key: str  # adaptive_lr.course.resume.key of this submission with this Common


@dataclass
class Outcome:
    record: GradingRecord
    autograded: dict  # path relative to autograded/<student>/ -> bytes
    grades: dict | None  # adaptive_lr.course.transfer.read_submission
    log: str
    peak_rss_kb: int = 0  # largest process so far of this worker (itself or a kernel), in KiB


def read_tree(folder: Path) -> dict:
    """relative path -> bytes of every regular file under ``folder`` (links are not followed)."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(folder).as_posix()] = path.read_bytes()
    return out


def write_tree(folder: Path, files: dict) -> None:
    for rel, data in files.items():
        path = Path(folder) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


WORK_PREFIX = "adaptive-lr-grade-"  # a scratch course's folder (see grade_submission)
_COMPILED: set = set()  # libraries this process has byte-compiled (see _compile_library)


def _compile_library(package: Path) -> None:
    """Byte-compile the library once per worker process, where the grader can write.

    Kernels and their referees import it from a read-only view of the file
    system, as the grading user, so they cannot cache its bytecode: without
    this, every kernel compiled the modules it imports (adaptive_lr.viz,
    .objectives, .grading) from source, about 0.1 s of each kernel's start.
    A library the grader cannot write to (an installed one, compiled when it
    was installed) is left as it is.
    """
    import compileall

    if package in _COMPILED:
        return
    _COMPILED.add(package)
    try:
        compileall.compile_dir(str(package), quiet=2, workers=1)
    except OSError:
        pass


def _no_sync_in_scratch(dbapi_connection, _record) -> None:
    """A scratch course's SQLite gradebook is not synced to disk: it is read once and deleted.

    nbgrader commits once per graded cell (about 150 commits a submission), and
    SQLite waits for the disk at each one: without this, a few milliseconds each.
    Other databases, and SQLite files outside a scratch course, are left as they are.
    """
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    files = [row[2] for row in dbapi_connection.execute("PRAGMA database_list")]
    if files and files[0] and Path(files[0]).parent.name.startswith(WORK_PREFIX):
        dbapi_connection.execute("PRAGMA synchronous = OFF")
        dbapi_connection.execute("PRAGMA journal_mode = MEMORY")


def _scratch_gradebooks_unsynced() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _no_sync_in_scratch):
        event.listen(Engine, "connect", _no_sync_in_scratch)


def prepare_worker() -> None:
    """The environment nbgrader and the kernels it starts need (idempotent)."""
    import adaptive_lr

    _scratch_gradebooks_unsynced()
    _compile_library(Path(adaptive_lr.__file__).resolve().parent)
    lib = str(Path(adaptive_lr.__file__).resolve().parents[1])
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if lib not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([lib, *[p for p in paths if p]])
    for key in ("ADAPTIVE_LR_COURSE_ROOT", "ADAPTIVE_LR_GRADEBOOK_URL"):
        os.environ.pop(key, None)
    # nbgrader runs `alembic` from PATH: this environment's.
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Kernels forked from a process that has imported ipykernel, NumPy, matplotlib and the
    # grading helpers (sandbox.zygote): about 0.8 s less per kernel, two kernels a submission.
    # Started after PYTHONPATH is set (it imports this library); None: kernels are executed.
    from ..sandbox import zygote

    zygote.start()


def _use_grading_env(common: Common) -> None:
    """The batch's grading environment, which grader_config.py reads when it is loaded."""
    for key in GRADING_ENV:
        if key in common.env:
            os.environ[key] = common.env[key]
        else:
            os.environ.pop(key, None)


def _autograde(work: Path, student: str) -> tuple[str, int]:
    """nbgrader's ``autograde --force --student=student`` in ``work``, in this process.

    Returns nbgrader's log and 0, or 1 when it reported a failure. The
    configuration is read afresh from ``work/nbgrader_config.py`` (which loads
    grader_config.py) for every submission, as a new nbgrader process would.
    """
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    stream = io.StringIO()
    log = logging.getLogger(f"adaptive_lr.grade.{os.getpid()}")
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[%(name)s | %(levelname)s] %(message)s"))
    log.handlers[:] = [handler]
    cwd = os.getcwd()
    code = 0
    stack = contextlib.ExitStack()
    try:
        os.chdir(work)
        # What nbgrader, SQLAlchemy and the kernel launcher print goes to this submission's log.
        stack.enter_context(contextlib.redirect_stdout(stream))
        stack.enter_context(contextlib.redirect_stderr(stream))
        config = PyFileConfigLoader("nbgrader_config.py", path=str(work), log=log).load_config()
        config.CourseDirectory.student_id = student
        config.BaseConverter.force = True
        coursedir = CourseDirectory(config=config, log=log)
        Autograde(coursedir=coursedir, config=config, log=log).start()
    except Exception as err:  # noqa: BLE001  (nbgrader's failure: this submission is not graded)
        log.error("autograde failed: %s: %s", type(err).__name__, err)
        code = 1
    finally:
        stack.close()
        os.chdir(cwd)
        log.handlers[:] = []
    return stream.getvalue(), code


def _nbgrader_failure(log: str) -> str:
    errors = [line.strip() for line in log.splitlines() if "ERROR" in line or "Error" in line]
    last = errors[-1][:300] if errors else "no autograded notebook"
    return f"nbgrader could not grade this notebook ({last}); see nbgrader.log"


def grade_submission(common: Common, task: Task) -> Outcome:
    """Grade ``task`` with ``common`` in a scratch course, in this process; nothing outside it is written."""
    import nbformat

    from . import collect
    from .transfer import read_submission

    start = time.monotonic()
    prepare_worker()
    _use_grading_env(common)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
    try:
        write_tree(work, common.files)
        write_tree(work / "submitted" / task.student, task.files)
        (work / GRADEBOOK_FILE).write_bytes(common.gradebook)
        (work / CHECKS_FILE).write_text(common.checks_json, encoding="utf-8")
        (work / "nbgrader_config.py").write_text(
            _STUB.format(
                config=str(work / "grader_config.py"),
                root=str(work),
                db_url=f"sqlite:///{work / GRADEBOOK_FILE}",
                checks=str(work / CHECKS_FILE),
                hide=[p for p in common.hide if os.path.exists(p)],
            )
        )
        log, code = _autograde(work, task.student)
        peak = _peak_rss()
        seconds = round(time.monotonic() - start, 2)
        log = f"\n$ nbgrader autograde --student={task.student}  ({seconds} s, exit {code})\n{log}"
        path = work / "autograded" / task.student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        grades = read_submission(f"sqlite:///{work / GRADEBOOK_FILE}", ASSIGNMENT, task.student)
        base = {"sha256": task.sha256, "key": task.key}
        if not path.is_file() or grades is None:
            record = GradingRecord(task.student, not_graded_reason=_nbgrader_failure(log),
                                   timings=Timings(total=seconds), **base)
            return Outcome(record, {}, None, log, peak)
        nb = nbformat.read(path, as_version=4)
        record = collect.graded_record(task.student, nb, grades, NOTEBOOK, **base)
        # The whole cost of this submission: the scratch course, nbgrader and the gradebook included.
        timings = dataclasses.replace(record.timings, total=round(time.monotonic() - start, 2))
        record = dataclasses.replace(record, timings=timings)
        autograded = read_tree(work / "autograded" / task.student)
        return Outcome(record, autograded, grades, log, peak)
    finally:
        shutil.rmtree(work, ignore_errors=True)


_COMMON: Common | None = None  # a local worker's batch (see start_worker)


def start_worker(common: Common) -> None:
    """Initializer of a local worker process: the batch's :class:`Common`, sent once."""
    from .._linux import end_with_parent

    global _COMMON
    # The worker dies with its coordinator: a killed batch leaves no grader running. (Not
    # on Dask, whose nanny manages its workers' lives.)
    end_with_parent()
    prepare_worker()
    _COMMON = common


def grade_in_worker(task: Task) -> Outcome:
    """:func:`grade_submission` with the batch this worker process was started with."""
    if _COMMON is None:
        raise RuntimeError("grade_in_worker runs in a process started with start_worker")
    return grade_submission(_COMMON, task)


def _peak_rss() -> int:
    """The largest process of this worker so far, itself or a kernel it ran, in KiB."""
    import resource

    from ..sandbox import zygote

    return int(max([resource.getrusage(who).ru_maxrss
                    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
                   + [zygote.kernel_usage()["maxrss_kib"]]))  # forked kernels are not children


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
