"""Hostile and broken submissions: what the batch grader must survive.

Each :class:`Hostile` puts a piece of code at the top of one exercise's
answer cell of an otherwise correct submission, so the exercises before it
show that the points of what completed are kept. :data:`BROKEN` writes files
that are not a gradable notebook at all. The tests grade all of them in one
batch beside a correct submission (``tests/hostile/``); ``make demo`` grades a
few of them too. The probes of :mod:`.probes` (what a kernel can reach: the
grader's environment, host listeners, the network) are hostile submissions too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import nbformat

from .pipeline import ASSIGNMENT, NOTEBOOK
from .probes import PROBES
from .submissions import solution_cell_id

EXERCISE = 5  # the hostile code goes into exercise 5: 1-4 complete before it


class Hostile(NamedTuple):
    slug: str
    description: str
    code: str  # may use {course} (the course folder), {other} (another student's folder) and
    # the targets of a probe ({tcp_port}, {sockets}: see probes.HostServices.targets)
    status: str  # the status the batch report must give
    keeps_later_exercises: bool  # True when the kernel survives, so exercises 6-10 still score


HOSTILE = [
    Hostile(
        "infinite-loop",
        "an infinite loop in an answer cell (stops on interrupt)",
        "while True:\n    pass\n",
        "timeout",
        True,
    ),
    Hostile(
        "stubborn-loop",
        "an infinite loop at top level that swallows every interrupt",
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass\n",
        "timeout",
        False,
    ),
    Hostile(
        "sys-exit",
        "sys.exit() in an answer cell",
        "import sys\nsys.exit()\n",
        "error in answer",
        True,
    ),
    Hostile(
        "raise-systemexit",
        "raise SystemExit in an answer cell",
        "raise SystemExit(3)\n",
        "error in answer",
        True,
    ),
    Hostile(
        "os-exit",
        "os._exit(1): the kernel process ends",
        "import os\nos._exit(1)\n",
        "kernel died",
        False,
    ),
    Hostile(
        "kill-9",
        "the kernel sends itself SIGKILL",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        "kernel died",
        False,
    ),
    Hostile(
        "memory-bomb", "allocates 50 GB", "hog = bytearray(50 * 2**30)\n", "error in answer", True
    ),
    Hostile(
        "fork-bomb",
        "forks until the process limit",
        "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(600)\n",
        "error in answer",
        True,
    ),
    Hostile(
        "huge-output",
        "prints 100 MB",
        "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 2**20)\n",
        "ok",
        True,
    ),
    Hostile(
        "writes-course",
        "writes into the gradebook, the source notebook and another student's folder",
        "import os\n"
        "for path in ['{course}/gradebook.db', '{course}/source/adaptive_lr/exercises.ipynb',\n"
        "             '{other}/exercises.ipynb', '{course}/planted.txt']:\n"
        "    try:\n"
        "        open(path, 'a').write('tampered')\n"
        "    except OSError:\n"
        "        pass\n",
        "ok",
        True,
    ),
    # Each probe only prints what it reached: graded normally, full marks.
    *[Hostile(p.slug, p.description, p.code, "ok", True) for p in PROBES],
]


def with_hostile_code(solved_nb, hostile: Hostile, course: Path, other: Path, **targets):
    """A copy of the correct submission with ``hostile.code`` at the top of exercise 5's answer cell."""
    nb = copy.deepcopy(solved_nb)
    target = solution_cell_id(EXERCISE)
    code = hostile.code.format(course=course, other=other, **targets)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == target:
            cell.source = code + "\n" + cell.source
            return nb
    raise KeyError(f"no cell {target!r}")


class Broken(NamedTuple):
    slug: str
    description: str
    write: Callable[[Path, object], None]  # (assignment folder, a valid notebook) -> None
    status: str


def _write(name: str, data: bytes):
    def write(folder: Path, nb) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    return write


def _v3(folder: Path, nb) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    v3 = {
        "metadata": {"name": ""},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": "x = 1",
                        "language": "python",
                        "outputs": [],
                        "metadata": {},
                    }
                ],
                "metadata": {},
            }
        ],
    }
    (folder / f"{NOTEBOOK}.ipynb").write_text(json.dumps(v3))


def _renamed(folder: Path, nb) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "Exercises (1).ipynb")


def _no_cells(folder: Path, nb) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    empty = copy.deepcopy(nb)
    empty.cells = []
    nbformat.write(empty, folder / f"{NOTEBOOK}.ipynb")


def _empty_folder(folder: Path, nb) -> None:
    folder.mkdir(parents=True, exist_ok=True)


BROKEN = [
    Broken(
        "invalid-json",
        "a notebook cut off in the middle",
        _write(f"{NOTEBOOK}.ipynb", b'{"cells": [{"cell_type": "co'),
        "invalid notebook",
    ),
    Broken(
        "binary-garbage",
        "random bytes under the notebook's name",
        _write(f"{NOTEBOOK}.ipynb", bytes(range(256)) * 64),
        "invalid notebook",
    ),
    Broken("nbformat-3", "a notebook saved by nbformat 3", _v3, "invalid notebook"),
    Broken("wrong-name", "the right notebook under another name", _renamed, "wrong file name"),
    Broken("empty-folder", "an empty submission folder", _empty_folder, "empty submission"),
    Broken("no-cells", "a notebook with no cells", _no_cells, "invalid notebook"),
]


def submit_hostile(course, solved_nb, other_student: str, targets: dict) -> dict:
    """Write every hostile and broken submission into ``course``; returns student -> expected status.

    ``targets`` fills the probes' placeholders (:meth:`.probes.HostServices.targets`).
    """
    expected = {}
    other = course.root / "submitted" / other_student / ASSIGNMENT
    for h in HOSTILE:
        student = f"hostile-{h.slug}"
        course.submit(student, with_hostile_code(solved_nb, h, course.root, other, **targets))
        expected[student] = h.status
    for b in BROKEN:
        student = f"broken-{b.slug}"
        b.write(course.root / "submitted" / student / ASSIGNMENT, solved_nb)
        expected[student] = b.status
    return expected


# Wraps every later cell in try/except, so that every test cell "passes" in the
# kernel: the verdicts reported by the notebook are forged. The re-check outside
# the kernel (adaptive_lr.course.verify) must give such a notebook what its
# functions earn, here 0 from a blank release.
FORGE_RESULTS = """
_ip = get_ipython()
_run_cell = _ip.run_cell
def _swallow(raw_cell, *args, **kwargs):
    body = "\\n".join("    " + line for line in raw_cell.splitlines()) or "    pass"
    return _run_cell("try:\\n" + body + "\\nexcept BaseException:\\n    pass\\n", *args, **kwargs)
_ip.run_cell = _swallow
"""


def forging_submission(blank_nb):
    """The blank release with :data:`FORGE_RESULTS` in exercise 1's answer cell."""
    nb = copy.deepcopy(blank_nb)
    target = solution_cell_id(1)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == target:
            cell.source = FORGE_RESULTS + "\n" + cell.source
            return nb
    raise KeyError(f"no cell {target!r}")
