"""Grade one submission in a private scratch course: the unit of work of every batch worker.

:func:`grade_submission` is what a local worker thread or a Dask worker runs.
Everything it needs travels with the task, as bytes (:class:`Common` once per
batch, :class:`Task` per student): the course's ``source/``, the release, the
grading configuration, the parsed hidden checks, a gradebook that holds only
the assignment, and the student's submitted folder. So a worker needs no
shared file system and no access to the course's gradebook: it needs the
environment (this package and its dependencies) and root for the sandbox.

In a fresh temporary folder it lays out an nbgrader course, runs one
``nbgrader autograde`` for the student (its own process, which claims its own
sandbox account), and sends back the :class:`~.record.GradingRecord`, the
autograded folder (as bytes) and the grades (as data) for the coordinator,
the only writer of the course's gradebook and folders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
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

# nbgrader dies with its worker (PR_SET_PDEATHSIG): a killed batch leaves no grader running.
_LAUNCH = (
    "import ctypes, runpy, sys\n"
    "try:\n    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)\n"
    "except (OSError, AttributeError):\n    pass\n"
    "sys.argv = ['nbgrader'] + sys.argv[1:]\n"
    "runpy.run_module('nbgrader', run_name='__main__', alter_sys=True)\n"
)


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
    peak_rss_kb: int = 0  # largest process so far of this worker (nbgrader or a kernel), in KiB


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


def _env(common: Common) -> dict:
    env = dict(os.environ)
    import adaptive_lr

    lib = str(Path(adaptive_lr.__file__).resolve().parents[1])
    env["PYTHONPATH"] = lib + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for key in ("ADAPTIVE_LR_COURSE_ROOT", "ADAPTIVE_LR_GRADEBOOK_URL", *GRADING_ENV):
        env.pop(key, None)
    env.update(common.env)
    # nbgrader runs `alembic` from PATH: this environment's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _nbgrader_failure(log: str) -> str:
    errors = [line.strip() for line in log.splitlines() if "ERROR" in line or "Error" in line]
    last = errors[-1][:300] if errors else "no autograded notebook"
    return f"nbgrader could not grade this notebook ({last}); see nbgrader.log"


def grade_submission(common: Common, task: Task, timeout: float | None = None) -> Outcome:
    """Grade ``task`` with ``common`` in a scratch course; nothing outside it is written."""
    import nbformat

    from . import collect
    from .transfer import read_submission

    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="adaptive-lr-grade-"))
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
        if timeout is None:
            timeout = 2 * int(common.env.get("ADAPTIVE_LR_NOTEBOOK_TIMEOUT", "900")) + 300
        cmd = [sys.executable, "-c", _LAUNCH, "autograde", "--force", f"--student={task.student}"]
        proc = subprocess.Popen(cmd, cwd=work, env=_env(common), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            log, _ = proc.communicate()
            log += f"\n[adaptive-lr] nbgrader did not finish within {timeout:.0f} s and was stopped\n"
        peak = _peak_rss_of_children()
        seconds = round(time.monotonic() - start, 2)
        log = f"\n$ nbgrader autograde --student={task.student}  ({seconds} s, exit {proc.returncode})\n{log}"
        path = work / "autograded" / task.student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        grades = read_submission(f"sqlite:///{work / GRADEBOOK_FILE}", ASSIGNMENT, task.student)
        base = {"sha256": task.sha256, "key": task.key}
        if not path.is_file() or grades is None:
            record = GradingRecord(task.student, not_graded_reason=_nbgrader_failure(log),
                                   timings=Timings(total=seconds), **base)
            return Outcome(record, {}, None, log, peak)
        nb = nbformat.read(path, as_version=4)
        record = collect.graded_record(task.student, nb, grades, NOTEBOOK, **base)
        # The whole cost of this submission, nbgrader's start and the gradebook included.
        timings = dataclasses.replace(record.timings, total=round(time.monotonic() - start, 2))
        record = dataclasses.replace(record, timings=timings)
        autograded = read_tree(work / "autograded" / task.student)
        return Outcome(record, autograded, grades, log, peak)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _peak_rss_of_children() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
