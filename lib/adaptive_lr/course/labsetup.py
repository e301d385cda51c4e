"""The JupyterLab of the course: nbgrader's panels it uses, and the student's working copy.

``python -m adaptive_lr.course.labsetup`` (run by ``make`` when it installs
the environment) turns off, in this environment only, the parts of nbgrader
that need an exchange directory the course does not use: the Assignment List
and Course List panels (they only say "Error fetching courses!" and "The
exchange directory does not exist") and their server extensions. The
formgrader, Validate and the Create Assignment toolbar stay; the course's own
JupyterLab plugin (``labextension/``, installed here too) shows Validate only
on notebooks with graded cells, so not on the theory notebooks.

``python -m adaptive_lr.course.labsetup --student-copy work`` copies the
released exercises to ``work/adaptive_lr/`` unless that folder already
exists: the student's answers live there, out of git, so neither ``git pull``
nor a regenerated release ever overwrites them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from .pipeline import ASSIGNMENT, NOTEBOOK, repo_root

LAB_PLUGINS_OFF = ("@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list")
SERVER_EXTENSIONS_OFF = (
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
)


LABEXTENSION = Path(__file__).with_name("labextension")
LABEXTENSION_NAME = "adaptive-lr-course"


def _jupyter(*args: str) -> None:
    jupyter = Path(sys.executable).with_name("jupyter")
    subprocess.run([str(jupyter), *args], check=True, capture_output=True, text=True)


def configure() -> None:
    """Turn nbgrader's exchange panels off in this environment (sys-prefix level)."""
    for plugin in LAB_PLUGINS_OFF:
        _jupyter("labextension", "disable", "--level=sys_prefix", plugin)
    for extension in SERVER_EXTENSIONS_OFF:
        _jupyter("server", "extension", "disable", "--sys-prefix", extension)
    install_labextension()


def install_labextension(prefix=None) -> Path:
    """Copy the course's prebuilt JupyterLab plugin to ``prefix/share/jupyter/labextensions``."""
    target = Path(prefix or sys.prefix) / "share" / "jupyter" / "labextensions" / LABEXTENSION_NAME
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(LABEXTENSION, target)
    return target


def student_copy(work, repo=None) -> tuple[Path, bool]:
    """Copy ``release/adaptive_lr`` to ``work/adaptive_lr`` unless it exists; ``(path, copied)``."""
    source = Path(repo or repo_root()) / "release" / ASSIGNMENT
    target = Path(work) / ASSIGNMENT
    if target.exists():
        return target / f"{NOTEBOOK}.ipynb", False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target)
    return target / f"{NOTEBOOK}.ipynb", True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--student-copy", metavar="WORK", help="copy the release to WORK/ if absent")
    args = parser.parse_args(argv)
    if args.student_copy is None:
        configure()
        return 0
    path, copied = student_copy(args.student_copy)
    if copied:
        print(f"Your copy of the exercises: {path} (yours to edit; `git pull` never touches it).")
    else:
        print(f"Your copy of the exercises is {path} (kept as it is).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
