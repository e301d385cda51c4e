"""Core-seconds of grading one submission, and of one plain execution of the same notebook.

    python benchmarks/submission_cpu.py OUT solution,blank,ex03-no-bias-correction

Makes a scratch course in ``OUT`` with the demo's submissions
(:func:`adaptive_lr.course.demo.make_submissions`), then, in this process as a
batch worker would, grades each named student with
:func:`adaptive_lr.course.task.grade_submission` (sandbox, restore, re-check)
and runs the autograded notebook once more, outputs cleared, in a plain
``python3`` kernel through nbclient (no sandbox, no restore, no re-check).
Prints one JSON line per student: the CPU seconds of this process and of
every process it reaped (kernels, their referees, the re-check's kernel),
the wall seconds, the record's stages, the plain execution's CPU and wall
seconds, and the load average. CPU seconds are what the per-core cost is
made of, and a busy machine distorts them much less than wall seconds.
Run it as root for the full sandbox. A script that prints numbers, not a test.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from adaptive_lr.course import batch, demo  # noqa: E402
from adaptive_lr.course.pipeline import Course, repo_root  # noqa: E402
from adaptive_lr.course.task import grade_submission, prepare_worker  # noqa: E402
from adaptive_lr.sandbox.users import become_subreaper  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process, of its reaped descendants and of the kernels its zygote
    forked (the zygote's children, not this process's)."""
    from adaptive_lr.sandbox import zygote

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    forked = zygote.kernel_usage()["cpu"]
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + forked


def plain_execution(notebook: bytes, folder: Path) -> tuple[float, float]:
    """(CPU, wall) seconds of one nbclient run of ``notebook`` in a plain python3 kernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(notebook.decode(), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    folder.mkdir(parents=True)
    c, w = cpu(), time.monotonic()
    NotebookClient(nb, kernel_name="python3", timeout=int(os.environ["ADAPTIVE_LR_CELL_TIMEOUT"]),
                   allow_errors=True, resources={"metadata": {"path": str(folder)}}).execute()
    return cpu() - c, time.monotonic() - w


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out, students = Path(args[0]), args[1].split(",")
    os.environ.setdefault("ADAPTIVE_LR_CELL_TIMEOUT", "15")  # as make demo and class_scale.py
    if out.exists():
        shutil.rmtree(out)
    course = Course(out / "course", repo_root()).create()
    course.generate_release()
    demo.make_submissions(course)
    common = batch.prepare(course)
    prepare_worker()
    become_subreaper()  # kernels' orphans are reaped here, and their CPU counted
    for student in students:
        task = batch._task(course, student, common)
        c, w = cpu(), time.monotonic()
        outcome = grade_submission(common, task)
        graded_cpu, graded_wall = cpu() - c, time.monotonic() - w
        notebook = outcome.autograded.get("adaptive_lr/exercises.ipynb")
        plain = (plain_execution(notebook, out / f"plain-{student}") if notebook
                 else (float("nan"), float("nan")))
        t = outcome.record.timings
        print(json.dumps({
            "student": student, "status": outcome.record.status.value,
            "cpu": round(graded_cpu, 2), "wall": round(graded_wall, 2),
            "kernel_start": t.kernel_start, "execution": t.execution, "recheck": t.recheck,
            "plain_cpu": round(plain[0], 2), "plain_wall": round(plain[1], 2),
            "load": round(os.getloadavg()[0], 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
