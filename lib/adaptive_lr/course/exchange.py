"""Hand-out and hand-in through nbgrader's file-system exchange, as on a shared JupyterHub.

The exchange is one folder that the instructor and every student can reach
(nbgrader's ``Exchange.root``). The instructor's side runs in the course
folder as the instructor; the students' side runs in each student's home, as
that student's own Unix account:

=====================  =========  =====================================================
step                   who        nbgrader command
=====================  =========  =====================================================
hand out               instructor ``nbgrader release_assignment``: release/ -> outbound/
fetch                  student    ``nbgrader fetch_assignment``: outbound/ -> ~/adaptive_lr/
hand in                student    ``nbgrader submit``: ~/adaptive_lr/ -> inbound/
collect                instructor ``nbgrader collect``: inbound/ -> submitted/
return feedback        instructor ``nbgrader release_feedback``: feedback/ -> exchange feedback/
fetch feedback         student    ``nbgrader fetch_feedback``: -> ~/adaptive_lr/feedback/
=====================  =========  =====================================================

What keeps students apart is nbgrader's permissions: ``inbound/`` is
write-only for students (mode 2733: a student can add a submission but not
list the folder), each submission's folder is named by the student, the
time and 12 random characters (so it cannot be found without listing), the
exchange's ``feedback/`` is 0711 (a student fetches only the file named by
the hash of the secret written at their own submission), and the course
folder (``source/``, ``submitted/``, the gradebook) stays the instructor's,
unreadable to students. :func:`prepare_root` also sets the sticky bit on the
exchange root (nbgrader creates it 0777), so that no student can rename or
delete another course's folder.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

from .pipeline import ASSIGNMENT

COURSE_ID = "adaptive-lr"


def prepare_root(root) -> Path:
    """Create the exchange folder (mode 1777: everyone may add, nobody may remove others' entries)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o777 | stat.S_ISVTX)
    return root


def _exchange_args(root) -> list[str]:
    return [f"--Exchange.root={Path(root)}", f"--CourseDirectory.course_id={COURSE_ID}"]


# -- the instructor's side (in the course folder) -------------------------------------------


def release_assignment(course, root):
    return course.nbgrader("release_assignment", "--force", *_exchange_args(root))


def collect(course, root, update: bool = True):
    """``nbgrader collect``: the latest submission of each student into ``submitted/``."""
    return course.nbgrader("collect", *(["--update"] if update else []), *_exchange_args(root))


def release_feedback(course, root):
    return course.nbgrader("release_feedback", *_exchange_args(root))


# -- the students' side (in their home, as their account) ------------------------------------


def student_env(user: str, home) -> dict:
    """A student's environment: their home, this Python's nbgrader, nothing of the instructor's."""
    lib = str(Path(__file__).resolve().parents[2])
    return {
        "HOME": str(home),
        "USER": user,
        "LOGNAME": user,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin",
        "PYTHONPATH": lib,
        "LANG": "C.UTF-8",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def _interpreter_paths() -> list[str]:
    return sorted({sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))})


def _become(uid: int, gid: int):
    """In the child, before exec: reach this Python even under a private folder, then drop to the student.

    On a hub the interpreter is installed where every user can run it; here it
    may sit under a private ancestor (pyenv in ``/root``). Then the child gets
    a private mount namespace in which only the interpreter's folders are
    bound into an otherwise empty cover of that ancestor (the grading
    sandbox's own mechanism, :func:`adaptive_lr.sandbox.mounts.expose_privately`), and nothing
    else of it becomes visible.
    """
    paths = _interpreter_paths()

    def preexec():
        from ..sandbox import mounts

        mounts.expose_privately(paths)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        os.umask(0o077)

    return preexec


def _start(user: str, home, cmd) -> subprocess.Popen:
    entry = pwd.getpwnam(user)
    return subprocess.Popen(
        list(map(str, cmd)), cwd=str(home), env=student_env(user, home), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=_become(entry.pw_uid, entry.pw_gid),
    )


def _wait(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _checked(user: str, done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(done.args)} as {user} failed (exit {done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


def as_student(user: str, home, *cmd, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``home`` as the Unix account ``user`` (only root can do that)."""
    done = _wait(_start(user, home, cmd))
    return _checked(user, done) if check else done


def as_students(runs, check: bool = True) -> list[subprocess.CompletedProcess]:
    """:func:`as_student` for several ``(user, home, cmd)`` at once, as students work side by side.

    All are started before any is waited for (from this thread: the switch
    to each account happens between fork and exec, which is only safe
    while no other thread runs). With ``check``, the first failure raises
    once every process has ended.
    """
    started = [(user, _start(user, home, cmd)) for user, home, cmd in runs]
    done = [(user, _wait(proc)) for user, proc in started]
    return [_checked(user, d) if check else d for user, d in done]


def _nbgrader_cmd(root, *args) -> list[str]:
    return [sys.executable, "-m", "nbgrader", *args, *_exchange_args(root)]


def student_nbgrader(user: str, home, root, *args, check: bool = True) -> subprocess.CompletedProcess:
    """``nbgrader *args`` as the student, against the exchange at ``root``."""
    return as_student(user, home, *_nbgrader_cmd(root, *args), check=check)


def each_student_nbgrader(students, root, *args, check: bool = True):
    """``nbgrader *args`` as each of ``students`` (``(user, home)`` pairs) at once."""
    runs = [(user, home, _nbgrader_cmd(root, *args)) for user, home in students]
    return as_students(runs, check=check)


def fetch_assignment(user, home, root):
    return student_nbgrader(user, home, root, "fetch_assignment", ASSIGNMENT)


def submit(user, home, root):
    return student_nbgrader(user, home, root, "submit", ASSIGNMENT)


def fetch_feedback(user, home, root):
    return student_nbgrader(user, home, root, "fetch_feedback", ASSIGNMENT)


def fetched_notebook(home) -> Path:
    return Path(home) / ASSIGNMENT / "exercises.ipynb"


def fetched_feedback(home) -> list[Path]:
    return sorted((Path(home) / ASSIGNMENT / "feedback").glob("*/*.html"))
