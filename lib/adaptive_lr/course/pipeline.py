"""The instructor's pipeline around nbgrader: a course folder, release, submissions, grading.

A :class:`Course` is an nbgrader course directory (``source/``, ``release/``,
``submitted/``, ``autograded/``, ``feedback/`` and the gradebook) whose
``nbgrader_config.py`` loads the repository's ``grader_config.py`` and then
points the course root and the gradebook at the folder itself. Every nbgrader
step runs as its own process (``python -m nbgrader ...``) in that folder, as an
instructor would run it, and fails loudly with the end of nbgrader's log. The
assignment (``adaptive_lr``) comes from ``grader_config.py``, so the commands
take no assignment argument (nbgrader refuses both).

The repository root is itself a course directory for the committed
``source/`` and ``release/``; the demo and the tests work in scratch copies so
that grading never touches the repository's gradebook or folders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ASSIGNMENT = "adaptive_lr"
NOTEBOOK = "exercises"


def repo_root() -> Path:
    """The repository (the folder holding ``grader_config.py``)."""
    env = os.environ.get("ADAPTIVE_LR_REPO")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "grader_config.py").is_file() and (parent / "source").is_dir():
            return parent
    raise FileNotFoundError(f"no grader_config.py above {here}; set ADAPTIVE_LR_REPO")


def normalize_db_url(url: str) -> str:
    """A gradebook URL as SQLAlchemy should open it: ``postgresql://`` goes through psycopg 3.

    SQLAlchemy's default PostgreSQL driver is psycopg2; the project installs
    psycopg (version 3), so a plain ``postgresql://`` URL is given its driver.
    """
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries the end of its log."""


_STUB = '''\
"""Scratch course: the repository's grader_config.py, with this folder as root and gradebook."""
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
'''


class Course:
    """An nbgrader course directory driven from Python."""

    def __init__(self, root, repo=None, db_url=None):
        self.root = Path(root).resolve()
        self.repo = Path(repo).resolve() if repo else repo_root()
        self.db_url = normalize_db_url(
            db_url
            or os.environ.get("ADAPTIVE_LR_GRADEBOOK_URL")
            or f"sqlite:///{self.root / 'gradebook.db'}"
        )
        self.log_path = self.root / "nbgrader.log"

    # -- layout ---------------------------------------------------------------------
    @property
    def source_notebook(self) -> Path:
        return self.root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

    @property
    def release_notebook(self) -> Path:
        return self.root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

    def submitted_notebook(self, student: str) -> Path:
        return self.root / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

    def autograded_notebook(self, student: str) -> Path:
        return self.root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

    def feedback_html(self, student: str) -> Path:
        return self.root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"

    def create(self, clean: bool = True) -> "Course":
        """Make the folder: the config stub and a copy of the repository's ``source/``."""
        if clean and self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "nbgrader_config.py").write_text(
            _STUB.format(config=str(self.repo / "grader_config.py"), root=str(self.root), db_url=self.db_url)
        )
        src = self.repo / "source" / ASSIGNMENT
        dst = self.root / "source" / ASSIGNMENT
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        return self

    # -- nbgrader ---------------------------------------------------------------------
    def env(self) -> dict:
        env = dict(os.environ)
        lib = str(self.repo / "lib")
        env["PYTHONPATH"] = lib + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.pop("ADAPTIVE_LR_COURSE_ROOT", None)
        env["ADAPTIVE_LR_GRADEBOOK_URL"] = self.db_url  # grader_config.py reads it
        # nbgrader runs `alembic` (the gradebook's migrations) from PATH: use this environment's.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        return env

    def nbgrader(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``nbgrader *args`` in the course folder; the output is appended to ``nbgrader.log``."""
        cmd = [sys.executable, "-m", "nbgrader", *args]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.root, env=self.env(), capture_output=True, text=True)
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n$ nbgrader {' '.join(args)}  ({time.perf_counter() - start:.1f} s, exit {proc.returncode})\n")
            log.write(proc.stdout)
            log.write(proc.stderr)
        if check and proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise NbgraderError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
        return proc

    def generate_release(self) -> Path:
        self.nbgrader("generate_assignment", "--force")
        return self.release_notebook

    def submit(self, student: str, nb) -> Path:
        path = self.submitted_notebook(student)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def autograde(self) -> float:
        """Grade every submission in ``submitted/`` in one nbgrader batch; returns the seconds taken."""
        start = time.perf_counter()
        self.nbgrader("autograde", "--force")
        return time.perf_counter() - start

    def generate_feedback(self) -> None:
        self.nbgrader("generate_feedback", "--force")

    def validate(self, notebook: Path, invert: bool = False) -> subprocess.CompletedProcess:
        args = ["validate", str(notebook)] + (["--invert"] if invert else [])
        return self.nbgrader(*args, check=False)
